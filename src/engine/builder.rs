//! The [`Cem`] builder: the method's settings, checked before a run.

use super::locality::DEFAULT_CHECKS;
use super::strategy::Strategy;
use crate::degrade::{Degradation, RngKind, SuppliedRain, Task};
use crate::error::{Error, Result};
use crate::library::{Library, Sampling};
use ::image::RgbImage;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tch::Device;

/// A checked builder for a causal effect map. The defaults reproduce the paper:
/// C3F50, 8x8 blocks in output pixels, tol 0.01 dB, uniform coarse sampling,
/// `D`-weighted fine sampling, seed 0, the built-in library.
#[derive(Clone)]
pub struct Cem {
    pub(crate) strategy: Strategy,
    pub(crate) block: u32,
    pub(crate) tol: f64,
    pub(crate) seed: u64,
    pub(crate) coarse_sampling: Sampling,
    pub(crate) fine_sampling: Sampling,
    pub(crate) full_sampling: Sampling,
    pub(crate) batch_size: Option<usize>,
    pub(crate) library: Option<Arc<Library>>,
    pub(crate) checkpoint: Option<PathBuf>,
    pub(crate) progress: bool,
    pub(crate) input: Option<RgbImage>,
    pub(crate) image_name: Option<String>,
    pub(crate) stop: Option<Arc<AtomicBool>>,
    pub(crate) locality: bool,
    pub(crate) locality_checks: usize,
    pub(crate) size_multiple: u32,
    pub(crate) trace: Vec<(u32, u32)>,
    pub(crate) rng: RngKind,
}

impl Default for Cem {
    fn default() -> Self {
        Cem::coarse_to_fine()
    }
}

impl Cem {
    /// The paper's coarse-to-fine strategy, C3F50 (change with [`Cem::coarse`], [`Cem::fine`]).
    pub fn coarse_to_fine() -> Self {
        Cem::new(Strategy::c3f50())
    }

    /// The full pipeline with `t` interventions per cell (uniform sampling, as the reference).
    pub fn full(t: u32) -> Self {
        Cem::new(Strategy::Full { t })
    }

    /// Any strategy, with the paper's other defaults.
    pub fn new(strategy: Strategy) -> Self {
        Cem {
            strategy,
            block: 8,
            tol: 0.01,
            seed: 0,
            coarse_sampling: Sampling::Uniform,
            fine_sampling: Sampling::Density,
            full_sampling: Sampling::Uniform,
            batch_size: None,
            library: None,
            checkpoint: None,
            progress: true,
            input: None,
            image_name: None,
            stop: None,
            locality: true,
            locality_checks: DEFAULT_CHECKS,
            size_multiple: 1,
            trace: Vec::new(),
            rng: RngKind::ChaCha,
        }
    }

    /// Keeps every intervention's ROI PSNR for these `(row, col)` cells (Fig. 6's ATE
    /// convergence); read them with [`crate::attrib::Traces::of`], write them with
    /// [`crate::attrib::Traces::save`] (`trace.csv`).
    pub fn trace(mut self, cells: impl IntoIterator<Item = (u32, u32)>) -> Self {
        self.trace = cells.into_iter().collect();
        self
    }

    /// Coarse interventions per cell, C (coarse-to-fine only).
    pub fn coarse(mut self, c: u32) -> Self {
        if let Strategy::CoarseToFine { coarse, .. } = &mut self.strategy {
            *coarse = c;
        }
        self
    }

    /// Fine interventions per sensitive cell, F (coarse-to-fine only).
    pub fn fine(mut self, f: u32) -> Self {
        if let Strategy::CoarseToFine { fine, .. } = &mut self.strategy {
            *fine = f;
        }
        self
    }

    /// The strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Tolerance in dB below which an effect is zero (and a cell joins U).
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Block (cell) size in output pixels.
    pub fn block(mut self, block: u32) -> Self {
        self.block = block;
        self
    }

    /// The one seed every random choice comes from (degradation, patches, their noise).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How the coarse stage draws patches (default uniform).
    pub fn coarse_sampling(mut self, s: Sampling) -> Self {
        self.coarse_sampling = s;
        self
    }

    /// How the fine stage draws patches (default the density `D`; uniform gives C3F50-U).
    pub fn fine_sampling(mut self, s: Sampling) -> Self {
        self.fine_sampling = s;
        self
    }

    /// How the full pipeline draws patches (default uniform).
    pub fn full_sampling(mut self, s: Sampling) -> Self {
        self.full_sampling = s;
        self
    }

