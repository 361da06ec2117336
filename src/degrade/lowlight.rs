//! Low-light enhancement: darkening by a gamma, a brightness scale and optional noise.
//!
//! The MIO authors' `add_dark` raises the image in [0, 1] to a gamma drawn from
//! U(1, 3) and rounds to u8; `scale` and `sigma` extend it to the usual low-light
//! model `y = scale * x^gamma + n`, `n ~ N(0, (sigma/255)^2)`, with the MIO behaviour
//! at `scale = 1, sigma = 0` (the defaults, see [`super::task_options`]). The noise of
//! each value is a function of the seed and the value's position alone, so degrading
//! the whole image again gives every pixel the same noise and an intervention changes
//! only its cell.

use super::{check_patch, Degradation, PatchSite};
use crate::error::{Error, Result};
use ::image::RgbImage;
use rand::RngCore;

/// `round(255 * clip(scale * (x/255)^gamma + n, 0, 1))` per value, noise seeded.
///
/// ```
/// use cem::prelude::*;
/// use cem::degrade::LowLight;
/// let grey = RgbImage::from_pixel(8, 8, image::Rgb([128, 128, 128]));
/// let dark = LowLight::new(2.0, 1.0, 0.0, 0)?.degrade(&grey)?;
/// assert_eq!(dark.get_pixel(0, 0)[0], 64); // 255 * (128/255)^2 = 64.25
/// # Ok::<(), cem::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LowLight {
    gamma: f64,
    scale: f64,
    sigma: f64,
    seed: u64,
}

impl LowLight {
    /// Darkening with `gamma` > 0, `scale` in (0, 1] and noise `sigma` >= 0 u8 levels.
    pub fn new(gamma: f64, scale: f64, sigma: f64, seed: u64) -> Result<Self> {
        if !(gamma.is_finite() && gamma > 0.0) {
            return Err(Error::invalid(
                "lowlight gamma",
                gamma,
                "must be a finite positive number",
            ));
        }
        if !(scale > 0.0 && scale <= 1.0) {
            return Err(Error::invalid("lowlight scale", scale, "must be in (0, 1]"));
        }
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(Error::invalid(
                "lowlight sigma",
                sigma,
                "must be a finite non-negative number",
            ));
        }
        Ok(LowLight {
            gamma,
            scale,
            sigma,
            seed,
        })
    }

    /// A standard normal draw for value `index` (Box-Muller on two hashed uniforms).
    fn normal(&self, index: u64) -> f64 {
        let h1 = splitmix64(self.seed ^ splitmix64(index ^ 0x6c6f_776c));
        let h2 = splitmix64(h1);
        let u1 = ((h1 >> 11) + 1) as f64 / (1u64 << 53) as f64; // (0, 1]
        let u2 = (h2 >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Darkens `img`, whose top-left is `(x0, y0)` in an image `w` pixels wide.
    fn apply(&self, img: &RgbImage, x0: u32, y0: u32, w: u32) -> RgbImage {
        let mut out = img.clone();
        for (x, y, p) in out.enumerate_pixels_mut() {
            let base = ((y0 + y) as u64 * w as u64 + (x0 + x) as u64) * 3;
            for (c, v) in p.0.iter_mut().enumerate() {
                let mut z = self.scale * (*v as f64 / 255.0).powf(self.gamma);
                if self.sigma > 0.0 {
                    z += self.sigma / 255.0 * self.normal(base + c as u64);
                }
                *v = (z.clamp(0.0, 1.0) * 255.0).round_ties_even() as u8;
            }
        }
        out
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Degradation for LowLight {
    fn name(&self) -> String {
        "lowlight".into()
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        Ok(self.apply(hr, 0, 0, hr.width()))
    }

    fn degrade_patch(
        &self,
        patch: &RgbImage,
        at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        check_patch(patch, "lowlight")?;
        Ok(self.apply(patch, at.x, at.y, at.image_width))
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "lowlight", "gamma": self.gamma, "scale": self.scale, "sigma": self.sigma,
            "seed": self.seed, "noise": "per-position hashed Box-Muller", "rounding": "nearest",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_statistics() {
        let l = LowLight::new(1.0, 1.0, 10.0, 5).unwrap();
        let n: Vec<f64> = (0..20000).map(|i| l.normal(i)).collect();
        let mean = n.iter().sum::<f64>() / n.len() as f64;
        let sd = (n.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.len() as f64).sqrt();
        assert!(mean.abs() < 0.03 && (sd - 1.0).abs() < 0.03, "{mean} {sd}");
        assert!(LowLight::new(0.0, 1.0, 0.0, 0).is_err());
        assert!(LowLight::new(2.0, 1.5, 0.0, 0).is_err());
    }
}
