//! The CEM engine: Alg. 1 with Eq. 2 (full pipeline) and the coarse-to-fine strategy
//! of Eq. 3-4, with the conventions of the authors' pipeline.
//!
//! ```no_run
//! use cem::prelude::*;
//! # fn main() -> cem::Result<()> {
//! # let model = TorchScript::load("m.pt", Device::Cpu)?;
//! # let hr = load_rgb("hr.png")?;
//! let map = Cem::coarse_to_fine().seed(1).run(&model, &hr, &Task::Sr { scale: 4 }, Roi::new(96, 152, 32))?;
//! let full = Cem::full(500).run(&model, &hr, &Task::Sr { scale: 4 }, Roi::new(96, 152, 32))?;
//! println!("S = {:.1}%", map.similarity(&full)?);
//! # Ok(()) }
//! ```

mod adaptive;
mod checkpoint;
mod grid;
mod locality;
mod runner;
pub(crate) mod signals;
mod strategy;

pub use adaptive::{Adaptive, Running};
pub use grid::Grid;
pub use locality::{Locality, Region, Trial, DEFAULT_CHECKS};
pub use signals::{exit_now, install_signal_handler, INTERRUPTED_EXIT_CODE};
pub use strategy::{Strategy, StrategyChoice};

use crate::degrade::{Degradation, RngKind, SuppliedRain, Task};
use crate::error::{Error, Result};
use crate::image::{psnr_from_mse, to_tensor, Roi, RoiMeter};
use crate::library::{Library, Sampling};
use crate::map::{zero_below, CausalEffectMap, Cell, CellKind, MapInfo, Stage, StageStats};
use crate::model::{device_name, forward_checked, Model};
use ::image::RgbImage;
use checkpoint::Checkpoint;
use indicatif::{ProgressBar, ProgressStyle};
use runner::{psnr_of, Item, Runner};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use tch::Device;

static STOP: AtomicBool = AtomicBool::new(false);

/// Asks a running map to stop after its current batch, saving its checkpoint (call it
/// from a Ctrl-C handler; the `cem` binary does).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether a stop was requested (the trainer honours it too); cleared by
/// [`clear_stop`] and at the start of every map.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Clears a stop request.
pub fn clear_stop() {
    STOP.store(false, Ordering::SeqCst);
}

/// Seconds between checkpoint writes during a run (and always at a stop or error).
pub const CHECKPOINT_EVERY_S: f64 = 2.0;

const STAGE_COARSE: (&str, u64) = ("coarse", 0);
const STAGE_FINE: (&str, u64) = ("fine", 1);
const STAGE_FULL: (&str, u64) = ("full", 2);

/// A checked builder for a causal effect map. The defaults reproduce the paper:
/// C3F50, 8x8 blocks in output pixels, tol 0.01 dB, uniform coarse sampling,
/// `D`-weighted fine sampling, seed 0, the built-in library.
#[derive(Clone)]
pub struct Cem {
    strategy: Strategy,
    block: u32,
    tol: f64,
    seed: u64,
    coarse_sampling: Sampling,
    fine_sampling: Sampling,
    full_sampling: Sampling,
    batch_size: Option<usize>,
    library: Option<Arc<Library>>,
    checkpoint: Option<PathBuf>,
    progress: bool,
    input: Option<RgbImage>,
    image_name: Option<String>,
    stop: Option<Arc<AtomicBool>>,
    locality: bool,
    locality_checks: usize,
    size_multiple: u32,
    trace: Vec<(u32, u32)>,
    rng: RngKind,
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

    /// Interventions per model call (default: automatic, 8 on CPU, up to 64 on CUDA
    /// within a memory bound, halved on out-of-memory).
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
    /// [`request_stop`] does for every run in the process).
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

