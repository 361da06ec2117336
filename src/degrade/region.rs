//! The input region one intervention writes, for degradations with a halo.
//!
//! A degradation that mixes neighbouring pixels (blur, JPEG blocks, SR upsampled back)
//! changes more than the cell when a clean patch is pasted and the whole image is
//! degraded again. Such a degradation reports a [`halo`](super::Degradation::halo) and
//! writes a fixed-size window: the cell grown by the halo on every side, shifted (not
//! shrunk) to lie inside the input, so every intervention of a map has the same size.
//!
//! ```
//! use cem::degrade::region::halo_window;
//! // an 8-pixel cell at (0, 16) with a halo of 4 in a 64 x 64 input
//! assert_eq!(halo_window((0, 16), 8, 4, (64, 64)), (0, 12, 16, 16));
//! ```

use super::PatchSite;
use crate::error::{Error, Result};
use ::image::RgbImage;

/// What an intervention writes: `pixels` replace the input from input pixel `(x, y)`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputPatch {
    /// Left edge in input pixels.
    pub x: u32,
    /// Top edge in input pixels.
    pub y: u32,
    /// The new input pixels.
    pub pixels: RgbImage,
}

/// The window `(x, y, width, height)` a cell at input pixel `cell` (side `block_in`)
/// with `halo` writes in an input of size `input`: `block_in + 2 halo` square (at most
/// the input), shifted inside the input.
pub fn halo_window(
    cell: (u32, u32),
    block_in: u32,
    halo: u32,
    input: (u32, u32),
) -> (u32, u32, u32, u32) {
    let side = block_in + 2 * halo;
    let axis = |c: u32, n: u32| {
        let len = side.min(n);
        let start = c.saturating_sub(halo).min(n - len);
        (start, len)
    };
    let (x, w) = axis(cell.0, input.0);
    let (y, h) = axis(cell.1, input.1);
    (x, y, w, h)
}

/// A copy of `hr` with the square `patch` pasted at `at` (output pixels); fails when the
/// patch does not fit.
pub fn paste(hr: &RgbImage, patch: &RgbImage, at: PatchSite) -> Result<RgbImage> {
    super::check_patch(patch, "intervention")?;
    if (at.image_width, at.image_height) != hr.dimensions()
        || at.x + patch.width() > hr.width()
        || at.y + patch.height() > hr.height()
    {
        return Err(Error::SizeMismatch {
            what: format!("patch site ({}, {})", at.x, at.y),
            expected: format!(
                "a {0}x{0} patch inside the {1}x{2} ground truth",
                patch.width(),
                hr.width(),
                hr.height()
            ),
            got: format!("a site in a {}x{} image", at.image_width, at.image_height),
        });
    }
    let mut out = hr.clone();
    ::image::imageops::replace(&mut out, patch, at.x as i64, at.y as i64);
    Ok(out)
}

/// `img`'s window `(x, y, w, h)` as an [`InputPatch`].
pub fn crop_patch(img: &RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> InputPatch {
    InputPatch {
        x,
        y,
        pixels: ::image::imageops::crop_imm(img, x, y, w, h).to_image(),
    }
}

/// The error of [`super::Degradation::degrade_patch`] for degradations that need the
/// clean surroundings of the cell (use [`super::Degradation::degrade_region`]).
pub(crate) fn needs_surroundings(name: &str, halo: u32) -> Error {
    Error::invalid(
        "degradation",
        name,
        format!(
            "an intervention changes input pixels up to {halo} beyond its cell; \
             use degrade_region with the clean image"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_shift_inside() {
        assert_eq!(halo_window((8, 8), 8, 4, (64, 64)), (4, 4, 16, 16));
        assert_eq!(halo_window((56, 56), 8, 4, (64, 64)), (48, 48, 16, 16));
        assert_eq!(halo_window((0, 0), 8, 40, (32, 16)), (0, 0, 32, 16));
        assert_eq!(halo_window((8, 0), 8, 0, (32, 16)), (8, 0, 8, 8));
    }
}
