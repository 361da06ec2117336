//! Inline display in evcxr notebooks: one PNG block per cell.
//!
//! evcxr keeps one output block per MIME type per cell, so several images are
//! composed into one picture ([`show_row`], [`show_column`]) rather than shown one
//! after another: in a loop of displays, only the last would stay.
//!
//! A cell that ends in a [`MapRun`] (what [`Cem::run`](crate::engine::Cem::run)
//! returns) or a [`CausalEffectMap`] shows the one-map panel (input with the ROI,
//! output, map, pie, colour bar; [`crate::plot::panel`]) as one PNG, with the Table I
//! line as its `text/plain` form:
//!
//! ```no_run
//! use cem::prelude::*;
//! # fn main() -> cem::Result<()> {
//! # let (model, hr) = (cem::demo::demo_model(Device::Cpu), cem::demo::demo_image()?);
//! let run = Cem::coarse_to_fine().run(&model, &hr, &Task::Dn { sigma: 50.0 }, Roi::new(96, 152, 32))?;
//! run // the last expression of a cell: shown inline
//! # ; Ok(()) }
//! ```

use crate::error::Result;
#[cfg(feature = "evcxr")]
use crate::image::encode_png;
use crate::map::{CausalEffectMap, MapRun};
use crate::plot::{panel, Figure, MapStyle};
use ::image::{imageops, RgbImage};
#[cfg(feature = "evcxr")]
use base64::Engine;
#[cfg(feature = "evcxr")]
use std::io::Write;

#[cfg(feature = "evcxr")]
/// What evcxr reads from a cell's stdout: an `image/png` block (base64) and a
/// `text/plain` one.
fn evcxr_blocks(png: &[u8], text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(png);
    format!(
        "EVCXR_BEGIN_CONTENT image/png\n{b64}\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/plain\n{text}\nEVCXR_END_CONTENT\n"
    )
}

#[cfg(feature = "evcxr")]
/// Prints `blocks` in one locked write, so nothing interleaves with them.
fn print_locked(blocks: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(blocks.as_bytes());
    let _ = out.flush();
}

/// An image that evcxr shows inline (PNG), with a text fallback.
#[derive(Debug, Clone)]
pub struct Picture {
    /// The pixels.
    pub image: RgbImage,
}

impl Picture {
    /// Saves the picture as PNG or JPEG.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::image::save_rgb(&self.image, path)
    }

    /// Called by evcxr to display the value: prints an `image/png` block and a
    /// `text/plain` one in a single locked write.
    #[cfg(feature = "evcxr")]
    pub fn evcxr_display(&self) {
        let png = match encode_png(&self.image) {
            Ok(p) => p,
            Err(e) => {
                println!("cannot display image: {e}");
                return;
            }
        };
        let text = format!("{}x{} RGB image", self.image.width(), self.image.height());
        print_locked(&evcxr_blocks(&png, &text));
    }
}

impl MapRun {
    /// The one-map panel of this result with the default style: input with the ROI
    /// boxed, model output, the map, its pie and colour bar ([`crate::plot::panel`]).
    pub fn panel(&self) -> Result<Figure> {
        panel(self, &MapStyle::default())
    }

    /// What a notebook cell shows for this result: the panel as PNG and the Table I
    /// line as `text/plain`, as evcxr reads them from stdout.
    #[cfg(feature = "evcxr")]
    pub fn evcxr_content(&self) -> Result<String> {
        Ok(evcxr_blocks(&self.panel()?.to_png()?, &self.table1_line()))
    }

    /// Called by evcxr to display the value: [`MapRun::evcxr_content`] in one locked
    /// write (the Table I line alone if the panel cannot be drawn, with the reason).
    #[cfg(feature = "evcxr")]
    pub fn evcxr_display(&self) {
        match self.evcxr_content() {
            Ok(blocks) => print_locked(&blocks),
            Err(e) => println!("{}\n(no panel: {e})", self.table1_line()),
        }
    }
}

impl CausalEffectMap {
    /// What a notebook cell shows for this map: its panel without images (the map,
    /// its pie and colour bar) as PNG, the Table I line as `text/plain`.
    #[cfg(feature = "evcxr")]
    pub fn evcxr_content(&self) -> Result<String> {
        MapRun::new(self.clone()).evcxr_content()
    }

    /// Called by evcxr to display the value: [`CausalEffectMap::evcxr_content`] in
    /// one locked write.
    #[cfg(feature = "evcxr")]
    pub fn evcxr_display(&self) {
        MapRun::new(self.clone()).evcxr_display()
    }
}

/// Shows one image.
pub fn show(img: &RgbImage) -> Picture {
    Picture { image: img.clone() }
}

