//! The intervention library: natural patches `x_t`, their gradient `G` and density `D`.
//!
//! Build one from a folder of pre-cut patches (the authors' format: 8x8 PNGs named
//! `..._sharpness-N.0.png`), from photos (random crops, seeded), or use
//! [`Library::builtin`]: 10,000 crops of the public-domain photos in `data/natural`,
//! embedded in the crate so nothing needs downloading.

mod density;
mod gradient;

pub use density::Density;
pub use gradient::gradient;

use crate::error::{Error, Result};
use crate::image::{crop, decode_rgb, load_rgb};
use ::image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Default bin width of `D` in units of `G`.
pub const DEFAULT_BIN_WIDTH: f64 = 16.0;

/// The public-domain photos shipped in `data/natural` (see its LICENSES.md).
pub const BUILTIN_PHOTOS: [(&str, &[u8]); 6] = [
    (
        "astronaut.png",
        include_bytes!("../../data/natural/astronaut.png"),
    ),
    (
        "chelsea.png",
        include_bytes!("../../data/natural/chelsea.png"),
    ),
    (
        "coffee.png",
        include_bytes!("../../data/natural/coffee.png"),
    ),
    (
        "hubble_deep_field.jpg",
        include_bytes!("../../data/natural/hubble_deep_field.jpg"),
    ),
    (
        "retina.jpg",
        include_bytes!("../../data/natural/retina.jpg"),
    ),
    (
        "rocket.jpg",
        include_bytes!("../../data/natural/rocket.jpg"),
    ),
];

/// File names of the embedded photos.
pub fn builtin_photo_names() -> impl Iterator<Item = &'static str> {
    BUILTIN_PHOTOS.iter().map(|(n, _)| *n)
}

/// Decodes one of the embedded photos by file name.
pub fn builtin_photo(name: &str) -> Result<RgbImage> {
    let (_, bytes) = BUILTIN_PHOTOS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| {
            Error::invalid(
                "photo",
                name,
                "not one of the embedded photos in data/natural",
            )
        })?;
    decode_rgb(bytes)
}

/// How intervention patches are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Every patch with probability 1/N (the reference code).
    Uniform,
    /// From the gradient density `D` (the paper's fine stage).
    Density,
}

/// One library patch.
#[derive(Debug, Clone)]
pub struct Patch {
    /// The clean RGB pixels.
    pub pixels: RgbImage,
    /// Its gradient `G`.
    pub gradient: f64,
    /// Where it came from (file name, or photo and position).
    pub name: String,
}

/// A set of natural patches of one size.
#[derive(Debug, Clone)]
pub struct Library {
    patches: Vec<Patch>,
    size: u32,
    source: String,
    density: Density,
}

impl Library {
    /// Builds a library from patches, all squares of one size.
    pub fn from_patches(patches: Vec<Patch>, source: impl Into<String>) -> Result<Self> {
        let source = source.into();
        let size = patches
            .first()
            .map(|p| p.pixels.width())
            .ok_or_else(|| Error::Library {
                path: PathBuf::from(&source),
                reason: "no patches".into(),
            })?;
        if let Some(bad) = patches
            .iter()
            .find(|p| p.pixels.width() != size || p.pixels.height() != size)
        {
            return Err(Error::Library {
                path: PathBuf::from(&source),
                reason: format!(
                    "patch {} is {}x{}, expected {size}x{size} like the first",
                    bad.name,
                    bad.pixels.width(),
                    bad.pixels.height()
                ),
            });
        }
        let gradients: Vec<f64> = patches.iter().map(|p| p.gradient).collect();
        let density = Density::from_gradients(&gradients, DEFAULT_BIN_WIDTH);
        Ok(Library {
            patches,
            size,
            source,
            density,
        })
    }

