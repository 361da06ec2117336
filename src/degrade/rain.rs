//! Deraining: the synthetic rain-streak layer of the reference ("medium" setting).
//!
//! One rain layer `L` per image, from a seed: sparse uniform noise, a 3x3 spreading
//! filter, a streak kernel (a rotated diagonal line, Gaussian-blurred) and a min-max
//! normalisation to u8. The rainy input is `saturate_u8(I_hr + beta * L)`. An
//! intervention writes the clean patch into the clean image and re-applies the same
//! layer, which only changes that cell: `saturate_u8(patch + beta * L[cell])`.

use super::{check_patch, Degradation, PatchSite};
use crate::error::{Error, Result};
use ::image::RgbImage;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The random settings of one rain layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RainParams {
    /// Fraction of noise pixels kept as streak seeds, in [0.005, 0.007].
    pub amount: f64,
    /// Streak width: 3, 5 or 7 (probabilities 0.25, 0.5, 0.25).
    pub width: u32,
    /// Streak length in pixels, integer in [35, 45].
    pub length: u32,
    /// Streak angle from vertical in degrees, integer in [-30, 30].
    pub angle: i32,
    /// Blending weight of the layer, in [0.6, 1.0].
    pub beta: f64,
}

impl RainParams {
    /// Draws the "medium" setting.
    pub fn medium(rng: &mut impl Rng) -> Self {
        let amount = rng.gen_range(0.005..0.007);
        let width = match rng.gen::<f64>() {
            u if u < 0.25 => 3,
            u if u < 0.75 => 5,
            _ => 7,
        };
        let length = rng.gen_range(35..=45);
        let angle = rng.gen_range(-30..=30);
        let beta = rng.gen_range(0.6..1.0);
        RainParams {
            amount,
            width,
            length,
            angle,
            beta,
        }
    }
}

/// A single-channel rain layer `L` (u8, row-major).
#[derive(Debug, Clone)]
pub struct RainLayer {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The values.
    pub values: Vec<u8>,
}

/// Synthetic rain, one layer per image, seeded.
#[derive(Debug)]
pub struct Rain {
    seed: u64,
    params: RainParams,
    layers: Mutex<HashMap<(u32, u32), Arc<RainLayer>>>,
}

impl Rain {
    /// The paper's "medium" rain, its settings and noise drawn from `seed`.
    pub fn medium(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let params = RainParams::medium(&mut rng);
        Rain {
            seed,
            params,
            layers: Mutex::new(HashMap::new()),
        }
    }

    /// The settings drawn for this seed.
    pub fn params(&self) -> RainParams {
        self.params
    }

    /// The rain layer for a `width` x `height` image (computed once, then cached).
    pub fn layer(&self, width: u32, height: u32) -> Arc<RainLayer> {
        let mut cache = self.layers.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry((width, height))
            .or_insert_with(|| Arc::new(make_layer(&self.params, self.seed, width, height)))
            .clone()
    }

    fn blend(&self, clean: &RgbImage, layer: &RainLayer, x0: u32, y0: u32) -> RgbImage {
        let beta = self.params.beta;
        let mut out = clean.clone();
        for (x, y, p) in out.enumerate_pixels_mut() {
            let l = layer.values[((y0 + y) * layer.width + x0 + x) as usize] as f64;
            for c in p.0.iter_mut() {
                *c = (*c as f64 + beta * l).clamp(0.0, 255.0) as u8;
            }
        }
        out
    }
}

impl Degradation for Rain {
    fn name(&self) -> String {
        "dr".into()
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        let layer = self.layer(hr.width(), hr.height());
        Ok(self.blend(hr, &layer, 0, 0))
    }

    fn degrade_patch(
        &self,
        patch: &RgbImage,
        at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        check_patch(patch, "DR")?;
        if at.x + patch.width() > at.image_width || at.y + patch.height() > at.image_height {
            return Err(Error::invalid(
                "patch site",
                format!("x={} y={}", at.x, at.y),
                format!(
                    "a {}px patch must lie inside the {}x{} image",
                    patch.width(),
                    at.image_width,
                    at.image_height
                ),
            ));
        }
        let layer = self.layer(at.image_width, at.image_height);
        Ok(self.blend(patch, &layer, at.x, at.y))
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({"name": "dr", "setting": "medium", "seed": self.seed, "params": self.params})
    }
}