    /// Interventions per model call (default: automatic, 8 on CPU, 64 on CUDA). Either
    /// is lowered to what fits the device's free memory
    /// ([`crate::model::memory::plan_batch`]; an input too large for even one stops
    /// before any inference) and halved on out-of-memory.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = Some(n);
        self
    }

    /// The intervention library (default: [`Library::builtin`] at the block size).
    pub fn library(mut self, library: impl Into<Arc<Library>>) -> Self {
        self.library = Some(library.into());
        self
    }

    /// A file to keep progress in: an interrupted run resumes from it, and it is
    /// removed when the map is complete.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Show a progress bar on stderr (default on; hidden when stderr is not a terminal).
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// Use this already-degraded input instead of degrading the ground truth
    /// (interventions still carry the task's degradation; for DR, [`Cem::run`] uses
    /// the rain this input carries over the ground truth).
    pub fn input(mut self, degraded: RgbImage) -> Self {
        self.input = Some(degraded);
        self
    }

    /// The generator of the degraded input (default ChaCha): [`RngKind::Numpy`] makes
    /// the authors' exact DN and DR inputs (see [`Task::degradation_with`]).
    pub fn rng(mut self, rng: RngKind) -> Self {
        self.rng = rng;
        self
    }

    /// The degradation [`Cem::run`] uses for `task` and the ground truth `hr`: DR
    /// with an input from [`Cem::input`] uses the rain that input carries
    /// ([`SuppliedRain::from_pair`]); otherwise [`Task::degradation_with`] with this
    /// builder's seed, generator and image name.
    pub fn degradation(&self, task: &Task, hr: &RgbImage) -> Result<Box<dyn Degradation>> {
        match (task, &self.input) {
            (Task::Dr, Some(rainy)) => Ok(Box::new(SuppliedRain::from_pair(hr, rainy)?)),
            _ => task.degradation_with(self.seed, self.rng, self.image_name.as_deref()),
        }
    }

    /// A name for the image in result files (default `image`).
    pub fn image_name(mut self, name: impl Into<String>) -> Self {
        self.image_name = Some(name.into());
        self
    }

    /// A flag of your own that stops this run after its current batch when set (as
    /// [`request_stop`](super::request_stop) does for every run in the process).
    pub fn stop_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    /// Detect whether the model is local around the ROI and, if so, run every
    /// intervention on a crop (default on; see [`Locality`]). Cells outside the crop
    /// get exactly zero effect with zero samples; the map records the crop and how it
    /// was checked. Off: every intervention runs on the whole input. Degradations whose
    /// [halo](crate::degrade::Degradation::halo) is wider than a cell always run on
    /// the whole input (the ring check could miss them).
    pub fn locality(mut self, on: bool) -> Self {
        self.locality = on;
        self
    }

    /// Outside interventions tried per margin by the locality check (default 8).
    pub fn locality_checks(mut self, n: usize) -> Self {
        self.locality_checks = n;
        self
    }

    /// The model only takes inputs whose sides are multiples of `n` input pixels
    /// (e.g. a Transformer's window size, a U-Net's downsampling factor): locality
    /// crops are widened to fit (default 1, any size).
    pub fn size_multiple(mut self, n: u32) -> Self {
        self.size_multiple = n;
        self
    }

    /// The strategy label, with `-U` when the fine stage samples uniformly.
    pub fn label(&self) -> String {
        match self.strategy {
            Strategy::CoarseToFine { .. } if self.fine_sampling == Sampling::Uniform => {
                format!("{}-U", self.strategy.label())
            }
            _ => self.strategy.label(),
        }
    }

    /// Refuses impossible settings (checked at the start of every run).
    pub(crate) fn check(&self) -> Result<()> {
        match self.strategy {
            Strategy::CoarseToFine { coarse, fine } => {
                if coarse == 0 {
                    return Err(Error::invalid(
                        "coarse",
                        coarse,
                        "needs at least 1 intervention",
                    ));
                }
                if fine == 0 {
                    return Err(Error::invalid(
                        "fine",
                        fine,
                        "needs at least 1 intervention",
                    ));
                }
            }
            Strategy::Full { t } => {
                if t == 0 {
                    return Err(Error::invalid("T", t, "needs at least 1 intervention"));
                }
            }
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::invalid(
                "tol",
                self.tol,
                "must be a finite number >= 0",
            ));
        }
        if self.locality && self.locality_checks == 0 {
            return Err(Error::invalid(
                "locality checks",
                0,
                "must be at least 1 (or turn locality off)",
            ));
        }
        if self.size_multiple == 0 {
            return Err(Error::invalid("size multiple", 0, "must be at least 1"));
        }
        if self.batch_size == Some(0) {
            return Err(Error::invalid("batch size", 0, "must be at least 1"));
        }
        Ok(())
    }

    /// The strategy details stored in `cem.json` and the checkpoint fingerprint.
    pub(crate) fn settings_json(&self, device: Device) -> serde_json::Value {
        serde_json::json!({
            "strategy": self.strategy,
            "coarse_sampling": self.coarse_sampling,
            "fine_sampling": self.fine_sampling,
            "full_sampling": self.full_sampling,
            "psnr": "u8-rounded output, float64 MSE over RGB",
            "patch_channel_order": "RGB (the reference pastes BGR patches)",
            "cuda_fp32": if device.is_cuda() {
                if crate::model::full_fp32_on_cuda() { "ieee" } else { "tf32 allowed" }
            } else {
                "n/a"
            },
        })
    }
}
