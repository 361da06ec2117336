//! Test sets for averaging maps over images, as the paper averages over LAM's 150 test
//! images: [`builtin`] (`testset:builtin`, crops of the embedded photos, nothing to
//! download) or any folder of images ([`from_folder`]); [`load`] takes either spec.
//!
//! The built-in set is ten 128x128 crops at fixed positions, each with a 16-pixel ROI
//! (8x8-block aligned) on a detail: an edge, a texture, a small structure.
//!
//! | name | photo | crop (x, y) | ROI in the crop (x, y) | on |
//! |---|---|---|---|---|
//! | `demo` | astronaut.png | 208, 144 | 56, 56 | the demo's ROI (`cem demo`, the paper's 96,152 in its 256x256 crop) |
//! | `chelsea-eye` | chelsea.png | 112, 48 | 48, 56 | the cat's eye |
//! | `coffee-spoon` | coffee.png | 296, 200 | 64, 80 | the spoon's rim |
//! | `astronaut-face` | astronaut.png | 160, 64 | 56, 80 | the mouth |
//! | `astronaut-patch` | astronaut.png | 104, 320 | 48, 40 | the mission patch's lettering |
//! | `chelsea-nose` | chelsea.png | 200, 168 | 56, 64 | nose and whiskers |
//! | `coffee-wood` | coffee.png | 472, 0 | 56, 56 | wood grain |
//! | `hubble` | hubble_deep_field.jpg | 440, 376 | 56, 56 | galaxies on black |
//! | `retina` | retina.jpg | 224, 568 | 56, 56 | vessels at the optic disc |
//! | `rocket` | rocket.jpg | 256, 152 | 56, 56 | the rocket's structure |
//!
//! `astronaut.png` is held out of the shipped models' training; the other photos are
//! their training photos (random crops of them), so on those crops the shipped models
//! restore images they have seen: good enough to compare behaviours (the maps), not
//! to rank PSNRs. For a folder, every PNG/JPEG is one item; its ROI is given by an
//! optional `rois.csv` in the folder (`name,x,y,side` per line, name the file name),
//! else a `DEFAULT_ROI_SIDE` square at the image centre, aligned to 8 pixels.
//!
//! ```
//! # fn main() -> cem::Result<()> {
//! let set = cem::testset::load("testset:builtin")?;
//! assert_eq!(set.len(), 10);
//! assert_eq!(set[0].name, "demo");
//! assert_eq!((set[0].image.width(), set[0].roi.size), (128, 16));
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use crate::image::{crop, load_rgb, Roi};
use crate::library::builtin_photo;
use ::image::RgbImage;
use std::path::Path;

/// The spec that names the built-in set wherever an image folder is accepted.
pub const BUILTIN_SPEC: &str = "testset:builtin";

/// Side of the built-in crops.
pub const BUILTIN_SIDE: u32 = 128;

/// Side of the built-in ROIs, and of a folder's default ROI.
pub const DEFAULT_ROI_SIDE: u32 = 16;

/// One test image: a name, the ground truth and the ROI.
#[derive(Debug, Clone)]
pub struct TestImage {
    /// Short name (the file stem for a folder).
    pub name: String,
    /// The ground truth.
    pub image: RgbImage,
    /// The region of interest.
    pub roi: Roi,
}

/// (name, photo, crop x, crop y, ROI x, ROI y): the table in the module docs.
const BUILTIN: [(&str, &str, u32, u32, u32, u32); 10] = [
    ("demo", "astronaut.png", 208, 144, 56, 56),
    ("chelsea-eye", "chelsea.png", 112, 48, 48, 56),
    ("coffee-spoon", "coffee.png", 296, 200, 64, 80),
    ("astronaut-face", "astronaut.png", 160, 64, 56, 80),
    ("astronaut-patch", "astronaut.png", 104, 320, 48, 40),
    ("chelsea-nose", "chelsea.png", 200, 168, 56, 64),
    ("coffee-wood", "coffee.png", 472, 0, 56, 56),
    ("hubble", "hubble_deep_field.jpg", 440, 376, 56, 56),
    ("retina", "retina.jpg", 224, 568, 56, 56),
    ("rocket", "rocket.jpg", 256, 152, 56, 56),
];

/// The built-in test set (see the module docs), in the table's order: the first
/// items are the ones to keep when a quick run takes only a few.
pub fn builtin() -> Result<Vec<TestImage>> {
    BUILTIN
        .iter()
        .map(|&(name, photo, x, y, rx, ry)| {
            Ok(TestImage {
                name: name.to_string(),
                image: crop(&builtin_photo(photo)?, x, y, BUILTIN_SIDE, BUILTIN_SIDE)?,
                roi: Roi::new(rx, ry, DEFAULT_ROI_SIDE),
            })
        })
        .collect()
}

