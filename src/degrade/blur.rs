//! Deblurring: an isotropic Gaussian blur, as the MIO data script makes it.
//!
//! The authors (`blur_tensor` in `data_script/add_MiO_train_degradation.py`) convolve
//! the image in [0, 1] with a normalised `kernel x kernel` isotropic Gaussian
//! (`bivariate_Gaussian`), reflect-101 padding (`filter2D`: `F.pad(mode='reflect')`),
//! and round to u8. Here the same kernel runs as two separable f64 passes in u8 units
//! (the 2-D kernel is the outer product of the normalised 1-D one), rounded to nearest
//! (ties to even, as `torch.round`). Defaults: see [`super::task_options`].

use super::region::{halo_window, needs_surroundings, paste, InputPatch};
use super::{Degradation, PatchSite};
use crate::error::{Error, Result};
use ::image::RgbImage;
use rand::RngCore;

/// Isotropic Gaussian blur with an odd `kernel` side and standard deviation `sigma`.
///
/// ```
/// use cem::prelude::*;
/// use cem::degrade::GaussianBlur;
/// let img = RgbImage::from_pixel(16, 16, image::Rgb([90, 20, 200]));
/// // a flat image stays flat
/// assert_eq!(GaussianBlur::new(7, 1.5)?.degrade(&img)?, img);
/// assert!(GaussianBlur::new(8, 1.5).is_err());
/// # Ok::<(), cem::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GaussianBlur {
    kernel: u32,
    sigma: f64,
    taps: Vec<f64>,
}

impl GaussianBlur {
    /// A blur with an odd `kernel` side (1..=101) and `sigma` > 0.
    pub fn new(kernel: u32, sigma: f64) -> Result<Self> {
        if kernel.is_multiple_of(2) || kernel > 101 {
            return Err(Error::invalid(
                "blur kernel",
                kernel,
                "must be odd and at most 101",
            ));
        }
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(Error::invalid(
                "blur sigma",
                sigma,
                "must be a finite positive number",
            ));
        }
        let r = (kernel / 2) as i64;
        let raw: Vec<f64> = (-r..=r)
            .map(|i| (-0.5 * (i * i) as f64 / (sigma * sigma)).exp())
            .collect();
        let total: f64 = raw.iter().sum();
        let taps = raw.iter().map(|v| v / total).collect();
        Ok(GaussianBlur {
            kernel,
            sigma,
            taps,
        })
    }

    /// The blurred pixels of `img` in the window `(x, y, w, h)`: exactly those of the
    /// whole blurred image there.
    fn window(&self, img: &RgbImage, (x0, y0, w, h): (u32, u32, u32, u32)) -> RgbImage {
        let (iw, ih) = (img.width() as i64, img.height() as i64);
        let r = (self.kernel / 2) as i64;
        let src = img.as_raw();
        let (x0, y0, w, h) = (x0 as i64, y0 as i64, w as usize, h as usize);
        let rows = h + 2 * r as usize;
        // horizontal pass over the rows the vertical pass needs
        let mut tmp = vec![0f64; rows * w * 3];
        for (j, yy) in (y0 - r..y0 + h as i64 + r).enumerate() {
            let sy = reflect101(yy, ih) as usize;
            for i in 0..w {
                for c in 0..3 {
                    let mut acc = 0.0;
                    for (k, t) in self.taps.iter().enumerate() {
                        let sx = reflect101(x0 + i as i64 + k as i64 - r, iw) as usize;
                        acc += t * src[(sy * iw as usize + sx) * 3 + c] as f64;
                    }
                    tmp[(j * w + i) * 3 + c] = acc;
                }
            }
        }
        let mut out = vec![0u8; w * h * 3];
        for j in 0..h {
            for i in 0..w {
                for c in 0..3 {
                    let mut acc = 0.0;
                    for (k, t) in self.taps.iter().enumerate() {
                        acc += t * tmp[((j + k) * w + i) * 3 + c];
                    }
                    out[(j * w + i) * 3 + c] = acc.clamp(0.0, 255.0).round_ties_even() as u8;
                }
            }
        }
        RgbImage::from_raw(w as u32, h as u32, out).expect("sized for the window")
    }
}

/// Index `i` reflected into `0..n` without repeating the edge (`cv2.BORDER_REFLECT_101`,
/// `F.pad(mode='reflect')`), folding as often as needed.
fn reflect101(i: i64, n: i64) -> i64 {
    if n == 1 {
        return 0;
    }
    let p = 2 * (n - 1);
    let m = i.rem_euclid(p);
    if m >= n {
        p - m
    } else {
        m
    }
}

impl Degradation for GaussianBlur {
    fn name(&self) -> String {
        "blur".into()
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        Ok(self.window(hr, (0, 0, hr.width(), hr.height())))
    }

    fn degrade_patch(
        &self,
        _patch: &RgbImage,
        _at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        Err(needs_surroundings("blur", self.halo()))
    }

    fn halo(&self) -> u32 {
        self.kernel / 2
    }

    fn degrade_region(
        &self,
        hr: &RgbImage,
        patch: &RgbImage,
        at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<InputPatch> {
        let pasted = paste(hr, patch, at)?;
        let (x, y, w, h) = halo_window((at.x, at.y), patch.width(), self.halo(), hr.dimensions());
        Ok(InputPatch {
            x,
            y,
            pixels: self.window(&pasted, (x, y, w, h)),
        })
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "name": "blur", "kernel": self.kernel, "sigma": self.sigma,
            "border": "reflect-101", "rounding": "nearest",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_and_impulse_response() {
        let idx: Vec<i64> = (-3..7).map(|i| reflect101(i, 4)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        // an impulse spreads as the normalised Gaussian (outer product)
        let mut img = RgbImage::new(9, 9);
        img.put_pixel(4, 4, ::image::Rgb([255, 255, 255]));
        let b = GaussianBlur::new(3, 1.0).unwrap();
        let out = b.degrade(&img).unwrap();
        let g1 = (-0.5f64).exp() / (1.0 + 2.0 * (-0.5f64).exp());
        let g0 = 1.0 / (1.0 + 2.0 * (-0.5f64).exp());
        assert_eq!(out.get_pixel(4, 4)[0], (255.0 * g0 * g0).round() as u8);
        assert_eq!(out.get_pixel(5, 4)[0], (255.0 * g0 * g1).round() as u8);
        assert_eq!(out.get_pixel(5, 5)[0], (255.0 * g1 * g1).round() as u8);
        assert_eq!(out.get_pixel(6, 4)[0], 0);
    }
}