/// OpenCV's default border (BORDER_REFLECT_101): `-1 -> 1`, `n -> n-2`.
fn reflect101(i: i64, n: i64) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let mut i = i.rem_euclid(period);
    if i >= n {
        i = period - i;
    }
    i as usize
}

/// `cv2.filter2D` (correlation, anchor at the kernel centre, BORDER_REFLECT_101) of
/// a sparse single-channel image: each non-zero input scatters the kernel.
fn filter2d_sparse(img: &[f64], w: usize, h: usize, k: &[f64], kw: usize, kh: usize) -> Vec<f64> {
    let (ax, ay) = ((kw / 2) as i64, (kh / 2) as i64);
    let mut out = vec![0.0; w * h];
    // out[y][x] = sum_{i,j} k[i][j] * in[refl(y + i - ay)][refl(x + j - ax)]
    // For every output pixel's window, an input pixel appears once per matching
    // (i, j); iterate over padded positions that map to non-zero inputs.
    let nonzero: Vec<(usize, usize, f64)> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| img[y * w + x] != 0.0)
        .map(|(x, y)| (x, y, img[y * w + x]))
        .collect();
    if nonzero.is_empty() {
        return out;
    }
    let mut is_nonzero = vec![false; w * h];
    for &(x, y, _) in &nonzero {
        is_nonzero[y * w + x] = true;
    }
    // Padded coordinates py in [-ay, h + kh - ay), px likewise.
    for py in -ay..(h as i64 + kh as i64 - ay) {
        let sy = reflect101(py, h as i64);
        for px in -ax..(w as i64 + kw as i64 - ax) {
            let sx = reflect101(px, w as i64);
            if !is_nonzero[sy * w + sx] {
                continue;
            }
            let v = img[sy * w + sx];
            // py = y + i - ay  =>  y = py - i + ay
            for i in 0..kh {
                let y = py - i as i64 + ay;
                if y < 0 || y >= h as i64 {
                    continue;
                }
                for j in 0..kw {
                    let x = px - j as i64 + ax;
                    if x < 0 || x >= w as i64 {
                        continue;
                    }
                    out[y as usize * w + x as usize] += k[i * kw + j] * v;
                }
            }
        }
    }
    out
}

