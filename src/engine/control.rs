//! Control variates for the adaptive strategy (`adaptive-cv`).
//!
//! A cell's effect varies from draw to draw mostly with *what* was pasted: a bright patch
//! next to a dark ROI moves its PSNR differently from a dark one. That part of the
//! variance can be taken out. Each intervention carries [`FEATURES`] cheap numbers, the
//! mean of each colour channel of the degraded region it writes (computed on the host
//! from the same draw, no model call), and their expectation over the sampling
//! distribution is known to any precision without the model: [`control_mean`] draws
//! [`CONTROL_DRAWS`] interventions of the cell on the host. The regression estimator
//!
//! `mean(e) - beta' (mean(z) - E[z])`, `beta` the least-squares slope of `e` on `z`,
//!
//! estimates the same expected effect as the plain mean, with variance `(1 - R^2)` times
//! the plain mean's (times `1 + p / (n - p - 2)` for estimating `beta` from the cell's
//! own `n` draws). On the authors' DnCNN (demo_2, eight cells beside the ROI) the channel
//! means explain 12-69 % of an effect's variance (`R^2`, cross-validated;
//! `scripts/cv_features.py`).
//!
//! [`Regression`] keeps the running co-moments (Welford's update), so a cell's estimate
//! is a pure function of its draws in order, like the plain mean. Below
//! [`MIN_DRAWS`] draws, when the features do not vary (a singular fit), or when the
//! fit's expected variance is not below the plain mean's, the cell keeps the plain mean.
//!
//! ```
//! use cem::engine::Regression;
//! // effects that follow the first feature exactly, plus a constant
//! let mut r = Regression::default();
//! for k in 0..12 {
//!     let z = [k as f64, (k * k % 7) as f64, (k % 3) as f64];
//!     r.push(0.5 * z[0] + 0.1, z);
//! }
//! // with E[z] known, the estimate is exact: 0.5 * 4 + 0.1 (not the sample mean 2.85)
//! let (mean, sd) = r.estimate(&[4.0, 3.0, 1.0]).unwrap();
//! assert!((mean - 2.1).abs() < 1e-9 && sd < 1e-6);
//! ```

/// How many features each intervention carries: the mean of each colour channel of
/// the degraded region it writes.
pub const FEATURES: usize = 3;

/// One intervention's features.
pub type Features = [f64; FEATURES];

/// Fewest draws a cell needs before its regression is used (`p + 4` for `p` features,
/// so that the slope's inflation `1 + p / (n - p - 2)` is finite; the adaptive
/// strategy's warm-up of 8 draws reaches it).
pub const MIN_DRAWS: u32 = FEATURES as u32 + 4;

/// Host-side draws per cell that estimate its features' expectation. Their sampling
/// error adds `R^2 sigma^2 / 4096` to a cell's variance: negligible beside the
/// `(1 - R^2) sigma^2 / n` of its `n` model draws.
pub const CONTROL_DRAWS: u32 = 4096;

/// Running co-moments of an effect `y` and its features `z` (Welford's update).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Regression {
    n: u32,
    mean_y: f64,
    mean_z: Features,
    cyy: f64,
    czy: Features,
    czz: [Features; FEATURES],
}

impl Regression {
    /// Adds one draw.
    pub fn push(&mut self, y: f64, z: Features) {
        self.n += 1;
        let n = self.n as f64;
        let dy = y - self.mean_y;
        let dz: Features = std::array::from_fn(|j| z[j] - self.mean_z[j]);
        self.mean_y += dy / n;
        for (m, d) in self.mean_z.iter_mut().zip(&dz) {
            *m += d / n;
        }
        let ry = y - self.mean_y;
        let rz: Features = std::array::from_fn(|k| z[k] - self.mean_z[k]);
        self.cyy += dy * ry;
        for ((czy, row), d) in self.czy.iter_mut().zip(&mut self.czz).zip(&dz) {
            *czy += d * ry;
            for (c, r) in row.iter_mut().zip(&rz) {
                *c += d * r;
            }
        }
    }

    /// Draws so far.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// The regression estimate of the mean effect given the features' expectation
    /// `mu`, and the per-draw standard deviation that gives its standard error (the
    /// residual spread, inflated by `sqrt(1 + p / (n - p - 2))` for the fitted slope):
    /// `None` below [`MIN_DRAWS`] draws or when the features hardly vary.
    pub fn estimate(&self, mu: &Features) -> Option<(f64, f64)> {
        if self.n < MIN_DRAWS {
            return None;
        }
        let beta = solve_spd(&self.czz, &self.czy)?;
        let explained: f64 = (0..FEATURES).map(|j| beta[j] * self.czy[j]).sum();
        let p = FEATURES as f64;
        let n = self.n as f64;
        let residual = ((self.cyy - explained).max(0.0) / (n - p - 1.0)).sqrt();
        let sd = residual * (1.0 + p / (n - p - 2.0)).sqrt();
        let shift: f64 = (0..FEATURES)
            .map(|j| beta[j] * (self.mean_z[j] - mu[j]))
            .sum();
        Some((self.mean_y - shift, sd))
    }
}

