//! Super-resolution: PIL-style antialiased bicubic downscaling.

use super::{check_patch, resample, Degradation, PatchSite};
use crate::error::{Error, Result};
use ::image::RgbImage;
use rand::RngCore;

/// Bicubic downscale by `scale`, exactly as PIL's `resize(BICUBIC)`; intervention
/// patches are resized like OpenCV's `INTER_CUBIC` (the reference's choice).
#[derive(Debug, Clone)]
pub struct Bicubic {
    scale: u32,
}

impl Bicubic {
    /// A bicubic downscale by `scale` (at least 1).
    pub fn new(scale: u32) -> Result<Self> {
        if scale == 0 {
            return Err(Error::invalid("scale", scale, "must be at least 1"));
        }
        Ok(Bicubic { scale })
    }

    /// The LR size of a `w x h` ground truth; the scale must divide both sides.
    pub(crate) fn lr_size(&self, w: u32, h: u32) -> Result<(u32, u32)> {
        for (what, v) in [("image width", w), ("image height", h)] {
            if v % self.scale != 0 || v == 0 {
                return Err(Error::BlockDoesNotDivide {
                    block: self.scale,
                    what: format!("{what} (SR scale must divide it)"),
                    value: v,
                });
            }
        }
        Ok((w / self.scale, h / self.scale))
    }
}

impl Degradation for Bicubic {
    fn name(&self) -> String {
        "sr".into()
    }

    fn scale(&self) -> u32 {
        self.scale
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        let (lw, lh) = self.lr_size(hr.width(), hr.height())?;
        Ok(resample::pil_bicubic(hr, lw, lh))
    }

    fn degrade_patch(
        &self,
        patch: &RgbImage,
        _at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        check_patch(patch, "SR")?;
        let side = patch.width();
        if !side.is_multiple_of(self.scale) {
            return Err(Error::BlockDoesNotDivide {
                block: side,
                what: "the SR scale".into(),
                value: self.scale,
            });
        }
        let out = side / self.scale;
        Ok(resample::cv2_inter_cubic(patch, out, out))
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "sr",
            "scale": self.scale,
            "image": "PIL antialiased bicubic (exact)",
            "patch": "OpenCV INTER_CUBIC (exact)",
        })
    }
}
