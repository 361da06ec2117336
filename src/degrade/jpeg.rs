//! JPEG artefact removal: a JPEG round trip through the `image` crate.
//!
//! The MIO authors compress with BasicSR's `DiffJPEG` at a quality drawn from
//! U(30, 70); here the encoder is the `image` crate's baseline encoder (standard
//! tables scaled by `quality`, 4:4:4, edge pixels replicated into partial blocks) and
//! its decoder, so every 8x8 block is compressed on its own: an intervention changes
//! only the blocks its cell touches, at most 7 pixels beyond the cell.

use super::region::{halo_window, needs_surroundings, paste, InputPatch};
use super::{Degradation, PatchSite};
use crate::error::{Error, Result};
use ::image::codecs::jpeg::JpegEncoder;
use ::image::{ExtendedColorType, ImageFormat, RgbImage};
use rand::RngCore;

/// JPEG compression at `quality` (1..=100) and decompression.
///
/// ```
/// use cem::prelude::*;
/// use cem::degrade::Jpeg;
/// let img = cem::library::builtin_photo("coffee.png")?;
/// let low = Jpeg::new(10)?.degrade(&img)?;
/// assert_eq!(low.dimensions(), img.dimensions());
/// assert!(Jpeg::new(0).is_err());
/// # Ok::<(), cem::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Jpeg {
    quality: u8,
}

/// JPEG block side.
const BLOCK: u32 = 8;

impl Jpeg {
    /// A round trip at `quality`, 1 (worst) to 100 (best).
    pub fn new(quality: u8) -> Result<Self> {
        if quality == 0 || quality > 100 {
            return Err(Error::invalid("jpeg quality", quality, "must be 1..=100"));
        }
        Ok(Jpeg { quality })
    }

    fn round_trip(&self, img: &RgbImage) -> Result<RgbImage> {
        let mut buf = Vec::new();
        JpegEncoder::new_with_quality(&mut buf, self.quality)
            .encode(
                img.as_raw(),
                img.width(),
                img.height(),
                ExtendedColorType::Rgb8,
            )
            .map_err(|e| Error::invalid("jpeg encoding", self.quality, e.to_string()))?;
        Ok(
            ::image::load_from_memory_with_format(&buf, ImageFormat::Jpeg)
                .map_err(|e| Error::invalid("jpeg decoding", self.quality, e.to_string()))?
                .to_rgb8(),
        )
    }
}

impl Degradation for Jpeg {
    fn name(&self) -> String {
        "jpeg".into()
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        self.round_trip(hr)
    }

    fn degrade_patch(
        &self,
        _patch: &RgbImage,
        _at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        Err(needs_surroundings("jpeg", self.halo()))
    }

    fn halo(&self) -> u32 {
        BLOCK - 1
    }

    /// Compresses only the block-aligned part of the pasted image that covers the
    /// window: blocks are independent, so this is the whole round trip's result there.
    fn degrade_region(
        &self,
        hr: &RgbImage,
        patch: &RgbImage,
        at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<InputPatch> {
        let pasted = paste(hr, patch, at)?;
        let (w, h) = hr.dimensions();
        let (x, y, rw, rh) = halo_window((at.x, at.y), patch.width(), self.halo(), (w, h));
        let (ax, ay) = (x / BLOCK * BLOCK, y / BLOCK * BLOCK);
        let ax1 = (x + rw).div_ceil(BLOCK).saturating_mul(BLOCK).min(w);
        let ay1 = (y + rh).div_ceil(BLOCK).saturating_mul(BLOCK).min(h);
        let part = ::image::imageops::crop_imm(&pasted, ax, ay, ax1 - ax, ay1 - ay).to_image();
        let done = self.round_trip(&part)?;
        Ok(InputPatch {
            x,
            y,
            pixels: ::image::imageops::crop_imm(&done, x - ax, y - ay, rw, rh).to_image(),
        })
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "jpeg", "quality": self.quality,
            "codec": "image crate baseline encoder (4:4:4) and decoder",
        })
    }
}
