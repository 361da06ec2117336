//! Super-resolution for general (scale-1) networks: the LR upsampled back to full size.
//!
//! Mix-trained and MIO networks take an SR input already at the output size. The input
//! is the PIL-exact bicubic LR (as for [`super::Bicubic`]) upsampled back with the same
//! PIL bicubic, which is what the trainer feeds its mixed SR samples
//! ([`crate::train::TrainTask`]). An intervention writes the OpenCV `INTER_CUBIC`
//! downscaled patch (as for SR) into the LR and upsamples the LR again, so it changes
//! the cell and up to `2 * scale` pixels around it (the bicubic's reach).

use super::region::{halo_window, needs_surroundings, InputPatch};
use super::resample::{pil_bicubic, pil_bicubic_window};
use super::{Bicubic, Degradation, PatchSite};
use crate::error::{Error, Result};
use ::image::RgbImage;
use rand::RngCore;

/// Bicubic downscale by `scale` and bicubic upscale back, both PIL-exact; model scale 1.
///
/// ```
/// use cem::prelude::*;
/// use cem::degrade::BicubicUpsampled;
/// let hr = cem::library::builtin_photo("coffee.png")?;
/// let hr = cem::image::crop(&hr, 0, 0, 64, 64)?;
/// let d = BicubicUpsampled::new(4)?;
/// assert_eq!(d.scale(), 1);
/// assert_eq!(d.degrade(&hr)?.dimensions(), (64, 64));
/// # Ok::<(), cem::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BicubicUpsampled {
    /// The SR downscale (its size checks and its intervention patches).
    down: Bicubic,
    scale: u32,
}

impl BicubicUpsampled {
    /// Down and up by `scale` (at least 1).
    pub fn new(scale: u32) -> Result<Self> {
        Ok(BicubicUpsampled {
            down: Bicubic::new(scale)?,
            scale,
        })
    }

    /// The SR scale of the LR.
    pub fn sr_scale(&self) -> u32 {
        self.scale
    }
}

impl Degradation for BicubicUpsampled {
    fn name(&self) -> String {
        "sr-up".into()
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        let lr = self.down.degrade(hr)?;
        Ok(pil_bicubic(&lr, hr.width(), hr.height()))
    }

    fn degrade_patch(
        &self,
        _patch: &RgbImage,
        _at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        Err(needs_surroundings("sr-up", self.halo()))
    }

    fn halo(&self) -> u32 {
        2 * self.scale
    }

    /// Computes only the LR pixels the window's upsampling reads (from the clean image),
    /// writes the patch's `INTER_CUBIC` downscale into them and upsamples the window.
    fn degrade_region(
        &self,
        hr: &RgbImage,
        patch: &RgbImage,
        at: PatchSite,
        rng: &mut dyn RngCore,
    ) -> Result<InputPatch> {
        // the patch's INTER_CUBIC downscale, checked as for SR
        let small = self.down.degrade_patch(patch, at, rng)?;
        let s = self.scale;
        let b = patch.width();
        let (w, h) = hr.dimensions();
        let (lw, lh) = self.down.lr_size(w, h)?;
        if at.x + b > w || at.y + b > h {
            return Err(Error::SizeMismatch {
                what: format!("patch site ({}, {})", at.x, at.y),
                expected: format!("a {b}x{b} patch inside the {w}x{h} ground truth"),
                got: format!("a patch reaching ({}, {})", at.x + b, at.y + b),
            });
        }
        let win = halo_window((at.x, at.y), b, self.halo(), (w, h));
        // LR pixels the upsampling of the window reads: within 3 of the window / s
        let lx0 = (win.0 / s).saturating_sub(3);
        let ly0 = (win.1 / s).saturating_sub(3);
        let lx1 = ((win.0 + win.2) / s + 3).min(lw);
        let ly1 = ((win.1 + win.3) / s + 3).min(lh);
        let mut lr = pil_bicubic_window(
            hr,
            (0, 0),
            (w, h),
            (lw, lh),
            (lx0, ly0, lx1 - lx0, ly1 - ly0),
        );
        ::image::imageops::replace(
            &mut lr,
            &small,
            (at.x / s - lx0) as i64,
            (at.y / s - ly0) as i64,
        );
        Ok(InputPatch {
            x: win.0,
            y: win.1,
            pixels: pil_bicubic_window(&lr, (lx0, ly0), (lw, lh), (w, h), win),
        })
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "sr-up",
            "scale": self.scale,
            "image": "PIL antialiased bicubic down, PIL bicubic back up (exact)",
            "patch": "OpenCV INTER_CUBIC into the LR, PIL bicubic up",
        })
    }
}