/// Shows images side by side in one picture; smaller ones are enlarged by an integer
/// factor (nearest neighbour) towards the tallest, e.g. an x4 LR input next to its HR.
pub fn show_row(images: &[&RgbImage]) -> Picture {
    let tallest = images.iter().map(|i| i.height()).max().unwrap_or(1);
    let scaled: Vec<RgbImage> = images
        .iter()
        .map(|i| {
            let k = (tallest / i.height().max(1)).max(1);
            if k > 1 {
                imageops::resize(
                    *i,
                    i.width() * k,
                    i.height() * k,
                    imageops::FilterType::Nearest,
                )
            } else {
                (*i).clone()
            }
        })
        .collect();
    let gap = 4;
    let width =
        scaled.iter().map(|i| i.width()).sum::<u32>() + gap * scaled.len().saturating_sub(1) as u32;
    let height = scaled.iter().map(|i| i.height()).max().unwrap_or(1);
    let mut canvas = RgbImage::from_pixel(width.max(1), height, ::image::Rgb([255, 255, 255]));
    let mut x = 0;
    for img in &scaled {
        imageops::replace(&mut canvas, img, x as i64, 0);
        x += img.width() + gap;
    }
    Picture { image: canvas }
}

/// Shows images one below the other in one picture, left-aligned on white: e.g. one
/// figure per model from a loop, where a display per iteration would keep only the last.
///
/// ```
/// use cem::prelude::*;
/// let a = RgbImage::from_pixel(6, 2, image::Rgb([255, 0, 0]));
/// let b = RgbImage::from_pixel(3, 5, image::Rgb([0, 0, 255]));
/// assert_eq!(show_column(&[&a, &b]).image.dimensions(), (6, 2 + 4 + 5));
/// ```
pub fn show_column(images: &[&RgbImage]) -> Picture {
    let gap = 4;
    let width = images.iter().map(|i| i.width()).max().unwrap_or(1);
    let height = images.iter().map(|i| i.height()).sum::<u32>()
        + gap * images.len().saturating_sub(1) as u32;
    let mut canvas =
        RgbImage::from_pixel(width.max(1), height.max(1), ::image::Rgb([255, 255, 255]));
    let mut y = 0;
    for img in images {
        imageops::replace(&mut canvas, *img, 0, y as i64);
        y += img.height() + gap;
    }
    Picture { image: canvas }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Roi;
    use crate::map::MapInfo;

    /// The PNG and the text of evcxr blocks.
    fn parse_blocks(blocks: &str) -> (RgbImage, String) {
        let png = blocks
            .split("EVCXR_BEGIN_CONTENT image/png\n")
            .nth(1)
            .and_then(|r| r.split("\nEVCXR_END_CONTENT").next())
            .expect("a PNG block");
        let text = blocks
            .split("EVCXR_BEGIN_CONTENT text/plain\n")
            .nth(1)
            .and_then(|r| r.split("\nEVCXR_END_CONTENT").next())
            .expect("a text block");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png)
            .unwrap();
        (crate::image::decode_rgb(&bytes).unwrap(), text.to_string())
    }

    #[test]
    fn a_result_shows_one_panel_and_its_table_line() {
        let info = MapInfo::new("net", "dn", "img", Roi::new(8, 8, 8), 8);
        let effects: Vec<f64> = (0..16)
            .map(|i| {
                if i == 5 {
                    f64::INFINITY
                } else {
                    i as f64 / 10.0 - 0.5
                }
            })
            .collect();
        let map = CausalEffectMap::from_effects(4, 4, &effects, info).unwrap();
        let input = RgbImage::from_pixel(32, 32, ::image::Rgb([90, 120, 150]));
        let run = MapRun::new(map.clone())
            .with_input(input.clone())
            .with_output(input);
        let blocks = run.evcxr_content().unwrap();
        assert_eq!(blocks.matches("EVCXR_BEGIN_CONTENT").count(), 2);
        let (png, text) = parse_blocks(&blocks);
        assert_eq!(text, run.table1_line());
        let fig = run.panel().unwrap();
        assert_eq!(png.dimensions(), (fig.width, fig.height));
        // the bare map shows a smaller panel: no input or output tiles
        let (bare, bare_text) = parse_blocks(&map.evcxr_content().unwrap());
        assert_eq!(bare_text, text);
        assert!(
            bare.width() < png.width(),
            "{} vs {}",
            bare.width(),
            png.width()
        );
    }

    #[test]
    fn column_stacks_left_aligned_with_gaps() {
        let a = RgbImage::from_pixel(8, 3, ::image::Rgb([255, 0, 0]));
        let b = RgbImage::from_pixel(2, 2, ::image::Rgb([0, 0, 255]));
        let p = show_column(&[&a, &b]);
        assert_eq!(p.image.dimensions(), (8, 3 + 4 + 2));
        assert_eq!(p.image.get_pixel(7, 2).0, [255, 0, 0]);
        assert_eq!(p.image.get_pixel(0, 5).0, [255, 255, 255]);
        assert_eq!(p.image.get_pixel(1, 8).0, [0, 0, 255]);
        assert_eq!(p.image.get_pixel(2, 8).0, [255, 255, 255]);
    }

    #[test]
    fn row_scales_and_places() {
        let a = RgbImage::from_pixel(8, 8, ::image::Rgb([255, 0, 0]));
        let b = RgbImage::from_pixel(2, 2, ::image::Rgb([0, 0, 255]));
        let p = show_row(&[&a, &b]);
        assert_eq!(p.image.dimensions(), (8 + 4 + 8, 8));
        assert_eq!(p.image.get_pixel(19, 7).0, [0, 0, 255]);
        assert_eq!(p.image.get_pixel(9, 0).0, [255, 255, 255]);
    }
}