/// Every PNG/JPEG in `dir` (sorted by name), with ROIs from `dir/rois.csv` or centred.
pub fn from_folder(dir: impl AsRef<Path>) -> Result<Vec<TestImage>> {
    let dir = dir.as_ref();
    if !dir.is_dir() {
        return Err(Error::invalid(
            "test set",
            dir.display(),
            format!("not a folder (nor `{BUILTIN_SPEC}`)"),
        ));
    }
    let mut paths = crate::paths::files_with_extension(dir, &["png", "jpg", "jpeg"])
        .map_err(|e| Error::io(dir, e))?;
    paths.sort();
    if paths.is_empty() {
        return Err(Error::invalid(
            "test set",
            dir.display(),
            "holds no .png or .jpg",
        ));
    }
    let rois = read_rois(&dir.join("rois.csv"))?;
    paths
        .iter()
        .map(|path| {
            let image = load_rgb(path)?;
            let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
            let file = file.unwrap_or_default();
            let roi = match rois.iter().find(|(n, _)| *n == file) {
                Some((_, roi)) => *roi,
                None => centred_roi(image.width(), image.height()),
            };
            roi.check_inside(image.width(), image.height())?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or(file);
            Ok(TestImage { name, image, roi })
        })
        .collect()
}

/// `testset:builtin` or a folder.
pub fn load(spec: &str) -> Result<Vec<TestImage>> {
    if spec == BUILTIN_SPEC {
        return builtin();
    }
    if let Some(rest) = spec.strip_prefix("testset:") {
        return Err(Error::invalid(
            "test set",
            rest,
            format!("the only named set is `{BUILTIN_SPEC}`; otherwise give a folder"),
        ));
    }
    from_folder(spec)
}

fn centred_roi(w: u32, h: u32) -> Roi {
    let side = DEFAULT_ROI_SIDE.min(w).min(h);
    let at = |n: u32| ((n - side) / 2) / 8 * 8;
    Roi::new(at(w), at(h), side)
}

fn read_rois(path: &Path) -> Result<Vec<(String, Roi)>> {
    if !path.is_file() {
        return Ok(vec![]);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut rois = vec![];
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("name,") {
            continue;
        }
        let parts: Vec<&str> = line.split(',').map(str::trim).collect();
        let nums: Option<Vec<u32>> = parts.iter().skip(1).map(|p| p.parse().ok()).collect();
        match (parts.len(), nums) {
            (4, Some(n)) if n[2] > 0 => {
                rois.push((parts[0].to_string(), Roi::new(n[0], n[1], n[2])))
            }
            _ => {
                return Err(Error::invalid(
                    &format!("{} line {}", path.display(), i + 1),
                    line,
                    "expected `name,x,y,side` with whole numbers and side > 0",
                ))
            }
        }
    }
    Ok(rois)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_set_has_its_documented_items_with_rois_inside() {
        let set = builtin().unwrap();
        assert_eq!(set.len(), BUILTIN.len());
        for t in &set {
            assert_eq!(
                t.image.dimensions(),
                (BUILTIN_SIDE, BUILTIN_SIDE),
                "{}",
                t.name
            );
            t.roi.check_inside(BUILTIN_SIDE, BUILTIN_SIDE).unwrap();
            assert_eq!((t.roi.x % 8, t.roi.y % 8), (0, 0), "{}", t.name);
            // a detail, not a flat area: the ROI's pixels vary
            let vals: Vec<u8> = (0..t.roi.size)
                .flat_map(|dy| (0..t.roi.size).map(move |dx| (dx, dy)))
                .map(|(dx, dy)| t.image.get_pixel(t.roi.x + dx, t.roi.y + dy)[1])
                .collect();
            let (lo, hi) = (vals.iter().min().unwrap(), vals.iter().max().unwrap());
            assert!(hi - lo > 20, "{}: flat ROI ({lo}..{hi})", t.name);
        }
        // the demo item holds the demo's ROI: astronaut (160+96, 40+152) = crop + roi
        let demo = crate::demo::demo_image().unwrap();
        let roi = crate::demo::demo_roi();
        assert_eq!(
            set[0].image.get_pixel(56, 56),
            demo.get_pixel(roi.x + 8, roi.y + 8)
        );
    }

    #[test]
    fn folders_take_rois_from_rois_csv_or_the_centre() {
        let dir = tempfile::tempdir().unwrap();
        let img = RgbImage::from_fn(40, 24, |x, y| ::image::Rgb([x as u8 * 5, y as u8 * 9, 7]));
        crate::image::save_rgb(&img, dir.path().join("b.png")).unwrap();
        crate::image::save_rgb(&img, dir.path().join("a.png")).unwrap();
        std::fs::write(dir.path().join("rois.csv"), "name,x,y,side\nb.png,8,0,8\n").unwrap();
        let set = load(dir.path().to_str().unwrap()).unwrap();
        let names: Vec<&str> = set.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(set[0].roi, Roi::new(8, 0, 16)); // centred, 8-aligned
        assert_eq!(set[1].roi, Roi::new(8, 0, 8));
        std::fs::write(dir.path().join("rois.csv"), "b.png,8,x,8\n").unwrap();
        let err = load(dir.path().to_str().unwrap()).unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("b.png,8,x,8"),
            "{err}"
        );
        std::fs::write(dir.path().join("rois.csv"), "b.png,30,0,16\n").unwrap();
        assert!(load(dir.path().to_str().unwrap()).is_err()); // outside the image
        let err = load("testset:div2k").unwrap_err().to_string();
        assert!(err.contains("div2k"), "{err}");
        let err = load("/no/such/folder").unwrap_err().to_string();
        assert!(err.contains("/no/such/folder"), "{err}");
    }
}