/// The streak kernel: a `length x length` identity matrix rotated about its centre by
/// `angle - 45` degrees (bilinear `warpAffine`, zero border), then Gaussian-blurred
/// with a `width x width` kernel (OpenCV's fixed kernels for sigma 0).
fn streak_kernel(length: u32, angle: i32, width: u32) -> Vec<f64> {
    let n = length as usize;
    let theta = ((angle - 45) as f64).to_radians();
    let (alpha, beta) = (theta.cos(), theta.sin());
    let (cx, cy) = (n as f64 / 2.0, n as f64 / 2.0);
    // Forward map M = [[a, b, (1-a)cx - b cy], [-b, a, b cx + (1-a) cy]]; sample the
    // source at M^-1 (x, y), which is a rotation by -theta about the centre.
    let mut rotated = vec![0.0; n * n];
    for y in 0..n {
        for x in 0..n {
            let (dx, dy) = (x as f64 - cx, y as f64 - cy);
            let sx = alpha * dx - beta * dy + cx;
            let sy = beta * dx + alpha * dy + cy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let diag = |xi: f64, yi: f64| -> f64 {
                if xi < 0.0 || yi < 0.0 || xi >= n as f64 || yi >= n as f64 {
                    0.0
                } else if xi == yi {
                    1.0
                } else {
                    0.0
                }
            };
            rotated[y * n + x] = diag(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + diag(x0 + 1.0, y0) * fx * (1.0 - fy)
                + diag(x0, y0 + 1.0) * (1.0 - fx) * fy
                + diag(x0 + 1.0, y0 + 1.0) * fx * fy;
        }
    }
    let g: &[f64] = match width {
        3 => &[0.25, 0.5, 0.25],
        5 => &[0.0625, 0.25, 0.375, 0.25, 0.0625],
        _ => &[
            0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125,
        ],
    };
    let r = (g.len() / 2) as i64;
    let blur = |src: &[f64], horizontal: bool| -> Vec<f64> {
        let mut out = vec![0.0; n * n];
        for y in 0..n {
            for x in 0..n {
                out[y * n + x] = g
                    .iter()
                    .enumerate()
                    .map(|(k, &gk)| {
                        let o = k as i64 - r;
                        let (sx, sy) = if horizontal {
                            (reflect101(x as i64 + o, n as i64), y)
                        } else {
                            (x, reflect101(y as i64 + o, n as i64))
                        };
                        gk * src[sy * n + sx]
                    })
                    .sum();
            }
        }
        out
    };
    blur(&blur(&rotated, true), false)
}

fn make_layer(p: &RainParams, seed: u64, width: u32, height: u32) -> RainLayer {
    let (w, h) = (width as usize, height as usize);
    // A separate stream from the one the settings were drawn from.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    let threshold = 256.0 * (1.0 - p.amount);
    let noise: Vec<f64> = (0..w * h)
        .map(|_| {
            let v: f64 = rng.gen_range(0.0..256.0);
            if v >= threshold {
                v
            } else {
                0.0
            }
        })
        .collect();
    let spread = [0.0, 0.1, 0.0, 0.1, 8.0, 0.1, 0.0, 0.1, 0.0];
    let noise = filter2d_sparse(&noise, w, h, &spread, 3, 3);
    let n = p.length as usize;
    let kernel = streak_kernel(p.length, p.angle, p.width);
    let streaks = filter2d_sparse(&noise, w, h, &kernel, n, n);
    let (lo, hi) = streaks
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
    let values = streaks
        .iter()
        .map(|&v| ((v - lo) * scale).clamp(0.0, 255.0) as u8)
        .collect();
    RainLayer {
        width,
        height,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect101_matches_opencv() {
        let n = 5;
        let got: Vec<usize> = (-3..8).map(|i| reflect101(i, n)).collect();
        assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
    }

    #[test]
    fn sparse_filter_equals_dense_correlation() {
        let (w, h) = (9, 7);
        let mut img = vec![0.0; w * h];
        img[0] = 2.0;
        img[3 * w + 4] = 1.0;
        img[h * w - 1] = 5.0;
        let k: Vec<f64> = (0..15).map(|i| i as f64 * 0.1 - 0.3).collect();
        let (kw, kh) = (5, 3);
        let got = filter2d_sparse(&img, w, h, &k, kw, kh);
        for y in 0..h {
            for x in 0..w {
                let mut s = 0.0;
                for i in 0..kh {
                    for j in 0..kw {
                        let sy = reflect101(y as i64 + i as i64 - 1, h as i64);
                        let sx = reflect101(x as i64 + j as i64 - 2, w as i64);
                        s += k[i * kw + j] * img[sy * w + sx];
                    }
                }
                assert!((got[y * w + x] - s).abs() < 1e-12, "({x},{y})");
            }
        }
    }

    #[test]
    fn vertical_streak_kernel_at_angle_zero() {
        let k = streak_kernel(35, 0, 3);
        let n = 35;
        // the line x = 17.5 through the centre: all mass within two columns of it
        let near: f64 = (0..n)
            .flat_map(|y| (16..20).map(move |x| (y, x)))
            .map(|(y, x)| k[y * n + x])
            .sum();
        let total: f64 = k.iter().sum();
        assert!(near / total > 0.99, "{near} of {total}");
        // at 30 degrees the line leans: top half left of centre for positive angles
        let k = streak_kernel(35, 30, 3);
        let mass_x = |rows: std::ops::Range<usize>| -> f64 {
            let (m, w) = rows
                .flat_map(|y| (0..n).map(move |x| (y, x)))
                .fold((0.0, 0.0), |(m, w), (y, x)| {
                    (m + k[y * n + x] * x as f64, w + k[y * n + x])
                });
            m / w
        };
        assert!(
            mass_x(0..12) < 15.0 && mass_x(23..35) > 20.0,
            "{} {}",
            mass_x(0..12),
            mass_x(23..35)
        );
    }
}
