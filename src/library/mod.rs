//! The intervention library: natural patches `x_t`, their gradient `G` and density `D`.
//!
//! Build one from a folder of pre-cut patches (the authors' format: 8x8 PNGs named
//! `..._sharpness-N.0.png`), from photos (random crops, seeded), or use
//! [`Library::builtin`]: 10,000 crops of the public-domain photos in `data/natural`,
//! embedded in the crate so nothing needs downloading.
//!
//! # How patches are drawn: `D` and `U` (Sec. IV-E, VI-C, Table III)
//!
//! The paper's fine stage samples "according to the probability density `D`" of the
//! patch gradient `G` (Eq. 5) over the library, "so that those samples still conform to
//! the distribution of natural images", and Table III compares it with "U", "sampling
//! with uniform probability", which scores lower (77.7 % against 82.6 %). We read it so:
//!
//! - **`D`** ([`Sampling::Density`]) is the natural distribution of `G`: a histogram of
//!   the library's gradients (bins of [`DEFAULT_BIN_WIDTH`]), a bin drawn by its share
//!   of patches, then a patch uniformly inside it. With the library's own histogram this
//!   draws every patch with probability 1/N, the same distribution as
//!   [`Sampling::Uniform`] (the reference code's per-patch uniform draw): a library that
//!   is itself a random sample of natural patches already follows `D`. It differs from
//!   per-patch uniform only when `D` comes from elsewhere ([`Density::reweighted`]).
//! - **`U`** ([`Sampling::Ranges`]) is uniform over *values* of `G`: the gradient axis
//!   cut into ranges of a width (Fig. 17 shows ranges of 128: 0-128, 128-256, ...), every
//!   range that holds a patch equally likely, then a patch uniformly inside it. Flat
//!   patches, the common case in natural images, are then drawn no more often than rare
//!   high-gradient ones, so the interventions no longer look like natural content: the
//!   only reading under which "uniform probability" is a different, worse strategy.
//!   [`DEFAULT_RANGE_WIDTH`] is Fig. 17's 128; any width can be chosen.
//!
//! ```
//! use cem::library::{Library, Sampling};
//! use rand::SeedableRng;
//! let lib = Library::from_images(
//!     &[("coffee".into(), cem::library::builtin_photo("coffee.png")?)], 200, 8, 0)?;
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let d = lib.sample(Sampling::Density, &mut rng);
//! let u = lib.sample(Sampling::ranges(128)?, &mut rng);
//! assert!(d < lib.len() && u < lib.len());
//! # Ok::<(), cem::Error>(())
//! ```

mod density;
mod gradient;
mod strata;

pub use density::Density;
pub use gradient::gradient;
pub use strata::{Strata, STRATA};

use crate::error::{Error, Result};
use crate::image::{crop, decode_rgb, load_rgb};
use ::image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Default bin width of `D` in units of `G`.
pub const DEFAULT_BIN_WIDTH: f64 = 16.0;

/// Default width of the `G` ranges of [`Sampling::Ranges`] (Table III's `U`): Fig. 17's 128.
pub const DEFAULT_RANGE_WIDTH: u32 = 128;

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

/// How intervention patches are drawn (see the [module docs](self) for `D` and `U`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Every patch with probability 1/N (the reference code).
    Uniform,
    /// From the gradient density `D` (the paper's fine stage): the library's natural
    /// distribution of `G`.
    Density,
    /// Table III's `U`: uniform over ranges of `G` of this width (every non-empty range
    /// equally likely, then a patch uniformly within it).
    Ranges {
        /// Width of each range in units of `G` (Fig. 17: 128).
        width: u32,
    },
}

impl Sampling {
    /// Table III's `U` with ranges of `width`; fails for width 0.
    pub fn ranges(width: u32) -> Result<Sampling> {
        if width == 0 {
            return Err(Error::invalid(
                "gradient range width",
                width,
                "must be a positive number of G units (Fig. 17 uses 128)",
            ));
        }
        Ok(Sampling::Ranges { width })
    }

    /// Table III's `U` with [`DEFAULT_RANGE_WIDTH`].
    pub fn uniform_ranges() -> Sampling {
        Sampling::Ranges {
            width: DEFAULT_RANGE_WIDTH,
        }
    }
}

