//! Batched evaluation of interventions on the model's device.
//!
//! For each batch: the clean library patches are degraded on the host (tiny: `B`
//! patches of `block_in^2` pixels), sent to the device, written by index into `B`
//! copies of the input already on the device, run through the model, and the ROI
//! MSE is measured there; only `B` numbers (plus a count of non-finite outputs)
//! come back. The next batch is prepared on the host while the device works on the
//! current one.

use super::grid::{intervention_seed, Grid};
use crate::degrade::Degradation;
use crate::error::{Error, Result};
use crate::image::{psnr_from_mse, raw_to_tensor, RoiMeter};
use crate::library::{Library, Sampling};
use crate::model::Model;
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

/// One intervention: a cell and its index within that cell's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item {
    pub cell: u32,
    pub t: u32,
}

/// Everything a stage needs to evaluate interventions.
pub(crate) struct Runner<'a> {
    pub model: &'a dyn Model,
    pub degradation: &'a dyn Degradation,
    pub library: &'a Library,
    pub grid: &'a Grid,
    /// The evaluated region of the input: the whole input, or a locality crop.
    pub base: Tensor,
    /// Top-left of `base` in the input, in input pixels.
    pub origin: (u32, u32),
    pub meter: RoiMeter,
    pub seed: u64,
    pub batch_size: usize,
    pub scale: u32,
    pub progress: ProgressBar,
}

impl Runner<'_> {
    /// Degrades the items' patches on the host and uploads them as `[n, 3, b, b]`.
    fn prepare(&self, stage: u64, sampling: Sampling, items: &[Item]) -> Result<Tensor> {
        let b = self.grid.block_in;
        let mut buf = Vec::with_capacity(items.len() * (b * b * 3) as usize);
        for it in items {
            let mut rng =
                ChaCha8Rng::seed_from_u64(intervention_seed(self.seed, stage, it.cell, it.t));
            let idx = self.library.sample(sampling, &mut rng);
            let clean = &self.library.patches()[idx].pixels;
            let patch = self
                .degradation
                .degrade_patch(clean, self.grid.site(it.cell), &mut rng)?;
            if patch.dimensions() != (b, b) {
                return Err(Error::SizeMismatch {
                    what: format!("degraded patch from '{}'", self.degradation.name()),
                    expected: format!("{b}x{b}"),
                    got: format!("{}x{}", patch.width(), patch.height()),
                });
            }
            buf.extend_from_slice(patch.as_raw());
        }
        Ok(raw_to_tensor(&buf, items.len(), b, b, self.model.device()))
    }

    /// Assembles the intervened inputs on the device and queues the model and the
    /// measurement; returns `[n + 1]` float64 on the device: n MSEs, then the number of
    /// outputs with non-finite values.
    fn launch(&self, items: &[Item], patches: &Tensor) -> Result<Tensor> {
        let n = items.len() as i64;
        let batch = self.base.f_repeat([n, 1, 1, 1])?;
        for (k, it) in items.iter().enumerate() {
            let (x, y) = self.grid.input_origin(it.cell);
            let at = (x - self.origin.0, y - self.origin.1);
            write_patch(&batch, k, at, &patches.get(k as i64))?;
        }
        let out = self.model.forward(&batch)?;
        let s = self.base.size();
        let expected = vec![n, 3, s[2] * self.scale as i64, s[3] * self.scale as i64];
        if out.size() != expected {
            return Err(Error::ModelOutputShape {
                expected,
                got: out.size(),
                input: batch.size(),
                scale: self.scale,
            });
        }
        let out = out.to_kind(Kind::Float);
        // One reduction pass: a sample's sum is finite exactly when all its values are
        // (short of values near f32::MAX, which no image model outputs).
        let sums = out.sum_dim_intlist([1i64, 2, 3].as_slice(), false, Kind::Double);
        let bad = sums.isfinite().logical_not().sum(Kind::Double).reshape([1]);
        Ok(Tensor::cat(&[self.meter.mse_tensor(&out)?, bad], 0))
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

/// Writes `patch` (`[3, b, b]`) into item `k` of `batch` at input pixel `at`.
pub(crate) fn write_patch(batch: &Tensor, k: usize, at: (u32, u32), patch: &Tensor) -> Result<()> {
    let b = patch.size()[1];
    let mut dst = batch
        .f_get(k as i64)?
        .f_narrow(1, at.1 as i64, b)?
        .f_narrow(2, at.0 as i64, b)?;
    dst.f_copy_(patch)?;
    Ok(())
}

fn is_out_of_memory(e: &Error) -> bool {
    e.to_string().to_ascii_lowercase().contains("out of memory")
}

/// Stored PSNR back to a number (`None` is a perfect ROI, `+inf`).
pub(crate) fn psnr_of(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::INFINITY)
}