/// Solves `a x = b` for a symmetric positive definite 3x3 `a` (Cholesky); `None` when
/// `a` is singular to working precision (a feature that does not vary).
fn solve_spd(a: &[Features; FEATURES], b: &Features) -> Option<Features> {
    let scale: f64 = (0..FEATURES).map(|j| a[j][j]).sum::<f64>() / FEATURES as f64;
    if !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    let mut l = [[0.0; FEATURES]; FEATURES];
    for i in 0..FEATURES {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s <= 1e-9 * scale {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut y = [0.0; FEATURES];
    for i in 0..FEATURES {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; FEATURES];
    for i in (0..FEATURES).rev() {
        x[i] = (y[i] - (i + 1..FEATURES).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

/// The features of a degraded region (`[h, w, 3]` u8, row-major RGB): each channel's mean.
pub(crate) fn features_of(pixels: &[u8]) -> Features {
    let mut sum = [0u64; FEATURES];
    for px in pixels.chunks_exact(FEATURES) {
        for j in 0..FEATURES {
            sum[j] += px[j] as u64;
        }
    }
    let count = (pixels.len() / FEATURES).max(1) as f64;
    sum.map(|s| s as f64 / count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_solver_inverts_a_known_system() {
        let a = [[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let x = [1.0, -2.0, 0.5];
        let b = [0, 1, 2].map(|i| (0..3).map(|k| a[i][k] * x[k]).sum::<f64>());
        let got = solve_spd(&a, &b).unwrap();
        for k in 0..3 {
            assert!((got[k] - x[k]).abs() < 1e-12, "{got:?}");
        }
        // a feature that never varies: no fit
        assert!(solve_spd(&[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], &b).is_none());
    }

    #[test]
    fn the_comoments_equal_a_batch_least_squares_fit() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut r = Regression::default();
        let mut rows = vec![];
        for _ in 0..40 {
            let z = [
                rng.gen_range(0.0..255.0),
                rng.gen_range(0.0..255.0),
                rng.gen_range(0.0..255.0),
            ];
            let y = 0.01 * z[0] - 0.02 * z[2] + rng.gen_range(-0.5..0.5);
            r.push(y, z);
            rows.push((y, z));
        }
        // batch: centred normal equations
        let n = rows.len() as f64;
        let my = rows.iter().map(|r| r.0).sum::<f64>() / n;
        let mz = [0, 1, 2].map(|j| rows.iter().map(|r| r.1[j]).sum::<f64>() / n);
        let czz = [0, 1, 2].map(|j| {
            [0, 1, 2].map(|k| {
                rows.iter()
                    .map(|r| (r.1[j] - mz[j]) * (r.1[k] - mz[k]))
                    .sum()
            })
        });
        let czy = [0, 1, 2].map(|j| rows.iter().map(|r| (r.1[j] - mz[j]) * (r.0 - my)).sum());
        let beta = solve_spd(&czz, &czy).unwrap();
        let mu = [127.5, 127.5, 127.5];
        let want = my - (0..3).map(|j| beta[j] * (mz[j] - mu[j])).sum::<f64>();
        let (got, sd) = r.estimate(&mu).unwrap();
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        // the residual is uniform on (-0.5, 0.5): sd 0.289, inflated a little
        assert!(sd > 0.2 && sd < 0.4, "{sd}");
    }

    #[test]
    fn the_estimator_is_unbiased_and_tighter_when_features_explain_the_effect() {
        // y = f(z) + noise with E[z] known: over many replications the regression
        // estimate centres on E[y] with a smaller spread than the plain mean
        let mu = [100.0, 110.0, 90.0];
        let (mut plain, mut cv) = (vec![], vec![]);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2000 {
            let mut r = Regression::default();
            let mut sum = 0.0;
            for _ in 0..20 {
                let base: f64 = rng.gen_range(-40.0..40.0);
                let z = [
                    mu[0] + base,
                    mu[1] + base * 0.9 + rng.gen_range(-5.0..5.0),
                    mu[2] + rng.gen_range(-30.0..30.0),
                ];
                let y = 0.002 * (z[0] - mu[0]) + rng.gen_range(-0.03..0.03) + 0.05;
                r.push(y, z);
                sum += y;
            }
            plain.push(sum / 20.0);
            cv.push(r.estimate(&mu).unwrap().0);
        }
        let stats = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (
                m,
                (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt(),
            )
        };
        let ((mp, sp), (mc, sc)) = (stats(&plain), stats(&cv));
        assert!(
            (mp - 0.05).abs() < 0.002 && (mc - 0.05).abs() < 0.002,
            "{mp} {mc}"
        );
        assert!(sc < 0.5 * sp, "regression sd {sc} against plain {sp}");
    }

    #[test]
    fn features_are_channel_means() {
        let px = [10u8, 20, 30, 30, 40, 50];
        assert_eq!(features_of(&px), [20.0, 30.0, 40.0]);
    }

    #[test]
    fn too_few_draws_give_no_estimate() {
        let mut r = Regression::default();
        for k in 0..MIN_DRAWS - 1 {
            r.push(k as f64, [k as f64, (k % 3) as f64, (k % 2) as f64]);
        }
        assert!(r.estimate(&[0.0; 3]).is_none());
    }
}
