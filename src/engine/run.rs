//! One run of Alg. 1: set up (grid, library, degraded input, the original output
//! and its ROI PSNR `O`), check locality and crop, run the strategy's stages, and
//! assemble the [`CausalEffectMap`] with its record.

use super::builder::{Cem, Plan};
use super::checkpoint::{fnv1a, Checkpoint};
use super::context::Context;
use super::grid::Grid;
use super::locality::{self, Locality, Region};
use super::runner::Runner;
use super::stages::{mean_and_se, progress_bar, Stages};
use super::stop;
use super::strategy::{sample_cells, Sampled};
use crate::degrade::{Degradation, Task};
use crate::error::{Error, Result};
use crate::image::{psnr_from_mse, tensor_to_rgb, to_tensor, Roi, RoiMeter};
use crate::library::Library;
use crate::map::{
    zero_below, CausalEffectMap, Cell, CellKind, MapInfo, MapRun, RunStage, Stage, StageStats,
    Trace,
};
use crate::model::{device_name, forward_checked, Model};
use ::image::RgbImage;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use tch::Tensor;

impl Cem {
    /// Computes the map of `model` for the ground truth `hr` degraded by `task`
    /// (seeded with this builder's seed), for the ROI `roi` in output pixels. The
    /// result holds the map with its record, the degraded input, the model's output
    /// (u8, as measured) and `hr`.
    pub fn run(&self, model: &dyn Model, hr: &RgbImage, task: &Task, roi: Roi) -> Result<MapRun> {
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
    ) -> Result<MapRun> {
        let plan = self.plan()?;
        stop::clear_stop();
        let scale = degradation.scale();
        let grid = Grid::new(hr.width(), hr.height(), self.block, scale, roi)?;
        self.check_trace(&grid)?;
        let library = self.library_for_run()?;
        let input = self.degraded_input(hr, degradation)?;
        let ctx = Context {
            model,
            degradation,
            hr,
            library: &library,
            grid: &grid,
            scale,
            seed: self.seed,
        };

        let device = model.device();
        let base = to_tensor(&input, device);
        let meter = RoiMeter::new(hr, roi, device)?;
        // before any inference: an input too large for the free memory stops here
        let memory =
            crate::model::memory::plan_batch(model, input.dimensions(), scale, self.batch_size)?;
        if memory.limited && self.run.progress {
            eprintln!("{memory}");
        }
        let batch_size = memory.batch;
        let original = forward_checked(model, &base, scale)?;
        let o = psnr_from_mse(meter.mse_tensor(&original)?.double_value(&[0]));
        let output = tensor_to_rgb(&original)?;
        let locality = self.check_locality(&plan, ctx, roi, &base, &original, batch_size)?;
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
        let mut ckpt = Checkpoint::open(self.run.checkpoint.as_deref(), fingerprint)?;
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

        let progress = progress_bar(self.run.progress);
        if ckpt.has_results() {
            progress.println(format!("resuming from {}", ckpt.path_or_none().display()));
        }
        let runner = Runner {
            ctx,
            base,
            origin,
            meter,
            batch_size,
            progress: progress.clone(),
            stratify: None,
        };
        let cells = cells_in(&grid, region);
        let stop = self
            .run
            .stop
            .clone()
            .unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
        let mut record = BTreeMap::new();
        if let Some(l) = &locality {
            record.insert(
                RunStage::Locality,
                StageStats {
                    inferences: l.inferences,
                    seconds: l.seconds,
                },
            );
        }
        let mut stages = Stages {
            runner,
            ckpt: &mut ckpt,
            stop: &stop,
            notes: self.run.progress,
            record,
        };
        let samples_of = sample_cells(&plan, &mut stages, &cells, o)?;
        progress.finish_and_clear();
        let Stages { runner, record, .. } = stages;
        let map_cells = make_cells(&grid, &samples_of, o, self.tol);
        let traces = self
            .trace
            .iter()
            .map(|&(row, col)| Trace {
                row,
                col,
                psnr_db: samples_of
                    .get(&(row * grid.cols + col))
                    .map(|s| s.psnrs.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let info = MapInfo {
            format: crate::map::files::FORMAT,
            cem_version: env!("CARGO_PKG_VERSION").to_string(),
            model: model.name(),
            image: self
                .run
                .image_name
                .clone()
                .unwrap_or_else(|| "image".into()),
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
            stages: record,
            batch_size: runner.batch_size,
            locality,
            traces,
            model_spec: None,
        };
        ckpt.finish()?;
        let map = CausalEffectMap {
            rows: grid.rows,
            cols: grid.cols,
            cells: map_cells,
            info,
        };
        Ok(MapRun {
            map,
            input: Some(input),
            output: Some(output),
            hr: Some(hr.clone()),
        })
    }

    /// Refuses trace cells outside the grid.
    fn check_trace(&self, grid: &Grid) -> Result<()> {
        match self
            .trace
            .iter()
            .find(|&&(r, c)| r >= grid.rows || c >= grid.cols)
        {
            Some(&(r, c)) => Err(Error::invalid(
                "trace cell",
                format!("{r},{c}"),
                format!("the grid has {} rows and {} columns", grid.rows, grid.cols),
            )),
            None => Ok(()),
        }
    }

    /// The library given, or the built-in one at the block size; its patches must be
    /// one block.
    fn library_for_run(&self) -> Result<Arc<Library>> {
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
        Ok(library)
    }

    /// The given input (where the degradation can carry one) or `hr` degraded, of
    /// the size the scale asks for.
    fn degraded_input(&self, hr: &RgbImage, degradation: &dyn Degradation) -> Result<RgbImage> {
        let scale = degradation.scale();
        let input = match &self.run.input {
            Some(_) if !degradation.carries_supplied_input() => {
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
        Ok(input)
    }

    /// The locality check, when on and sound for this degradation (a halo wider than
    /// a cell could reach into the crop from beyond the checked ring: such
    /// degradations run on the whole input).
    fn check_locality(
        &self,
        plan: &Plan,
        ctx: Context<'_>,
        roi: Roi,
        base: &Tensor,
        original: &Tensor,
        batch_size: usize,
    ) -> Result<Option<Locality>> {
        if !self.locality || ctx.degradation.halo() > ctx.grid.block_in {
            return Ok(None);
        }
        let probe = locality::Probe {
            ctx,
            roi,
            base,
            checks: self.checks(),
            multiple: self.multiple(),
            batch_size,
        };
        let found = probe.detect(original)?;
        if !found.local && self.run.progress {
            // never run for many minutes without saying why
            let first =
                plan.strategy.first_stage_per_cell() as usize * ctx.grid.intervened_cells().len();
            eprintln!("{}", locality::fallback_line(&found, ctx.grid, first));
        }
        Ok(Some(found))
    }
}

/// The intervened cells inside the locality crop `region` (all of them without one).
fn cells_in(grid: &Grid, region: Option<Region>) -> Vec<u32> {
    let inside = |i: &u32| match region {
        None => true,
        Some(r) => {
            let (x, y) = grid.input_origin(*i);
            x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height
        }
    };
    grid.intervened_cells().into_iter().filter(inside).collect()
}

/// One [`Cell`] per grid cell: the ROI's at `+inf`, cells outside a locality crop at
/// exactly 0 with no samples, the others `O - mean(PSNR)` with `|phi| < tol` set to 0.
fn make_cells(grid: &Grid, samples_of: &HashMap<u32, Sampled>, o: f64, tol: f64) -> Vec<Cell> {
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
                Some(sampled) => {
                    let (mean, se) = sampled
                        .estimate
                        .unwrap_or_else(|| mean_and_se(&sampled.psnrs));
                    let effect = zero_below(o - mean, tol);
                    Cell {
                        row,
                        col,
                        effect_db: effect,
                        samples: sampled.psnrs.len() as u32,
                        std_err: se,
                        stage: sampled.stage,
                        kind: CellKind::of(effect),
                    }
                }
            }
        })
        .collect()
}

/// The built-in library at `block`, built once per process.
pub(crate) fn builtin_library(block: u32) -> Result<Arc<Library>> {
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
