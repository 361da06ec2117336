//! Black-box locality: find the smallest block-aligned crop around the ROI on which
//! the model's ROI output is what it is on the whole input, so every intervention can
//! run on the crop (cells outside have exactly zero effect).
//!
//! A margin of `k` cells passes when, with outputs compared as floats in u8 levels
//! (clamped to [0, 1], times 255, before rounding) up to a tolerance `tol`,
//! 1. the ROI output of the crop equals the ROI output of the whole original input
//!    (the crop's artificial border does not reach the ROI), and
//! 2. for `checks` interventions placed on random cells of the ring just outside the
//!    crop (random library patches carrying the degradation, seeded), the ROI output
//!    of the whole intervened input is still that same output (nothing outside the
//!    crop reaches the ROI).
//!
//! Why a tolerance: a convolution on a smaller input may sum in another order, so a
//! local model's crop output differs from its whole-image output by float rounding
//! (about 1e-4 u8 levels for a 10-layer CNN); where a value lies that close to a
//! rounding boundary its u8 value flips, and an exact u8 comparison called such a
//! model global. `tol` is the larger of [`ROUNDING_FLOOR`] and 8 times the model's own
//! run-to-run noise, measured first by running the unchanged input again (in a batch,
//! as the interventions run). A flip whose float values differ by less than `tol` is
//! explained by rounding alone; the trials record the largest difference and the u8
//! flips seen, for inspection.
//!
//! Why a few interventions suffice: natural patches differ from the content they
//! replace by tens of grey levels, so a real dependency moves some ROI values by far
//! more than rounding; the ring is where a receptive-field leak is strongest; a global
//! term (global pooling, attention over the whole image) moves every ROI value. `k`
//! grows 1, 2, 4, ... until a margin passes, then the smallest passing margin is found
//! by bisection; when the crop would be the whole image the model is global.

use super::context::Context;
use super::grid::{intervention_seed, Grid};
use super::runner::{intervention, write_patch};
use crate::error::Result;
use crate::image::{raw_to_tensor, Roi};
use crate::library::Sampling;
pub use crate::map::{Locality, Region, Trial};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;
use tch::{Kind, Tensor};

/// Default number of outside interventions per tried margin.
pub const DEFAULT_CHECKS: usize = 8;

/// The least tolerance, in u8 levels, below which two float outputs count as equal
/// (float rounding of a deep network on differently sized inputs stays far below it;
/// a change this small moves a u8 value in at most ~2% of pixels, by one level).
pub const ROUNDING_FLOOR: f64 = 0.02;

/// The locality check of one run.
pub(crate) struct Probe<'a> {
    pub ctx: Context<'a>,
    pub roi: Roi,
    /// The whole degraded input on the device, `[1, 3, h, w]`.
    pub base: &'a Tensor,
    /// Outside interventions per tried margin.
    pub checks: usize,
    /// Crop sides must be multiples of this many input pixels (e.g. a window size).
    pub multiple: u32,
    /// Whole inputs per model call (the run's batch size).
    pub batch_size: usize,
}

/// ROI of `[N, 3, H, W]` outputs whose top-left is `(ox, oy)` in output pixels, in u8
/// levels before rounding (clamped to [0, 255]).
fn roi_levels(out: &Tensor, roi: Roi, ox: u32, oy: u32) -> Result<Tensor> {
    let s = roi.size as i64;
    Ok(out
        .f_narrow(2, (roi.y - oy) as i64, s)?
        .f_narrow(3, (roi.x - ox) as i64, s)?
        .f_to_kind(Kind::Double)?
        .f_clamp(0.0, 1.0)?
        .f_mul_scalar(255.0)?)
}

/// Largest absolute difference of `a` from `reference` (broadcast), and how many
/// values round to another u8 value.
fn compare(a: &Tensor, reference: &Tensor) -> Result<(f64, usize)> {
    let diff = a.f_sub(reference)?.f_abs()?.f_max()?.double_value(&[]);
    let flips = a
        .f_round()?
        .f_ne_tensor(&reference.f_round()?)?
        .f_sum(Kind::Int64)?
        .int64_value(&[]) as usize;
    Ok((diff, flips))
}

/// What one tried margin found.
struct Outcome {
    fail: Option<String>,
    used: usize,
    max_diff: f64,
    flips: usize,
}

