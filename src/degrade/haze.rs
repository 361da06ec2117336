//! Dehazing: the atmospheric scattering model `I = J t + A (1 - t)`.
//!
//! As the MIO authors' `add_haze` does, with `t = exp(-beta d)`, `d` a depth map
//! normalised to [0, 1], `A` the atmospheric light in [0, 1] and `I` rounded to u8.
//! The authors use depth maps estimated from each photo; none ships with `cem`, so
//! `d` here is a smooth random field from the seed: `0.5 + 0.5 * sum_i a_i cos(2 pi
//! (f_i . p) + phi_i) / sum_i a_i` over four waves of at most 1.5 cycles per image
//! side (`p` the pixel centre in image fractions). Every pixel depends only on its own
//! value and position, so an intervention changes only its cell. Defaults: see
//! [`super::task_options`].

use super::{check_patch, Degradation, PatchSite};
use crate::error::{Error, Result};
use ::image::RgbImage;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Haze with atmospheric light `airlight`, scattering `beta` and a seeded depth map.
///
/// ```
/// use cem::prelude::*;
/// use cem::degrade::Haze;
/// let black = RgbImage::new(32, 32);
/// let hazy = Haze::new(0.9, 1.8, 0)?.degrade(&black)?;
/// // black turns towards the airlight (0.9 * 255 at most) where the scene is far
/// assert!(hazy.pixels().all(|p| p[0] <= 230) && hazy.pixels().any(|p| p[0] > 50));
/// # Ok::<(), cem::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Haze {
    airlight: f64,
    beta: f64,
    seed: u64,
    /// (fx, fy, phase, amplitude) of each wave.
    waves: Vec<[f64; 4]>,
}

impl Haze {
    /// Haze with `airlight` in [0, 1] and `beta` >= 0 (finite), depth map from `seed`.
    pub fn new(airlight: f64, beta: f64, seed: u64) -> Result<Self> {
        if !(0.0..=1.0).contains(&airlight) {
            return Err(Error::invalid(
                "haze airlight",
                airlight,
                "must be in [0, 1]",
            ));
        }
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(Error::invalid(
                "haze beta",
                beta,
                "must be a finite non-negative number",
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6861_7a65);
        let waves = (0..4)
            .map(|_| {
                [
                    rng.gen_range(-1.5..1.5),
                    rng.gen_range(-1.5..1.5),
                    rng.gen_range(0.0..std::f64::consts::TAU),
                    rng.gen_range(0.5..1.0),
                ]
            })
            .collect();
        Ok(Haze {
            airlight,
            beta,
            seed,
            waves,
        })
    }

    /// The depth in [0, 1] at pixel `(x, y)` of a `w x h` image.
    pub fn depth(&self, x: u32, y: u32, w: u32, h: u32) -> f64 {
        let (u, v) = ((x as f64 + 0.5) / w as f64, (y as f64 + 0.5) / h as f64);
        let (mut s, mut total) = (0.0, 0.0);
        for [fx, fy, phase, amp] in &self.waves {
            s += amp * (std::f64::consts::TAU * (fx * u + fy * v) + phase).cos();
            total += amp;
        }
        0.5 + 0.5 * s / total
    }

    /// Hazes `img`, whose top-left is `(x0, y0)` in a `w x h` image.
    fn apply(&self, img: &RgbImage, x0: u32, y0: u32, w: u32, h: u32) -> RgbImage {
        let a = self.airlight * 255.0;
        let mut out = img.clone();
        for (x, y, p) in out.enumerate_pixels_mut() {
            let t = (-self.beta * self.depth(x0 + x, y0 + y, w, h)).exp();
            for c in p.0.iter_mut() {
                let v = *c as f64 * t + a * (1.0 - t);
                *c = v.clamp(0.0, 255.0).round_ties_even() as u8;
            }
        }
        out
    }
}

impl Degradation for Haze {
    fn name(&self) -> String {
        "haze".into()
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        Ok(self.apply(hr, 0, 0, hr.width(), hr.height()))
    }

    fn degrade_patch(
        &self,
        patch: &RgbImage,
        at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        check_patch(patch, "haze")?;
        Ok(self.apply(patch, at.x, at.y, at.image_width, at.image_height))
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "haze", "airlight": self.airlight, "beta": self.beta, "seed": self.seed,
            "depth": "smooth random field (4 waves) from the seed", "rounding": "nearest",
        })
    }
}
