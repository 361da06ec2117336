//! Black-box locality: find the smallest block-aligned crop around the ROI on which
//! the model's u8 ROI output is exactly what it is on the whole input, so every
//! intervention can run on the crop (cells outside have exactly zero effect).
//!
//! A margin of `k` cells passes when, in u8 after rounding,
//! 1. the ROI output of the crop equals the ROI output of the whole original input
//!    (the crop's artificial border does not reach the ROI), and
//! 2. for `checks` interventions placed on random cells of the ring just outside the
//!    crop (random library patches carrying the degradation, seeded), the ROI output
//!    of the whole intervened input is still that same output (nothing outside the
//!    crop reaches the ROI).
//!
//! Why a few interventions suffice: natural patches differ from the content they
//! replace by tens of grey levels, so a real dependency moves some of the ROI's
//! `3 x size^2` rounded values; the ring is where a receptive-field leak is strongest;
//! a global term (global pooling, attention over the whole image) moves every ROI
//! value, so a single intervention already flips some rounding. `k` grows 1, 2, 4, ...
//! until a margin passes, then the smallest passing margin is found by bisection;
//! when the crop would be the whole image the model is global.

use super::grid::{intervention_seed, Grid};
use super::runner::{intervention, write_patch};
use crate::degrade::Degradation;
use crate::error::Result;
use crate::image::{quantize_u8, raw_to_tensor, Roi};
use crate::library::{Library, Sampling};
use crate::model::Model;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::{Kind, Tensor};

/// Default number of outside interventions per tried margin.
pub const DEFAULT_CHECKS: usize = 8;

/// A cell-aligned rectangle of the input, in input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// One tried margin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Margin in cells around the ROI's cells.
    pub cells: u32,
    /// Whether both conditions held.
    pub passed: bool,
    /// Why it failed, if it did.
    pub reason: String,
}

/// What the check found; stored in the map's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locality {
    /// Whether the model is local at some margin smaller than the image.
    pub local: bool,
    /// The crop interventions run on (input pixels), when local.
    pub crop: Option<Region>,
    /// The margin in cells around the ROI's cells, when local.
    pub margin_cells: Option<u32>,
    /// The same margin in input pixels.
    pub margin_px: Option<u32>,
    /// Outside interventions tried per margin.
    pub checks: usize,
    /// Every margin tried, in order.
    pub trials: Vec<Trial>,
    /// Model inferences the check used.
    pub inferences: usize,
    /// Seconds the check took.
    pub seconds: f64,
}

pub(crate) struct Probe<'a> {
    pub model: &'a dyn Model,
    pub degradation: &'a dyn Degradation,
    /// The clean ground truth (degradations with a halo paste patches into it).
    pub hr: &'a ::image::RgbImage,
    pub library: &'a Library,
    pub grid: &'a Grid,
    pub roi: Roi,
    pub base: &'a Tensor,
    pub scale: u32,
    pub seed: u64,
    pub checks: usize,
    /// Crop sides must be multiples of this many input pixels (e.g. a window size).
    pub multiple: u32,
}

/// Rounded ROI of `[N, 3, H, W]` outputs whose top-left is `(ox, oy)` in output pixels.
fn roi_u8(out: &Tensor, roi: Roi, ox: u32, oy: u32) -> Result<Tensor> {
    let s = roi.size as i64;
    Ok(quantize_u8(
        &out.f_narrow(2, (roi.y - oy) as i64, s)?
            .f_narrow(3, (roi.x - ox) as i64, s)?,
    ))
}

