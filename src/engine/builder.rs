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
///
/// Its setters are of two kinds: the method's settings (strategy, C, F, block, tol,
/// seed, sampling, library, locality, generator, traces, batch size), which the map's
/// record and the checkpoint's fingerprint hold; and per-run inputs ([`RunOptions`]:
/// a given input, the image's name, a checkpoint file, progress, a stop flag), which
/// change how one run is fed and watched, not the map. A setting that does not apply
/// to the chosen settings (e.g. [`Cem::coarse`] with the full pipeline) is refused
/// by [`Cem::run`], naming it, instead of being ignored.
///
/// ```
/// use cem::prelude::*;
/// # fn main() -> cem::Result<()> {
/// let model = FnModel::new("id", Device::Cpu, |x: &Tensor| x.shallow_clone());
/// let hr = RgbImage::new(16, 16);
/// let err = Cem::full(10).coarse(3).run(&model, &hr, &Task::Dn { sigma: 5.0 }, Roi::new(0, 0, 8));
/// assert!(err.unwrap_err().to_string().contains("coarse"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Cem {
    // the method
    pub(crate) strategy: Strategy,
    /// C, overriding the strategy's (coarse-to-fine only).
    pub(crate) coarse: Option<u32>,
    /// F, overriding the strategy's (coarse-to-fine only).
    pub(crate) fine: Option<u32>,
    pub(crate) block: u32,
    pub(crate) tol: f64,
    pub(crate) seed: u64,
    pub(crate) coarse_sampling: Option<Sampling>,
    pub(crate) fine_sampling: Option<Sampling>,
    pub(crate) full_sampling: Option<Sampling>,
    pub(crate) batch_size: Option<usize>,
    pub(crate) library: Option<Arc<Library>>,
    pub(crate) locality: bool,
    pub(crate) locality_checks: Option<usize>,
    pub(crate) size_multiple: Option<u32>,
    pub(crate) trace: Vec<(u32, u32)>,
    pub(crate) rng: Option<RngKind>,
    // this run
    pub(crate) run: RunOptions,
}

/// Per-run inputs of [`Cem::run`]: how one run is fed and watched. They are not part
/// of the method: the map's record and the checkpoint fingerprint do not depend on
/// them (except the image's name, which the record keeps as a label). Set them one
/// by one on the builder ([`Cem::input`], [`Cem::image_name`], [`Cem::checkpoint`],
/// [`Cem::progress`], [`Cem::stop_flag`]) or all at once with [`Cem::options`].
///
/// ```
/// use cem::engine::{Cem, RunOptions};
/// let quiet = RunOptions { progress: false, ..RunOptions::default() };
/// let cem = Cem::coarse_to_fine().options(quiet.clone());
/// assert!(!cem.run_options().progress);
/// ```
#[derive(Clone)]
pub struct RunOptions {
    /// An already-degraded input to use instead of degrading the ground truth.
    pub input: Option<RgbImage>,
    /// A name for the image in result files (default `image`).
    pub image_name: Option<String>,
    /// A file to keep progress in; an interrupted run resumes from it.
    pub checkpoint: Option<PathBuf>,
    /// Show a progress bar and notes on stderr (default on).
    pub progress: bool,
    /// A flag that stops this run after its current batch when set.
    pub stop: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for RunOptions {
    /// The input by its size, not its pixels.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field(
                "input",
                &self
                    .input
                    .as_ref()
                    .map(|i| format!("{}x{} RGB image", i.width(), i.height())),
            )
            .field("image_name", &self.image_name)
            .field("checkpoint", &self.checkpoint)
            .field("progress", &self.progress)
            .field("stop", &self.stop)
            .finish()
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            input: None,
            image_name: None,
            checkpoint: None,
            progress: true,
            stop: None,
        }
    }
}