    /// Reads every `.png` in `dir` (sorted by file name), e.g. the authors' `patches-div2k-8`.
    pub fn from_patch_folder(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let files = list_images(dir, &["png"])?;
        let patches = files
            .iter()
            .map(|f| {
                let pixels = load_rgb(f)?;
                Ok(Patch {
                    gradient: gradient(&pixels),
                    name: f
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    pixels,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Library::from_patches(patches, dir.display().to_string())
    }

    /// `count` random `size`-square crops of the given photos, seeded: photos are
    /// chosen uniformly, positions uniformly inside each.
    pub fn from_images(
        images: &[(String, RgbImage)],
        count: usize,
        size: u32,
        seed: u64,
    ) -> Result<Self> {
        if size == 0 || count == 0 {
            return Err(Error::invalid(
                "library",
                format!("count={count} size={size}"),
                "both must be positive",
            ));
        }
        let (usable, small): (Vec<&(String, RgbImage)>, Vec<_>) = images
            .iter()
            .partition(|(_, im)| im.width() >= size && im.height() >= size);
        if !small.is_empty() || usable.is_empty() {
            // refused rather than skipped: every crop would silently come from the rest
            let names: Vec<String> = small
                .iter()
                .take(5)
                .map(|(n, im)| format!("{n} {}x{}", im.width(), im.height()))
                .collect();
            return Err(Error::invalid(
                "library photos",
                format!("{} of {}", small.len(), images.len()),
                format!(
                    "smaller than the {size}x{size} block ({}{}); remove them or use a smaller block",
                    names.join(", "),
                    if small.len() > 5 { ", ..." } else { "" }
                ),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let patches = (0..count)
            .map(|_| {
                let (name, img) = usable[rng.gen_range(0..usable.len())];
                let x = rng.gen_range(0..=img.width() - size);
                let y = rng.gen_range(0..=img.height() - size);
                let pixels = crop(img, x, y, size, size)?;
                Ok(Patch {
                    gradient: gradient(&pixels),
                    name: format!("{name}_{x}_{y}"),
                    pixels,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let names: Vec<&str> = usable.iter().map(|(n, _)| n.as_str()).collect();
        Library::from_patches(
            patches,
            format!("crops(seed={seed}) of {}", names.join(", ")),
        )
    }

    /// Random crops of every PNG/JPEG in `dir` (see [`Library::from_images`]).
    pub fn from_photo_folder(
        dir: impl AsRef<Path>,
        count: usize,
        size: u32,
        seed: u64,
    ) -> Result<Self> {
        let dir = dir.as_ref();
        let images = list_images(dir, &["png", "jpg", "jpeg"])?
            .iter()
            .map(|f| {
                Ok((
                    f.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    load_rgb(f)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut lib = Library::from_images(&images, count, size, seed)?;
        lib.source = format!("crops(seed={seed}) of {}", dir.display());
        Ok(lib)
    }

    /// A folder of patches if every image in it is `size`-square, otherwise random crops.
    pub fn open(dir: impl AsRef<Path>, size: u32, seed: u64) -> Result<Self> {
        let dir = dir.as_ref();
        let first = list_images(dir, &["png", "jpg", "jpeg"])?;
        let dims =
            ::image::image_dimensions(&first[0]).map_err(|e| Error::image_read(&first[0], e))?;
        if dims == (size, size) {
            Library::from_patch_folder(dir)
        } else {
            Library::from_photo_folder(dir, 10_000, size, seed)
        }
    }

    /// The default library: 10,000 `size`-square crops (seed 0) of the six embedded
    /// public-domain photos.
    pub fn builtin(size: u32) -> Result<Self> {
        let images = BUILTIN_PHOTOS
            .iter()
            .map(|(name, bytes)| Ok((name.to_string(), decode_rgb(bytes)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut lib = Library::from_images(&images, 10_000, size, 0)?;
        lib.source = format!("builtin: 10000 crops (seed=0) of data/natural, {size}px");
        Ok(lib)
    }

    /// Number of patches.
    pub fn len(&self) -> usize {
        self.patches.len()
    }

    /// Whether the library is empty (never true for a built library).
    pub fn is_empty(&self) -> bool {
        self.patches.is_empty()
    }

    /// Side length of the patches.
    pub fn patch_size(&self) -> u32 {
        self.size
    }

    /// Where the patches came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The patches.
    pub fn patches(&self) -> &[Patch] {
        &self.patches
    }

    /// The gradient density `D` used by [`Sampling::Density`].
    pub fn density(&self) -> &Density {
        &self.density
    }

    /// Replaces `D` (e.g. with `D` measured on other photos, via [`Density::reweighted`]).
    pub fn set_density(&mut self, density: Density) {
        self.density = density;
    }

    /// Draws a patch index with the given sampling.
    pub fn sample(&self, sampling: Sampling, rng: &mut impl Rng) -> usize {
        match sampling {
            Sampling::Uniform => rng.gen_range(0..self.patches.len()),
            Sampling::Density => self.density.sample(rng),
        }
    }
}

fn list_images(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>> {
    let files = crate::paths::files_with_extension(dir, exts).map_err(|e| Error::Library {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    if files.is_empty() {
        return Err(Error::Library {
            path: dir.to_path_buf(),
            reason: format!("no {} files", exts.join("/")),
        });
    }
    Ok(files)
}

/// The `N` of an authors' file name ending in `_sharpness-N.0.png`.
pub fn sharpness_from_name(name: &str) -> Option<f64> {
    let rest = name.rsplit_once("_sharpness-")?.1;
    rest.strip_suffix(".png")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharpness_names() {
        assert_eq!(
            sharpness_from_name("0001.png_1049_1482_sharpness-49.0.png"),
            Some(49.0)
        );
        assert_eq!(sharpness_from_name("plain.png"), None);
    }

    #[test]
    fn crops_are_seeded_and_sized() {
        let img = RgbImage::from_fn(40, 30, |x, y| ::image::Rgb([x as u8 * 5, y as u8 * 7, 3]));
        let imgs = vec![("a".to_string(), img)];
        let a = Library::from_images(&imgs, 50, 8, 7).unwrap();
        let b = Library::from_images(&imgs, 50, 8, 7).unwrap();
        let c = Library::from_images(&imgs, 50, 8, 8).unwrap();
        assert_eq!(a.len(), 50);
        assert_eq!(a.patch_size(), 8);
        let names = |l: &Library| {
            l.patches()
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&c));
        assert!(Library::from_images(&imgs, 5, 64, 0).is_err());
    }
}