impl Probe<'_> {
    /// Rows and columns of cells (inclusive) covered by margin `k` around the ROI's cells.
    fn cell_box(&self, k: u32) -> (u32, u32, u32, u32) {
        let g = self.grid;
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
        let b = self.grid.block_in;
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
        let b = self.grid.block_in;
        Region {
            x: c0 * b,
            y: r0 * b,
            width: (c1 - c0 + 1) * b,
            height: (r1 - r0 + 1) * b,
        }
    }

    fn covers_all(&self, k: u32) -> bool {
        let r = self.region(k);
        r.width == self.grid.cols * self.grid.block_in
            && r.height == self.grid.rows * self.grid.block_in
    }

    /// Tries margin `k`: returns the failure reason, if any, and the inferences used.
    fn try_margin(&self, k: u32, full_roi: &Tensor) -> Result<(Option<String>, usize)> {
        let r = self.region(k);
        let s = self.scale;
        let crop = self
            .base
            .narrow(2, r.y as i64, r.height as i64)
            .narrow(3, r.x as i64, r.width as i64)
            .contiguous();
        let out = match self.model.forward(&crop) {
            Ok(o) if o.size() == [1, 3, (r.height * s) as i64, (r.width * s) as i64] => o,
            Ok(o) => {
                return Ok((
                    Some(format!("the crop gave an output of shape {:?}", o.size())),
                    1,
                ))
            }
            Err(e) => return Ok((Some(format!("the model failed on the crop: {e}")), 1)),
        };
        let crop_roi = roi_u8(&out.to_kind(Kind::Float), self.roi, r.x * s, r.y * s)?;
        if !bool::try_from(crop_roi.eq_tensor(full_roi).all())? {
            return Ok((
                Some("the crop's ROI output differs from the whole image's".into()),
                1,
            ));
        }
        // the ring of cells just outside the crop
        let (r0, r1, c0, c1) = self.cell_box(k);
        let g = self.grid;
        let ring: Vec<u32> = (0..g.len())
            .filter(|&i| {
                let (row, col) = (i / g.cols, i % g.cols);
                let inside = (r0..=r1).contains(&row) && (c0..=c1).contains(&col);
                let near = row + 1 >= r0 && row <= r1 + 1 && col + 1 >= c0 && col <= c1 + 1;
                near && !inside
            })
            .collect();
        if ring.is_empty() {
            return Ok((None, 1));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(intervention_seed(self.seed, 3, k, 0));
        let batch = self.base.repeat([self.checks as i64, 1, 1, 1]);
        for n in 0..self.checks {
            let cell = ring[rng.gen_range(0..ring.len())];
            let idx = self.library.sample(Sampling::Uniform, &mut rng);
            let clean = &self.library.patches()[idx].pixels;
            let p = intervention(self.degradation, self.hr, g, clean, cell, &mut rng)?;
            let (w, h) = p.pixels.dimensions();
            let t = raw_to_tensor(p.pixels.as_raw(), 1, h, w, self.base.device());
            write_patch(&batch, n, (p.x, p.y), (0, 0), &t.get(0))?;
        }
        let out = self.model.forward(&batch)?.to_kind(Kind::Float);
        let outs = roi_u8(&out, self.roi, 0, 0)?;
        let same = outs.eq_tensor(&full_roi.expand_as(&outs)).all();
        let used = 1 + self.checks;
        if !bool::try_from(same)? {
            return Ok((
                Some("an intervention just outside the crop changed the ROI output".into()),
                used,
            ));
        }
        Ok((None, used))
    }

    /// Runs the search; `full_out` is the model's output on the whole original input.
    pub fn detect(&self, full_out: &Tensor) -> Result<Locality> {
        let start = Instant::now();
        let full_roi = roi_u8(full_out, self.roi, 0, 0)?;
        let mut trials = Vec::new();
        let mut inferences = 0;
        let mut attempt = |k: u32, trials: &mut Vec<Trial>| -> Result<bool> {
            let (fail, used) = self.try_margin(k, &full_roi)?;
            inferences += used;
            trials.push(Trial {
                cells: k,
                passed: fail.is_none(),
                reason: fail.clone().unwrap_or_default(),
            });
            Ok(fail.is_none())
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
            margin_px: hi.map(|k| k * self.grid.block_in),
            checks: self.checks,
            trials,
            inferences,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}