    fn check(&self) -> Result<()> {
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

    /// Computes the map of `model` for the ground truth `hr` degraded by `task`
    /// (seeded with this builder's seed), for the ROI `roi` in output pixels.
    pub fn run(
        &self,
        model: &dyn Model,
        hr: &RgbImage,
        task: &Task,
        roi: Roi,
    ) -> Result<CausalEffectMap> {
        let degradation = self.degradation(task, hr)?;
        self.run_with(model, hr, degradation.as_ref(), roi)
    }

    /// Like [`Cem::run`] with any [`Degradation`], including your own.
    pub fn run_with(
        &self,
        model: &dyn Model,
        hr: &RgbImage,
        degradation: &dyn Degradation,
        roi: Roi,
    ) -> Result<CausalEffectMap> {
        self.check()?;
        STOP.store(false, Ordering::SeqCst);
        let scale = degradation.scale();
        let grid = Grid::new(hr.width(), hr.height(), self.block, scale, roi)?;
        if let Some(&(r, c)) = self
            .trace
            .iter()
            .find(|&&(r, c)| r >= grid.rows || c >= grid.cols)
        {
            return Err(Error::invalid(
                "trace cell",
                format!("{r},{c}"),
                format!("the grid has {} rows and {} columns", grid.rows, grid.cols),
            ));
        }
        let library = match &self.library {
            Some(l) => l.clone(),
            None => builtin_library(self.block)?,
        };
        if library.patch_size() != self.block {
            return Err(Error::invalid(
                "library",
                library.source(),
                format!(
                    "its patches are {0}x{0} but the block is {1}x{1} output pixels",
                    library.patch_size(),
                    self.block
                ),
            ));
        }
        let input = match &self.input {
            Some(i) if !degradation.carries_supplied_input() => {
                return Err(Error::invalid(
                    "input",
                    format!("a supplied {} input", degradation.name()),
                    "its interventions would get this degradation's own layer, not the one in the input; give the clean image with it (Cem::run with the task, SuppliedRain::from_pair) or its layer and beta (SuppliedRain::from_layer; cem map --rain-layer L.png --beta B)",
                ))
            }
            Some(i) => i.clone(),
            None => degradation.degrade(hr)?,
        };
        let want = (hr.width() / scale, hr.height() / scale);
        if input.dimensions() != want {
            return Err(Error::SizeMismatch {
                what: format!(
                    "degraded input for a {}x{} ground truth at scale {scale}",
                    hr.width(),
                    hr.height()
                ),
                expected: format!("{}x{}", want.0, want.1),
                got: format!("{}x{}", input.width(), input.height()),
            });
        }
        let device = model.device();
        let base = to_tensor(&input, device);
        let meter = RoiMeter::new(hr, roi, device)?;
        let original = forward_checked(model, &base, scale)?;
        let o = psnr_from_mse(meter.mse_tensor(&original)?.double_value(&[0]));
        let batch_size = self
            .batch_size
            .unwrap_or_else(|| auto_batch(device, &input, scale));
        // A halo wider than a cell could reach into the crop from beyond the checked
        // ring: such degradations run on the whole input.
        let locality = if self.locality && degradation.halo() <= grid.block_in {
            let probe = locality::Probe {
                model,
                degradation,
                hr,
                library: &library,
                grid: &grid,
                roi,
                base: &base,
                scale,
                seed: self.seed,
                checks: self.locality_checks,
                multiple: self.size_multiple,
                batch_size,
            };
            let found = probe.detect(&original)?;
            if !found.local && self.progress {
                // never run for many minutes without saying why
                let per_cell = match self.strategy {
                    Strategy::CoarseToFine { coarse, .. } => coarse,
                    Strategy::Full { t } => t,
                } as usize;
                let first = per_cell * grid.intervened_cells().len();
                eprintln!("{}", locality::fallback_line(&found, &grid, first));
            }
            Some(found)
        } else {
            None
        };
        let region = locality.as_ref().and_then(|l| l.crop);
        let (base, meter, origin) = match region {
            Some(r) => (
                base.narrow(2, r.y as i64, r.height as i64)
                    .narrow(3, r.x as i64, r.width as i64)
                    .contiguous(),
                meter.relative_to(r.x * scale, r.y * scale),
                (r.x, r.y),
            ),
            None => (base, meter, (0, 0)),
        };

        let fingerprint = serde_json::json!({
            "strategy": self.label(), "settings": self.settings_json(device), "block": self.block,
            "tol": self.tol, "seed": self.seed, "roi": roi, "model": model.name(),
            "degradation": degradation.describe(), "library": library.source(), "library_size": library.len(),
            "input": fnv1a(input.as_raw()), "truth": fnv1a(hr.as_raw()), "region": region,
        });
        let mut ckpt = Checkpoint::open(self.checkpoint.as_deref(), fingerprint)?;
        if let Some(stored) = ckpt.original_psnr {
            if stored.to_bits() != o.to_bits() {
                return Err(Error::invalid(
                    "checkpoint",
                    ckpt.path_or_none().display(),
                    format!("the model now gives ROI PSNR {o} instead of {stored}; delete it to start over"),
                ));
            }
        }
        ckpt.original_psnr = Some(o);

        let progress = progress_bar(self.progress);
        if ckpt.has_results() {
            progress.println(format!("resuming from {}", ckpt.path_or_none().display()));
        }
        let mut runner = Runner {
            model,
            degradation,
            hr,
            library: &library,
            grid: &grid,
            base,
            origin,
            meter,
            seed: self.seed,
            batch_size,
            scale,
            progress: progress.clone(),
        };
        let in_region = |i: &u32| match region {
            None => true,
            Some(r) => {
                let (x, y) = grid.input_origin(*i);
                x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height
            }
        };
        let cells: Vec<u32> = grid
            .intervened_cells()
            .into_iter()
            .filter(in_region)
            .collect();
        let stop = self
            .stop
            .clone()
            .unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
        let mut stages = BTreeMap::new();
        if let Some(l) = &locality {
            stages.insert(
                "locality".to_string(),
                StageStats {
                    inferences: l.inferences,
                    seconds: l.seconds,
                },
            );
        }
        let samples_of =
            self.sample_cells(&mut runner, &mut ckpt, &stop, &cells, o, &mut stages)?;
        progress.finish_and_clear();
        let map_cells = make_cells(&grid, &samples_of, o, self.tol);
        let traces: Vec<serde_json::Value> = self
            .trace
            .iter()
            .map(|&(r, c)| {
                let draws = samples_of
                    .get(&(r * grid.cols + c))
                    .map(|(v, _)| v.clone())
                    .unwrap_or_default();
                serde_json::json!({ "row": r, "col": c, "psnr_db": draws })
            })
            .collect();
        let info = MapInfo {
            format: 1,
            cem_version: env!("CARGO_PKG_VERSION").to_string(),
            model: model.name(),
            image: self.image_name.clone().unwrap_or_else(|| "image".into()),
            task: degradation.name(),
            degradation: degradation.describe(),
            library: library.source().to_string(),
            library_size: library.len(),
            strategy: self.label(),
            settings: self.settings_json(device),
            roi,
            block: self.block,
            scale,
            tol: self.tol,
            seed: self.seed,
            device: device_name(device),
            width: hr.width(),
            height: hr.height(),
            original_psnr: o,
            stages,
            batch_size: runner.batch_size,
            extra: serde_json::json!({ "locality": locality.as_ref().map_or(
                serde_json::Value::String("off".into()),
                |l| serde_json::to_value(l).unwrap_or_default(),
            )}),
        };
        let mut info = info;
        if !traces.is_empty() {
            info.extra["traces"] = serde_json::Value::Array(traces);
        }
        ckpt.finish()?;
        Ok(CausalEffectMap {
            rows: grid.rows,
            cols: grid.cols,
            cells: map_cells,
            info,
        })
    }

    /// Runs the strategy's stages over `cells`; returns each cell's PSNRs after
    /// intervention and the stage they came from.
    fn sample_cells(
        &self,
        runner: &mut Runner<'_>,
        ckpt: &mut Checkpoint,
        stop: &AtomicBool,
        cells: &[u32],
        o: f64,
        stages: &mut BTreeMap<String, StageStats>,
    ) -> Result<HashMap<u32, (Vec<f64>, Stage)>> {
        Ok(match self.strategy {
            Strategy::CoarseToFine { coarse, fine } => {
                let items = repeat_items(cells, coarse);
                runner.progress.set_length(items.len() as u64);
                let res = run_stage(
                    runner,
                    ckpt,
                    stop,
                    STAGE_COARSE,
                    self.coarse_sampling,
                    &items,
                    stages,
                    self.progress,
                )?;
                let coarse_of = group(cells, coarse, &res);
                let sensitive: Vec<u32> = cells
                    .iter()
                    .copied()
                    .filter(|c| coarse_of[c].iter().any(|&p| is_sensitive(o, p, self.tol)))
                    .collect();
                let items = repeat_items(&sensitive, fine);
                runner
                    .progress
                    .set_length(runner.progress.position() + items.len() as u64);
                let res = run_stage(
                    runner,
                    ckpt,
                    stop,
                    STAGE_FINE,
                    self.fine_sampling,
                    &items,
                    stages,
                    self.progress,
                )?;
                let mut fine_of = group(&sensitive, fine, &res);
                cells
                    .iter()
                    .map(|&c| match fine_of.remove(&c) {
                        Some(v) => (c, (v, Stage::Fine)),
                        None => (c, (coarse_of[&c].clone(), Stage::Coarse)),
                    })
                    .collect()
            }
            Strategy::Full { t } => {
                let items = repeat_items(cells, t);
                runner.progress.set_length(items.len() as u64);
                let res = run_stage(
                    runner,
                    ckpt,
                    stop,
                    STAGE_FULL,
                    self.full_sampling,
                    &items,
                    stages,
                    self.progress,
                )?;
                group(cells, t, &res)
                    .into_iter()
                    .map(|(c, v)| (c, (v, Stage::Full)))
                    .collect()
            }
        })
    }

    fn settings_json(&self, device: Device) -> serde_json::Value {
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

/// One [`Cell`] per grid cell: the ROI's at `+inf`, cells outside a locality crop at
/// exactly 0 with no samples, the others `O - mean(PSNR)` with `|phi| < tol` set to 0.
fn make_cells(
    grid: &Grid,
    samples_of: &HashMap<u32, (Vec<f64>, Stage)>,
    o: f64,
    tol: f64,
) -> Vec<Cell> {
    (0..grid.len())
        .map(|i| {
            let (row, col) = (i / grid.cols, i % grid.cols);
            match samples_of.get(&i) {
                None if !grid.is_roi(i) => Cell {
                    row,
                    col,
                    effect_db: 0.0,
                    samples: 0,
                    std_err: 0.0,
                    stage: Stage::Skipped,
                    kind: CellKind::None,
                },
                None => Cell {
                    row,
                    col,
                    effect_db: f64::INFINITY,
                    samples: 0,
                    std_err: 0.0,
                    stage: Stage::Roi,
                    kind: CellKind::Roi,
                },
                Some((psnrs, stage)) => {
                    let (mean, se) = mean_and_se(psnrs);
                    let effect = zero_below(o - mean, tol);
                    Cell {
                        row,
                        col,
                        effect_db: effect,
                        samples: psnrs.len() as u32,
                        std_err: se,
                        stage: *stage,
                        kind: CellKind::of(effect),
                    }
                }
            }
        })
        .collect()
}

fn progress_bar(on: bool) -> ProgressBar {
    if !on {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>6} [{bar:30}] {pos}/{len} inferences  {per_sec}  eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

/// Runs one stage, resuming from and saving to the checkpoint, and records its stats.
#[allow(clippy::too_many_arguments)] // private; the stage's context, passed once
fn run_stage(
    runner: &mut Runner<'_>,
    ckpt: &mut Checkpoint,
    stop: &AtomicBool,
    (name, id): (&str, u64),
    sampling: Sampling,
    items: &[Item],
    stages: &mut BTreeMap<String, StageStats>,
    notes: bool,
) -> Result<Vec<f64>> {
    let results = ckpt.take(name, items.len())?;
    if !results.is_empty() {
        note(
            notes,
            runner,
            format!(
                "resumed: {} of {} {name} inferences from the checkpoint",
                thousands(results.len()),
                thousands(items.len())
            ),
        );
    }
    let mut results = results;
    runner.progress.set_prefix(name.to_string());
    runner.progress.inc(results.len() as u64);
    let start = Instant::now();
    let earlier = ckpt.seconds.get(name).copied().unwrap_or(0.0);
    let outcome = runner.run_stage(id, sampling, items, &mut results, |done| {
        if STOP.swap(false, Ordering::SeqCst) || stop.swap(false, Ordering::SeqCst) {
            return Err(Error::Interrupted {
                done: done.len(),
                total: items.len(),
                checkpoint: ckpt.path_or_none(),
            });
        }
        if ckpt.is_due(CHECKPOINT_EVERY_S) {
            ckpt.results.insert(name.to_string(), done.to_vec());
            ckpt.seconds
                .insert(name.to_string(), earlier + start.elapsed().as_secs_f64());
            ckpt.save()?;
        }
        Ok(())
    });
    let seconds = earlier + start.elapsed().as_secs_f64();
    ckpt.seconds.insert(name.to_string(), seconds);
    ckpt.results.insert(name.to_string(), results.clone());
    if let Err(e) = outcome {
        // keep whatever was measured, whatever went wrong
        let _ = ckpt.save();
        return Err(e);
    }
    stages.insert(
        name.to_string(),
        StageStats {
            inferences: results.len(),
            seconds,
        },
    );
    Ok(results.into_iter().map(psnr_of).collect())
}

/// A line for the user: above the progress bar, or on stderr when the bar is hidden
/// (not a terminal) but progress is on.
fn note(on: bool, runner: &Runner<'_>, line: String) {
    if on {
        if runner.progress.is_hidden() {
            eprintln!("{line}");
        } else {
            runner.progress.println(line);
        }
    }
}

/// `1242` as `1,242`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Eq. 3: a coarse draw makes its cell sensitive unless `|O - PSNR| < tol`; a NaN
/// difference (both infinite) counts as sensitive.
fn is_sensitive(o: f64, psnr: f64, tol: f64) -> bool {
    (o - psnr).abs().partial_cmp(&tol) != Some(std::cmp::Ordering::Less)
}

fn repeat_items(cells: &[u32], n: u32) -> Vec<Item> {
    cells
        .iter()
        .flat_map(|&cell| (0..n).map(move |t| Item { cell, t }))
        .collect()
}

fn group(cells: &[u32], n: u32, results: &[f64]) -> HashMap<u32, Vec<f64>> {
    cells
        .iter()
        .zip(results.chunks(n as usize))
        .map(|(&c, r)| (c, r.to_vec()))
        .collect()
}

fn mean_and_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 || !mean.is_finite() {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

fn auto_batch(device: Device, input: &RgbImage, scale: u32) -> usize {
    match device {
        Device::Cpu => 8,
        _ => {
            // keep a batch's input + output under ~1 GiB; activations scale alike
            let per =
                4 * 3 * (input.width() * input.height()) as usize * (1 + (scale * scale) as usize);
            ((1usize << 30) / (per * 8)).clamp(1, 64)
        }
    }
}

fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

fn builtin_library(block: u32) -> Result<Arc<Library>> {
    static CACHE: OnceLock<Mutex<HashMap<u32, Arc<Library>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(l) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&block) {
        return Ok(l.clone());
    }
    let lib = Arc::new(Library::builtin(block)?);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(block, lib.clone());
    Ok(lib)
}
