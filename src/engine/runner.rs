//! Batched evaluation of interventions on the model's device.
//!
//! For each batch: the clean library patches are degraded on the host (tiny: `B`
//! patches of `block_in^2` pixels), sent to the device, written by index into `B`
//! copies of the input already on the device, run through the model, and the ROI
//! MSE is measured there; only `B` numbers (plus a count of non-finite outputs)
//! come back. The next batch is prepared on the host while the device works on the
//! current one.

use super::context::Context;
use super::control::{features_of, Features, CONTROL_DRAWS, FEATURES};
use super::grid::{intervention_seed, Grid};
use crate::degrade::{Degradation, InputPatch};
use crate::error::{Error, Result};
use crate::image::{psnr_from_mse, raw_to_tensor, RoiMeter};
use crate::library::{Sampling, Strata};
use image::RgbImage;
use indicatif::ProgressBar;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// The seed number of the host-side draws that estimate a cell's feature expectation
/// (0-2 are the coarse, fine and full stages, 3 the locality check, 4-5 adaptive).
const CONTROL_STAGE_ID: u64 = 6;

/// The seed number of the stratum order of stratified draws (see [`Stratify`]).
const STRATA_STAGE_ID: u64 = 7;

/// Stratified draws (the adaptive strategy's `-s`): in stage `stage`, draw `t >= from`
/// of a cell takes its patch from one stratum of `strata`, uniformly within it. Draws
/// `from + b K .. from + (b+1) K` (`K` strata) visit every stratum once, in an order
/// shuffled by (seed, stage, cell, b): a cell's draws stay a function of (seed, cell,
/// draw), and every stratum is drawn equally often up to one block.
#[derive(Debug, Clone)]
pub(crate) struct Stratify {
    pub stage: u64,
    pub from: u32,
    pub strata: Arc<Strata>,
}

/// The stratum of stratified draw `u` (counted from the first stratified one).
fn stratum_of_draw(seed: u64, stage: u64, key: u32, u: u32, strata: usize) -> usize {
    let k = strata.max(1) as u32;
    let (block, j) = (u / k, u % k);
    let mut rng = ChaCha8Rng::seed_from_u64(intervention_seed(
        seed ^ stage.rotate_left(32),
        STRATA_STAGE_ID,
        key,
        block,
    ));
    let mut order: Vec<usize> = (0..k as usize).collect();
    order.shuffle(&mut rng);
    order[j as usize]
}

/// One intervention: a cell and its index within that cell's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item {
    pub cell: u32,
    pub t: u32,
}

/// Everything a stage needs to evaluate interventions.
pub(crate) struct Runner<'a> {
    pub ctx: Context<'a>,
    /// The evaluated region of the input: the whole input, or a locality crop.
    pub base: Tensor,
    /// Top-left of `base` in the input, in input pixels.
    pub origin: (u32, u32),
    pub meter: RoiMeter,
    /// Interventions per model call (halved on out-of-memory).
    pub batch_size: usize,
    pub progress: ProgressBar,
    /// Stratified draws, when a stage uses them.
    pub stratify: Option<Stratify>,
}

