//! Denoising: additive Gaussian noise, truncated to u8 as the reference does.

use super::numpy_rng::RandomState;
use super::{check_patch, Degradation, PatchSite, RngKind};
use crate::error::{Error, Result};
use ::image::RgbImage;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `u8(trunc(clip(x/255 + N(0, (sigma/255)^2), 0, 1) * 255))` per value, seeded.
///
/// The whole image draws its noise from `seed`; each intervention patch draws fresh
/// noise from the engine's per-intervention generator.
#[derive(Debug, Clone)]
pub struct GaussianNoise {
    sigma: f64,
    seed: u64,
    rng: RngKind,
}

impl GaussianNoise {
    /// Noise of standard deviation `sigma` u8 levels (the paper: 50), seeded.
    pub fn new(sigma: f64, seed: u64) -> Result<Self> {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(Error::invalid(
                "sigma",
                sigma,
                "must be a finite non-negative number",
            ));
        }
        Ok(GaussianNoise {
            sigma,
            seed,
            rng: RngKind::ChaCha,
        })
    }

    /// The whole image's noise from NumPy's legacy generator, as the authors make the
    /// DN input: `np.random.seed(seed)`, then `np.random.normal(0, sigma/255, (H, W,
    /// 3))` added to `I_hr/255`, clipped to [0, 1], `uint8(x * 255)`. Interventions
    /// still draw their noise from the engine's generator.
    ///
    /// ```
    /// use cem::prelude::*;
    /// let img = RgbImage::from_pixel(4, 4, image::Rgb([128, 128, 128]));
    /// let noisy = GaussianNoise::numpy(50.0, 0).unwrap().degrade(&img).unwrap();
    /// // python -c "import numpy as np; np.random.seed(0); x = np.random.normal(0, 50/255);
    /// //   print(np.uint8(np.clip(128/255 + x, 0, 1) * 255))"
    /// assert_eq!(noisy.as_raw()[0], 216);
    /// assert!(GaussianNoise::numpy(50.0, 1 << 32).unwrap().degrade(&img).is_err());
    /// ```
    pub fn numpy(sigma: f64, seed: u64) -> Result<Self> {
        Ok(GaussianNoise {
            rng: RngKind::Numpy,
            ..GaussianNoise::new(sigma, seed)?
        })
    }

    /// The noise level in u8 levels.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    fn add_noise(&self, img: &RgbImage, rng: &mut dyn RngCore) -> RgbImage {
        let normal = Normal::new(0.0, self.sigma / 255.0).expect("sigma checked in new");
        let raw = img
            .as_raw()
            .iter()
            .map(|&v| {
                let x = (v as f64 / 255.0 + normal.sample(rng)).clamp(0.0, 1.0);
                (x * 255.0).trunc() as u8
            })
            .collect();
        RgbImage::from_raw(img.width(), img.height(), raw).expect("same size")
    }
}

impl Degradation for GaussianNoise {
    fn name(&self) -> String {
        "dn".into()
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        if self.rng == RngKind::Numpy {
            let mut rs = RandomState::try_seed(self.seed)?;
            let scale = self.sigma / 255.0;
            let raw = hr
                .as_raw()
                .iter()
                .map(|&v| {
                    let x = (rs.normal(0.0, scale) + v as f64 / 255.0).clamp(0.0, 1.0);
                    (x * 255.0) as u8
                })
                .collect();
            return Ok(RgbImage::from_raw(hr.width(), hr.height(), raw).expect("same size"));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        Ok(self.add_noise(hr, &mut rng))
    }

    fn degrade_patch(
        &self,
        patch: &RgbImage,
        _at: PatchSite,
        rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        check_patch(patch, "DN")?;
        Ok(self.add_noise(patch, rng))
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({"name": "dn", "sigma": self.sigma, "seed": self.seed, "rng": self.rng.name(), "rounding": "truncate"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_statistics_and_truncation() {
        let img = RgbImage::from_pixel(64, 64, ::image::Rgb([128, 128, 128]));
        let noisy = GaussianNoise::new(50.0, 3).unwrap().degrade(&img).unwrap();
        let vals: Vec<f64> = noisy.as_raw().iter().map(|&v| v as f64).collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt();
        // truncation lowers the mean by ~0.5 level
        assert!((mean - 127.5).abs() < 1.5, "mean {mean}");
        assert!((sd - 50.0).abs() < 1.5, "sd {sd}");
        // sigma 0 truncates exactly back to the input
        let same = GaussianNoise::new(0.0, 0).unwrap().degrade(&img).unwrap();
        assert_eq!(same, img);
        // the same seed gives the same image, another seed another
        let again = GaussianNoise::new(50.0, 3).unwrap().degrade(&img).unwrap();
        let other = GaussianNoise::new(50.0, 4).unwrap().degrade(&img).unwrap();
        assert_eq!(noisy, again);
        assert_ne!(noisy, other);
        assert!(GaussianNoise::new(f64::NAN, 0).is_err());
    }
}
