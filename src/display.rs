//! Inline display in evcxr notebooks: one PNG block per cell.
//!
//! evcxr keeps one output block per MIME type per cell, so several images are
//! composed into one picture ([`show_row`]) rather than shown one after another.

use crate::error::Result;
#[cfg(feature = "evcxr")]
use crate::image::encode_png;
use ::image::{imageops, RgbImage};
#[cfg(feature = "evcxr")]
use base64::Engine;
#[cfg(feature = "evcxr")]
use std::io::Write;

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
        let b64 = base64::engine::general_purpose::STANDARD.encode(png);
        let text = format!("{}x{} RGB image", self.image.width(), self.image.height());
        let mut out = std::io::stdout().lock();
        let _ = write!(
            out,
            "EVCXR_BEGIN_CONTENT image/png\n{b64}\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/plain\n{text}\nEVCXR_END_CONTENT\n"
        );
        let _ = out.flush();
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

#[cfg(test)]
mod tests {
    use super::*;

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