impl Runner<'_> {
    /// Degrades the items' patches on the host and uploads them as `[n, 3, h, w]` (the
    /// cell and the degradation's halo), with where each goes in the input.
    fn prepare(
        &self,
        stage: u64,
        sampling: Sampling,
        items: &[Item],
    ) -> Result<(Tensor, Vec<(u32, u32)>)> {
        let (w, h) = region_size(self.ctx.degradation, self.ctx.grid);
        let mut buf = Vec::with_capacity(items.len() * (w * h * 3) as usize);
        let mut at = Vec::with_capacity(items.len());
        for it in items {
            let region = self.draw(stage, sampling, *it)?;
            at.push((region.x, region.y));
            buf.extend_from_slice(region.pixels.as_raw());
        }
        Ok((
            raw_to_tensor(&buf, items.len(), h, w, self.ctx.model.device()),
            at,
        ))
    }

    /// The degraded region one intervention writes: the library patch and the
    /// degradation's randomness are functions of (seed, stage, cell, draw).
    fn draw(&self, stage: u64, sampling: Sampling, it: Item) -> Result<InputPatch> {
        let (idx, mut rng) = self.pick(stage, sampling, it);
        let clean = &self.ctx.library.patches()[idx].pixels;
        intervention(
            self.ctx.degradation,
            self.ctx.hr,
            self.ctx.grid,
            clean,
            it.cell,
            &mut rng,
        )
    }

    /// The library patch of one intervention, and its random stream after the pick
    /// (the degradation draws from it next).
    fn pick(&self, stage: u64, sampling: Sampling, it: Item) -> (usize, ChaCha8Rng) {
        let key = super::adaptive::seed_cell(stage, it.cell); // common draws: adaptive
        let mut rng = ChaCha8Rng::seed_from_u64(intervention_seed(self.ctx.seed, stage, key, it.t));
        let stratified = self
            .stratify
            .as_ref()
            .filter(|s| s.stage == stage && it.t >= s.from);
        let idx = match stratified {
            Some(s) => {
                let h = stratum_of_draw(self.ctx.seed, stage, key, it.t - s.from, s.strata.len());
                s.strata.sample_in(h, &mut rng)
            }
            None => self.ctx.library.sample(sampling, &mut rng),
        };
        (idx, rng)
    }

    /// The brightness stratum of one intervention's patch (see [`Stratify`]), whether
    /// or not it was drawn stratified.
    pub(crate) fn stratum(&self, stage: u64, sampling: Sampling, it: Item) -> usize {
        self.ctx
            .library
            .strata()
            .of(self.pick(stage, sampling, it).0)
    }

    /// The control-variate features of one intervention (see [`super::control`]),
    /// computed on the host from the same draw the model sees.
    pub(crate) fn features(&self, stage: u64, sampling: Sampling, it: Item) -> Result<Features> {
        Ok(features_of(self.draw(stage, sampling, it)?.pixels.as_raw()))
    }

    /// The expectation of a cell's features under `sampling`, from
    /// [`CONTROL_DRAWS`] host-side draws of their own seed stream (no model calls).
    pub(crate) fn control_mean(&self, sampling: Sampling, cell: u32) -> Result<Features> {
        let mut sum = [0.0; FEATURES];
        for t in 0..CONTROL_DRAWS {
            let f = self.features(CONTROL_STAGE_ID, sampling, Item { cell, t })?;
            for j in 0..FEATURES {
                sum[j] += f[j];
            }
        }
        Ok(sum.map(|s| s / CONTROL_DRAWS as f64))
    }

    /// Assembles the intervened inputs on the device and queues the model and the
    /// measurement; returns `[n + 1]` float64 on the device: n MSEs, then the number of
    /// outputs with non-finite values.
    fn launch(&self, items: &[Item], (patches, at): &(Tensor, Vec<(u32, u32)>)) -> Result<Tensor> {
        let n = items.len() as i64;
        let batch = self.base.f_repeat([n, 1, 1, 1])?;
        for (k, &a) in at.iter().enumerate() {
            write_patch(&batch, k, a, self.origin, &patches.get(k as i64))?;
        }
        let out = self.ctx.model.forward(&batch)?;
        let s = self.base.size();
        let expected = vec![
            n,
            3,
            s[2] * self.ctx.scale as i64,
            s[3] * self.ctx.scale as i64,
        ];
        if out.size() != expected {
            return Err(Error::ModelOutputShape {
                expected,
                got: out.size(),
                input: batch.size(),
                scale: self.ctx.scale,
            });
        }
        let out = out.f_to_kind(Kind::Float)?;
        // One reduction pass: a sample's sum is finite exactly when all its values are
        // (short of values near f32::MAX, which no image model outputs).
        let sums = out.f_sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Double)?;
        let bad = sums
            .f_isfinite()?
            .f_logical_not()?
            .f_sum(Kind::Double)?
            .f_reshape([1])?;
        Ok(Tensor::f_cat(&[self.meter.mse_tensor(&out)?, bad], 0)?)
    }

    fn collect(&self, pending: Tensor, first: usize) -> Result<Vec<f64>> {
        let mut v = Vec::<f64>::try_from(pending.to_device(Device::Cpu))?;
        let bad = v.pop().unwrap_or(0.0);
        if bad > 0.0 {
            return Err(Error::ModelOutputNotFinite {
                count: bad as i64,
                context: format!(
                    "outputs among interventions {}..{} of this stage",
                    first,
                    first + v.len()
                ),
            });
        }
        Ok(v.into_iter().map(psnr_from_mse).collect())
    }

    /// Evaluates `items[results.len()..]`, appending ROI PSNRs to `results` in order.
    /// `after_batch` runs after each collected batch (progress, checkpoints, stop
    /// requests); an error from it stops the stage with `results` intact.
    pub fn run_stage(
        &mut self,
        stage: u64,
        sampling: Sampling,
        items: &[Item],
        results: &mut Vec<Option<f64>>,
        mut after_batch: impl FnMut(&[Option<f64>]) -> Result<()>,
    ) -> Result<()> {
        let mut next = results.len();
        let mut pending: Option<(usize, Tensor)> = None;
        while next < items.len() || pending.is_some() {
            let mut launched = None;
            if next < items.len() {
                let n = self.batch_size.min(items.len() - next);
                let chunk = &items[next..next + n];
                let patches = self.prepare(stage, sampling, chunk)?;
                match self.launch(chunk, &patches) {
                    Ok(t) => {
                        launched = Some((next, t));
                        next += n;
                    }
                    Err(e) if is_out_of_memory(&e) && self.batch_size > 1 => {
                        self.batch_size /= 2;
                        self.progress.println(format!(
                            "out of memory: batch size lowered to {}",
                            self.batch_size
                        ));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            if let Some((first, t)) = pending.take() {
                let psnrs = self.collect(t, first)?;
                // +inf PSNR (a perfect ROI) is stored as None in checkpoints
                results.extend(psnrs.iter().map(|&p| p.is_finite().then_some(p)));
                self.progress.inc(psnrs.len() as u64);
                after_batch(results)?;
            }
            pending = launched;
        }
        Ok(())
    }
}

/// Writes `patch` (`[3, h, w]`, top-left at input pixel `at`) into item `k` of `batch`,
/// whose top-left is input pixel `origin`; what falls outside `batch` is dropped (a
/// halo reaching past a locality crop, where by the check nothing affects the ROI).
pub(crate) fn write_patch(
    batch: &Tensor,
    k: usize,
    at: (u32, u32),
    origin: (u32, u32),
    patch: &Tensor,
) -> Result<()> {
    let (ph, pw) = (patch.size()[1], patch.size()[2]);
    let (bh, bw) = (batch.size()[2], batch.size()[3]);
    let span = |a: u32, o: u32, len: i64, room: i64| {
        let start = a as i64 - o as i64;
        let (lo, hi) = (start.max(0), (start + len).min(room));
        (lo - start, lo, hi - lo)
    };
    let (sy, dy, h) = span(at.1, origin.1, ph, bh);
    let (sx, dx, w) = span(at.0, origin.0, pw, bw);
    if h <= 0 || w <= 0 {
        return Ok(());
    }
    let mut dst = batch
        .f_get(k as i64)?
        .f_narrow(1, dy, h)?
        .f_narrow(2, dx, w)?;
    dst.f_copy_(&patch.f_narrow(1, sy, h)?.f_narrow(2, sx, w)?)?;
    Ok(())
}

/// Input pixels `(width, height)` one intervention writes: the cell and the
/// degradation's halo, at most the input.
pub(crate) fn region_size(degradation: &dyn Degradation, grid: &Grid) -> (u32, u32) {
    let input = (grid.cols * grid.block_in, grid.rows * grid.block_in);
    let (_, _, w, h) =
        crate::degrade::region::halo_window((0, 0), grid.block_in, degradation.halo(), input);
    (w, h)
}

/// One intervention on `cell`: the clean library patch degraded into its input region,
/// checked against [`region_size`].
pub(crate) fn intervention(
    degradation: &dyn Degradation,
    hr: &RgbImage,
    grid: &Grid,
    clean: &RgbImage,
    cell: u32,
    rng: &mut dyn rand::RngCore,
) -> Result<InputPatch> {
    let region = degradation.degrade_region(hr, clean, grid.site(cell), rng)?;
    let (w, h) = region_size(degradation, grid);
    let fits = region.x + region.pixels.width() <= grid.cols * grid.block_in
        && region.y + region.pixels.height() <= grid.rows * grid.block_in;
    if region.pixels.dimensions() != (w, h) || !fits {
        return Err(Error::SizeMismatch {
            what: format!("degraded patch from '{}'", degradation.name()),
            expected: format!("{w}x{h} inside the input"),
            got: format!(
                "{}x{} at ({}, {})",
                region.pixels.width(),
                region.pixels.height(),
                region.x,
                region.y
            ),
        });
    }
    Ok(region)
}

fn is_out_of_memory(e: &Error) -> bool {
    matches!(e, Error::OutOfMemory { .. })
}

/// Stored PSNR back to a number (`None` is a perfect ROI, `+inf`).
pub(crate) fn psnr_of(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::INFINITY)
}