/// `U` densities by range width, shared by a library's clones.
type RangeCache = Arc<Mutex<Vec<(u32, Arc<Density>)>>>;

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
    /// `U` densities by range width, built on first use.
    ranges: RangeCache,
    /// Brightness strata (stratified draws), built on first use.
    strata: Arc<OnceLock<Arc<Strata>>>,
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
            ranges: Arc::default(),
            strata: Arc::default(),
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

    /// Table III's `U` over ranges of `width` (a width of 0 is taken as 1).
    pub fn ranges(&self, width: u32) -> Arc<Density> {
        let width = width.max(1);
        let mut cache = self.ranges.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, d)) = cache.iter().find(|(w, _)| *w == width) {
            return d.clone();
        }
        let gradients: Vec<f64> = self.patches.iter().map(|p| p.gradient).collect();
        let d = Arc::new(Density::uniform_over_ranges(&gradients, width as f64));
        cache.push((width, d.clone()));
        d
    }

    /// The library cut into [`STRATA`] equal-count brightness strata (stratified draws of
    /// the adaptive strategy's `-s`), built on first use.
    pub fn strata(&self) -> Arc<Strata> {
        self.strata
            .get_or_init(|| Arc::new(Strata::by_luma(self.patches.iter().map(|p| &p.pixels))))
            .clone()
    }

    /// Whether `sampling` draws every patch with probability `1/N`: per-patch uniform,
    /// or `D` with the library's own histogram. Stratified draws keep exactly that
    /// distribution, so they may stand in only for these.
    pub fn draws_uniformly(&self, sampling: Sampling) -> bool {
        match sampling {
            Sampling::Uniform => true,
            Sampling::Density => {
                let gradients: Vec<f64> = self.patches.iter().map(|p| p.gradient).collect();
                let own = Density::from_gradients(&gradients, self.density.bin_width);
                own.weights == self.density.weights
            }
            Sampling::Ranges { .. } => false,
        }
    }

    /// Draws a patch index with the given sampling.
    pub fn sample(&self, sampling: Sampling, rng: &mut impl Rng) -> usize {
        match sampling {
            Sampling::Uniform => rng.gen_range(0..self.patches.len()),
            Sampling::Density => self.density.sample(rng),
            Sampling::Ranges { width } => self.ranges(width).sample(rng),
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

    fn patch_with_gradient(g: f64, i: usize) -> Patch {
        Patch {
            pixels: RgbImage::new(2, 2),
            gradient: g,
            name: format!("p{i}"),
        }
    }

    /// A library with 900 patches in range 0 (of 128), 90 in range 1, 9 in range 3
    /// and 1 in range 9: ranges 2 and 4-8 are empty.
    fn skewed() -> Library {
        let mut g = vec![];
        g.extend((0..900).map(|i| (i % 128) as f64));
        g.extend((0..90).map(|i| 128.0 + i as f64));
        g.extend((0..9).map(|i| 384.0 + i as f64));
        g.push(1200.0);
        let patches = g
            .iter()
            .enumerate()
            .map(|(i, &g)| patch_with_gradient(g, i))
            .collect();
        Library::from_patches(patches, "skewed").unwrap()
    }

    fn range_of(lib: &Library, i: usize, width: f64) -> usize {
        (lib.patches()[i].gradient / width) as usize
    }

    #[test]
    fn u_hits_every_non_empty_range_equally_often() {
        let lib = skewed();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 40_000;
        let mut hits = [0usize; 10];
        let mut seen = std::collections::HashSet::new();
        for _ in 0..n {
            let i = lib.sample(Sampling::uniform_ranges(), &mut rng);
            hits[range_of(&lib, i, 128.0)] += 1;
            seen.insert(i);
        }
        // four non-empty ranges, each expected n/4 = 10,000 (sd ~87): 5 sd tolerance
        for r in [0, 1, 3, 9] {
            assert!((hits[r] as f64 - n as f64 / 4.0).abs() < 450.0, "{hits:?}");
        }
        for r in [2, 4, 5, 6, 7, 8] {
            assert_eq!(hits[r], 0, "{hits:?}");
        }
        // inside a range, patches uniformly: all 9 of range 3 drawn, and most of range 0
        assert!((990..1000).all(|i| seen.contains(&i)) && seen.contains(&999));
        assert!(seen.iter().filter(|&&i| i < 900).count() > 850);
    }

    #[test]
    fn d_follows_the_librarys_natural_distribution_and_u_does_not() {
        let lib = skewed();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let n = 20_000;
        let share_of_range0 = |s: Sampling, rng: &mut ChaCha8Rng| {
            (0..n)
                .filter(|_| range_of(&lib, lib.sample(s, rng), 128.0) == 0)
                .count() as f64
                / n as f64
        };
        // D and per-patch uniform: 90 % flat patches; U: one range in four
        assert!((share_of_range0(Sampling::Density, &mut rng) - 0.9).abs() < 0.01);
        assert!((share_of_range0(Sampling::Uniform, &mut rng) - 0.9).abs() < 0.01);
        assert!((share_of_range0(Sampling::uniform_ranges(), &mut rng) - 0.25).abs() < 0.015);
        // finer ranges: width 64 splits range 0 in two and range 1 in two (90 = 64 + 26)
        let u64w = lib.ranges(64);
        let filled: Vec<usize> = (0..u64w.weights.len())
            .filter(|&b| !u64w.members(b).is_empty())
            .collect();
        assert_eq!(filled, vec![0, 1, 2, 3, 6, 18]);
        assert!(u64w
            .weights
            .iter()
            .all(|&w| w == 0.0 || (w - 1.0 / 6.0).abs() < 1e-12));
    }

    #[test]
    fn a_zero_range_width_is_refused_by_name() {
        let e = Sampling::ranges(0).unwrap_err().to_string();
        assert!(e.contains("range width") && e.contains('0'), "{e}");
        assert_eq!(
            Sampling::ranges(32).unwrap(),
            Sampling::Ranges { width: 32 }
        );
    }
}