/// What a run does, resolved from the builder's settings: the strategy with C and F
/// applied and each stage's sampling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    pub strategy: Strategy,
    pub coarse_sampling: Sampling,
    pub fine_sampling: Sampling,
    pub full_sampling: Sampling,
    pub tol: f64,
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

    /// The [adaptive](crate::engine::Adaptive) strategy with these settings (e.g.
    /// `Adaptive::default().budget(960)`).
    pub fn adaptive(plan: crate::engine::Adaptive) -> Self {
        Cem::new(Strategy::Adaptive(plan))
    }

    /// Any strategy, with the paper's other defaults.
    pub fn new(strategy: Strategy) -> Self {
        Cem {
            strategy,
            coarse: None,
            fine: None,
            block: 8,
            tol: 0.01,
            seed: 0,
            coarse_sampling: None,
            fine_sampling: None,
            full_sampling: None,
            batch_size: None,
            library: None,
            locality: true,
            locality_checks: None,
            size_multiple: None,
            trace: Vec::new(),
            rng: None,
            run: RunOptions::default(),
        }
    }

    /// Keeps every intervention's ROI PSNR for these `(row, col)` cells (Fig. 6's ATE
    /// convergence); read them with [`crate::attrib::Traces::of`], write them with
    /// [`crate::attrib::Traces::save`] (`trace.csv`).
    pub fn trace(mut self, cells: impl IntoIterator<Item = (u32, u32)>) -> Self {
        self.trace = cells.into_iter().collect();
        self
    }

    /// Coarse interventions per cell, C (coarse-to-fine only: refused by
    /// [`Cem::run`] with another strategy). Overrides the strategy's C.
    pub fn coarse(mut self, c: u32) -> Self {
        self.coarse = Some(c);
        self
    }

    /// Fine interventions per sensitive cell, F (coarse-to-fine only: refused by
    /// [`Cem::run`] with another strategy). Overrides the strategy's F.
    pub fn fine(mut self, f: u32) -> Self {
        self.fine = Some(f);
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

    /// How the coarse stage draws patches (default uniform; coarse-to-fine only).
    pub fn coarse_sampling(mut self, s: Sampling) -> Self {
        self.coarse_sampling = Some(s);
        self
    }

    /// How the fine stage draws patches (default the density `D`; `Sampling::Ranges` gives C3F50-U;
    /// coarse-to-fine only).
    pub fn fine_sampling(mut self, s: Sampling) -> Self {
        self.fine_sampling = Some(s);
        self
    }

    /// How the full pipeline draws patches (default uniform; full pipeline only).
    pub fn full_sampling(mut self, s: Sampling) -> Self {
        self.full_sampling = Some(s);
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

    /// The generator of the degraded input (default ChaCha): [`RngKind::Numpy`] makes
    /// the authors' exact DN and DR inputs (see [`Task::degradation_with`]). It makes
    /// the input only: with a given input ([`Cem::input`]) the NumPy generator is
    /// refused.
    pub fn rng(mut self, rng: RngKind) -> Self {
        self.rng = Some(rng);
        self
    }

    /// The degradation [`Cem::run`] uses for `task` and the ground truth `hr`: DR
    /// with an input from [`Cem::input`] uses the rain that input carries
    /// ([`SuppliedRain::from_pair`]); otherwise [`Task::degradation_with`] with this
    /// builder's seed, generator and image name.
    pub fn degradation(&self, task: &Task, hr: &RgbImage) -> Result<Box<dyn Degradation>> {
        match (task, &self.run.input) {
            (Task::Dr, Some(rainy)) => Ok(Box::new(SuppliedRain::from_pair(hr, rainy)?)),
            _ => task.degradation_with(
                self.seed,
                self.rng.unwrap_or(RngKind::ChaCha),
                self.run.image_name.as_deref(),
            ),
        }
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

    /// Outside interventions tried per margin by the locality check (default 8;
    /// refused with the check off).
    pub fn locality_checks(mut self, n: usize) -> Self {
        self.locality_checks = Some(n);
        self
    }

    /// The model only takes inputs whose sides are multiples of `n` input pixels
    /// (e.g. a Transformer's window size, a U-Net's downsampling factor): locality
    /// crops are widened to fit (default 1, any size; refused with the locality check
    /// off, where no crop is made).
    pub fn size_multiple(mut self, n: u32) -> Self {
        self.size_multiple = Some(n);
        self
    }

    // Per-run inputs (RunOptions): how one run is fed and watched.
    /// Use this already-degraded input instead of degrading the ground truth
    /// (interventions still carry the task's degradation; for DR, [`Cem::run`] uses
    /// the rain this input carries over the ground truth).
    pub fn input(mut self, degraded: RgbImage) -> Self {
        self.run.input = Some(degraded);
        self
    }

    /// A name for the image in result files (default `image`).
    pub fn image_name(mut self, name: impl Into<String>) -> Self {
        self.run.image_name = Some(name.into());
        self
    }

    /// A file to keep progress in: an interrupted run resumes from it, and it is
    /// removed when the map is complete.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.run.checkpoint = Some(path.into());
        self
    }

    /// Show a progress bar on stderr (default on; hidden when stderr is not a terminal).
    pub fn progress(mut self, on: bool) -> Self {
        self.run.progress = on;
        self
    }

    /// A flag of your own that stops this run after its current batch when set (as
    /// [`request_stop`](super::request_stop) does for every run in the process).
    pub fn stop_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.run.stop = Some(flag);
        self
    }

    /// Sets every per-run input at once (replacing those set before).
    pub fn options(mut self, options: RunOptions) -> Self {
        self.run = options;
        self
    }

    /// The per-run inputs set so far.
    pub fn run_options(&self) -> &RunOptions {
        &self.run
    }

    /// The strategy label, with `-U` when the fine stage samples Table III's `U`
    /// (uniform over gradient ranges, [`Sampling::Ranges`]).
    pub fn label(&self) -> String {
        let plan = self.plan_unchecked();
        match plan.strategy {
            Strategy::CoarseToFine { .. }
                if matches!(plan.fine_sampling, Sampling::Ranges { .. }) =>
            {
                format!("{}-U", plan.strategy.label())
            }
            s => s.label(),
        }
    }

    /// The plan with C, F and the samplings applied where they apply (ignoring those
    /// that do not: [`Cem::plan`] refuses them).
    fn plan_unchecked(&self) -> Plan {
        let strategy = match self.strategy {
            Strategy::CoarseToFine { coarse, fine } => Strategy::CoarseToFine {
                coarse: self.coarse.unwrap_or(coarse),
                fine: self.fine.unwrap_or(fine),
            },
            s => s,
        };
        Plan {
            strategy,
            coarse_sampling: self.coarse_sampling.unwrap_or(Sampling::Uniform),
            fine_sampling: self.fine_sampling.unwrap_or(Sampling::Density),
            full_sampling: self.full_sampling.unwrap_or(Sampling::Uniform),
            tol: self.tol,
        }
    }

    /// Settings given that the chosen settings would ignore, as `(setting, value,
    /// why)`.
    fn inapplicable(&self) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        let label = self.strategy.label();
        let is_c2f = matches!(self.strategy, Strategy::CoarseToFine { .. });
        let c2f_only = |name: &'static str, value: String| {
            (
                name,
                value,
                format!("it applies to the coarse-to-fine strategy, not {label}; start from Cem::coarse_to_fine() or leave it out"),
            )
        };
        if !is_c2f {
            if let Some(c) = self.coarse {
                out.push(c2f_only("coarse", c.to_string()));
            }
            if let Some(f) = self.fine {
                out.push(c2f_only("fine", f.to_string()));
            }
            if let Some(s) = self.coarse_sampling {
                out.push(c2f_only("coarse sampling", format!("{s:?}")));
            }
            if let Some(s) = self.fine_sampling {
                out.push(c2f_only("fine sampling", format!("{s:?}")));
            }
        }
        if let (Some(s), false) = (
            self.full_sampling,
            matches!(self.strategy, Strategy::Full { .. }),
        ) {
            out.push((
                "full sampling",
                format!("{s:?}"),
                format!("it applies to the full pipeline, not {label}; start from Cem::full(T) or leave it out"),
            ));
        }
        if !self.locality {
            let off = "it applies to the locality check, which is off; turn it on or leave it out";
            if let Some(n) = self.locality_checks {
                out.push(("locality checks", n.to_string(), off.to_string()));
            }
            if let Some(n) = self.size_multiple {
                out.push(("size multiple", n.to_string(), off.to_string()));
            }
        }
        if let (Some(RngKind::Numpy), Some(_)) = (self.rng, &self.run.input) {
            out.push((
                "rng",
                "numpy".to_string(),
                "the generator makes the degraded input, and this run is given one (Cem::input); leave one of them out".to_string(),
            ));
        }
        out
    }

    /// The plan of a run; refuses impossible settings and settings that do not apply
    /// (checked at the start of every run).
    pub(crate) fn plan(&self) -> Result<Plan> {
        if let Some((name, value, why)) = self.inapplicable().into_iter().next() {
            return Err(Error::invalid(name, value, why));
        }
        let plan = self.plan_unchecked();
        match plan.strategy {
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
            Strategy::Adaptive(adaptive) => adaptive.check()?,
        }
        for s in [plan.coarse_sampling, plan.fine_sampling, plan.full_sampling] {
            if let Sampling::Ranges { width } = s {
                Sampling::ranges(width)?;
            }
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::invalid(
                "tol",
                self.tol,
                "must be a finite number >= 0",
            ));
        }
        if self.locality && self.checks() == 0 {
            return Err(Error::invalid(
                "locality checks",
                0,
                "must be at least 1 (or turn locality off)",
            ));
        }
        if self.multiple() == 0 {
            return Err(Error::invalid("size multiple", 0, "must be at least 1"));
        }
        if self.batch_size == Some(0) {
            return Err(Error::invalid("batch size", 0, "must be at least 1"));
        }
        Ok(plan)
    }

    /// Outside interventions per margin of the locality check.
    pub(crate) fn checks(&self) -> usize {
        self.locality_checks.unwrap_or(DEFAULT_CHECKS)
    }

    /// The side multiple of locality crops, in input pixels.
    pub(crate) fn multiple(&self) -> u32 {
        self.size_multiple.unwrap_or(1)
    }

    /// The strategy details stored in `cem.json` and the checkpoint fingerprint.
    pub(crate) fn settings_json(&self, device: Device) -> serde_json::Value {
        let plan = self.plan_unchecked();
        serde_json::json!({
            "strategy": plan.strategy,
            "coarse_sampling": plan.coarse_sampling,
            "fine_sampling": plan.fine_sampling,
            "full_sampling": plan.full_sampling,
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