impl Probe<'_> {
    /// Rows and columns of cells (inclusive) covered by margin `k` around the ROI's cells.
    fn cell_box(&self, k: u32) -> (u32, u32, u32, u32) {
        let g = self.ctx.grid;
        let roi_cells: Vec<u32> = (0..g.len()).filter(|&i| g.is_roi(i)).collect();
        let (r0, r1) = roi_cells.iter().fold((u32::MAX, 0), |(a, b), &i| {
            (a.min(i / g.cols), b.max(i / g.cols))
        });
        let (c0, c1) = roi_cells.iter().fold((u32::MAX, 0), |(a, b), &i| {
            (a.min(i % g.cols), b.max(i % g.cols))
        });
        let (rows, cols) = self.fit(r0.saturating_sub(k), (r1 + k).min(g.rows - 1), g.rows);
        let (c0, c1) = self.fit(c0.saturating_sub(k), (c1 + k).min(g.cols - 1), g.cols);
        (rows, cols, c0, c1)
    }

    /// Widens the cell span `lo..=hi` (of `n` cells) until its side in input pixels is
    /// a multiple of `self.multiple`: first towards the end, then the start.
    fn fit(&self, mut lo: u32, mut hi: u32, n: u32) -> (u32, u32) {
        let b = self.ctx.grid.block_in;
        while !((hi - lo + 1) * b).is_multiple_of(self.multiple.max(1)) {
            if hi + 1 < n {
                hi += 1;
            } else if lo > 0 {
                lo -= 1;
            } else {
                break;
            }
        }
        (lo, hi)
    }

    fn region(&self, k: u32) -> Region {
        let (r0, r1, c0, c1) = self.cell_box(k);
        let b = self.ctx.grid.block_in;
        Region {
            x: c0 * b,
            y: r0 * b,
            width: (c1 - c0 + 1) * b,
            height: (r1 - r0 + 1) * b,
        }
    }

    fn covers_all(&self, k: u32) -> bool {
        let r = self.region(k);
        r.width == self.ctx.grid.cols * self.ctx.grid.block_in
            && r.height == self.ctx.grid.rows * self.ctx.grid.block_in
    }

    /// Tries margin `k` against the whole image's ROI output `full` with tolerance `tol`.
    fn try_margin(&self, k: u32, full: &Tensor, tol: f64) -> Result<Outcome> {
        let r = self.region(k);
        let s = self.ctx.scale;
        let crop = self
            .base
            .narrow(2, r.y as i64, r.height as i64)
            .narrow(3, r.x as i64, r.width as i64)
            .contiguous();
        let failed = |reason: String, used| Outcome {
            fail: Some(reason),
            used,
            max_diff: f64::NAN,
            flips: 0,
        };
        let out = match self.ctx.model.forward(&crop) {
            Ok(o) if o.size() == [1, 3, (r.height * s) as i64, (r.width * s) as i64] => o,
            Ok(o) => {
                return Ok(failed(
                    format!("the crop gave an output of shape {:?}", o.size()),
                    1,
                ))
            }
            Err(e) => return Ok(failed(format!("the model failed on the crop: {e}"), 1)),
        };
        let crop_roi = roi_levels(&out, self.roi, r.x * s, r.y * s)?;
        let (mut max_diff, mut flips) = compare(&crop_roi, full)?;
        let mut used = 1;
        let fail = |what: &str, d: f64, flips: usize, used| Outcome {
            fail: Some(format!(
                "{what} by up to {d:.3e} u8 levels (tolerance {tol:.3e}; {flips} u8 values flipped)"
            )),
            used,
            max_diff: d,
            flips,
        };
        if max_diff.is_nan() || max_diff > tol {
            return Ok(fail(
                "the crop's ROI output differs from the whole image's",
                max_diff,
                flips,
                used,
            ));
        }
        // the ring of cells just outside the crop
        let (r0, r1, c0, c1) = self.cell_box(k);
        let g = self.ctx.grid;
        let ring: Vec<u32> = (0..g.len())
            .filter(|&i| {
                let (row, col) = (i / g.cols, i % g.cols);
                let inside = (r0..=r1).contains(&row) && (c0..=c1).contains(&col);
                let near = row + 1 >= r0 && row <= r1 + 1 && col + 1 >= c0 && col <= c1 + 1;
                near && !inside
            })
            .collect();
        if ring.is_empty() {
            return Ok(Outcome {
                fail: None,
                used,
                max_diff,
                flips,
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(intervention_seed(self.ctx.seed, 3, k, 0));
        let per_call = self.batch_size.max(1);
        let mut n = 0;
        while n < self.checks {
            let m = per_call.min(self.checks - n);
            let batch = self.base.f_repeat([m as i64, 1, 1, 1])?;
            for j in 0..m {
                let cell = ring[rng.gen_range(0..ring.len())];
                let idx = self.ctx.library.sample(Sampling::Uniform, &mut rng);
                let clean = &self.ctx.library.patches()[idx].pixels;
                let p = intervention(self.ctx.degradation, self.ctx.hr, g, clean, cell, &mut rng)?;
                let (w, h) = p.pixels.dimensions();
                let t = raw_to_tensor(p.pixels.as_raw(), 1, h, w, self.base.device());
                write_patch(&batch, j, (p.x, p.y), (0, 0), &t.get(0))?;
            }
            let out = self.ctx.model.forward(&batch)?;
            used += m;
            let (d, f) = compare(&roi_levels(&out, self.roi, 0, 0)?, full)?;
            max_diff = max_diff.max(d);
            flips += f;
            if d.is_nan() || d > tol {
                return Ok(fail(
                    "an intervention just outside the crop changed the ROI output",
                    d,
                    flips,
                    used,
                ));
            }
            n += m;
        }
        Ok(Outcome {
            fail: None,
            used,
            max_diff,
            flips,
        })
    }

    /// The model's run-to-run noise on the ROI, in u8 levels: the unchanged input run
    /// again, as a batch of up to 2 (the interventions run batched), against `full`.
    fn noise(&self, full: &Tensor) -> Result<(f64, usize)> {
        let n = self.batch_size.clamp(1, 2);
        let out = self
            .ctx
            .model
            .forward(&self.base.f_repeat([n as i64, 1, 1, 1])?)?;
        let (d, _) = compare(&roi_levels(&out, self.roi, 0, 0)?, full)?;
        Ok((d, n))
    }

    /// Runs the search; `full_out` is the model's output on the whole original input.
    pub fn detect(&self, full_out: &Tensor) -> Result<Locality> {
        let start = Instant::now();
        let full = roi_levels(full_out, self.roi, 0, 0)?;
        let (noise, mut inferences) = self.noise(&full)?;
        let tol = if noise.is_finite() {
            ROUNDING_FLOOR.max(8.0 * noise)
        } else {
            ROUNDING_FLOOR
        };
        let mut trials = Vec::new();
        let mut attempt = |k: u32, trials: &mut Vec<Trial>| -> Result<bool> {
            let o = self.try_margin(k, &full, tol)?;
            inferences += o.used;
            trials.push(Trial {
                cells: k,
                passed: o.fail.is_none(),
                reason: o.fail.clone().unwrap_or_default(),
                max_diff_levels: o.max_diff,
                u8_flips: o.flips,
            });
            Ok(o.fail.is_none())
        };
        let (mut lo, mut hi) = (0u32, None);
        let mut k = 1;
        while !self.covers_all(k) {
            if attempt(k, &mut trials)? {
                hi = Some(k);
                break;
            }
            lo = k;
            k *= 2;
        }
        if let Some(mut pass) = hi {
            while pass - lo > 1 {
                let mid = (lo + pass) / 2;
                if attempt(mid, &mut trials)? {
                    pass = mid;
                } else {
                    lo = mid;
                }
            }
            hi = Some(pass);
        }
        Ok(Locality {
            local: hi.is_some(),
            crop: hi.map(|k| self.region(k)),
            margin_cells: hi,
            margin_px: hi.map(|k| k * self.ctx.grid.block_in),
            checks: self.checks,
            trials,
            inferences,
            seconds: start.elapsed().as_secs_f64(),
            tolerance_levels: tol,
            noise_levels: noise,
        })
    }
}

/// The line printed when the check falls back to the whole image: why, and what it
/// costs (`first_stage` inferences on the whole input for the first stage alone).
pub(crate) fn fallback_line(l: &Locality, grid: &Grid, first_stage: usize) -> String {
    let why = l
        .trials
        .last()
        .map_or("no crop smaller than the image".to_string(), |t| {
            format!("margin {} cells: {}", t.cells, t.reason)
        });
    format!(
        "locality: global around the ROI ({why}); every intervention runs on the whole {}x{} input: {} inferences for the first stage (checked with {} inferences, {:.1} s)",
        grid.cols * grid.block_in,
        grid.rows * grid.block_in,
        first_stage,
        l.inferences,
        l.seconds
    )
}
