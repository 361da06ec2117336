//! Running a study: this shard's units, each claimed with a lock, computed into a
//! partial folder (with its checkpoint) and renamed into place when complete.

use super::folder::{StudyDir, UnitState, UNIT_JSON};
use super::shard::Shard;
use super::units::{ModelSource, Study, Unit};
use crate::engine::{Cem, Strategy};
use crate::error::{Error, Result};
use crate::image::{crop, load_rgb};
use crate::library::Library;
use crate::model::{Model, TorchScript};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tch::Device;

/// How to run a study.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// This process's share.
    pub shard: Shard,
    /// Run units whose last run failed again.
    pub retry_failed: bool,
    /// The device (overrides the config's).
    pub device: Option<String>,
    /// Show a progress bar over the units.
    pub progress: bool,
    /// Units computed at the same time, each worker with its own copy of the model (a
    /// small model leaves a GPU idle between batches otherwise); default 1.
    pub jobs: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            shard: Shard::ALL,
            retry_failed: false,
            device: None,
            progress: false,
            jobs: 1,
        }
    }
}

/// What a run did with this shard's units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    /// Units in this shard.
    pub units: usize,
    /// Computed now.
    pub computed: usize,
    /// Already finished (kept).
    pub kept: usize,
    /// Held by another process.
    pub busy: usize,
    /// Failed now (ids with errors).
    pub failed: Vec<(String, String)>,
    /// Failed before and not retried.
    pub skipped_failed: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The summed engine time of the maps computed now, in seconds.
    pub map_seconds: f64,
    /// libtorch CPU threads each worker ran with (`None` on a GPU): the process's
    /// setting shared among the jobs ([`threads_per_job`]).
    pub cpu_threads: Option<i32>,
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} units: {} computed, {} kept, {} held by another process, {} failed now, {} failed before (--retry-failed reruns them); {:.1} s wall, {:.1} s in the maps' engines",
            self.units,
            self.computed,
            self.kept,
            self.busy,
            self.failed.len(),
            self.skipped_failed,
            self.seconds,
            self.map_seconds
        )?;
        if let Some(n) = self.cpu_threads {
            write!(f, "; {n} libtorch thread(s) per job")?;
        }
        for (id, e) in &self.failed {
            write!(f, "\n  failed {id}: {e}")?;
        }
        Ok(())
    }
}

/// Loads a unit's model.
pub fn load_model(source: &ModelSource, scale: u32, device: Device) -> Result<Box<dyn Model>> {
    Ok(match source {
        ModelSource::TorchScript { path } => Box::new(TorchScript::load(path, device)?),
        ModelSource::Shipped { name } => Box::new(crate::zoo::shipped(name, device)?),
        ModelSource::Native {
            arch,
            weights,
            feats,
            blocks,
            groups,
        } => {
            use crate::zoo::{Arch, NetConfig, Network};
            let mut net = NetConfig::new(Arch::parse(arch)?, scale as i64);
            if let Some(f) = feats {
                net = net.feats(*f);
            }
            if let Some(b) = blocks {
                net = net.blocks(*b);
            }
            if let Some(g) = groups {
                net = net.groups(*g);
            }
            Box::new(Network::load(net, weights, device)?)
        }
    })
}

/// Models and libraries kept between units (the units are sorted so that one model's
/// units follow each other): one model at a time, every library opened once.
#[derive(Default)]
struct Cache {
    model: Option<(String, Box<dyn Model>)>,
    libraries: HashMap<(String, u32, u64), Arc<Library>>,
}

impl Cache {
    fn model(&mut self, unit: &Unit, scale: u32, device: Device) -> Result<&dyn Model> {
        let key = format!("{}@{scale}", unit.model);
        if self.model.as_ref().map(|(k, _)| k) != Some(&key) {
            self.model = None;
            self.model = Some((key, load_model(&unit.source, scale, device)?));
        }
        Ok(self
            .model
            .as_ref()
            .map(|(_, m)| m.as_ref())
            .expect("just set"))
    }

    fn library(&mut self, unit: &Unit) -> Result<Option<Arc<Library>>> {
        if unit.library == "builtin" {
            return Ok(None);
        }
        let key = (unit.library.clone(), unit.block, unit.seed);
        if let Some(l) = self.libraries.get(&key) {
            return Ok(Some(l.clone()));
        }
        let l = Arc::new(Library::open(&unit.library, unit.block, unit.seed)?);
        self.libraries.insert(key, l.clone());
        Ok(Some(l))
    }
}

/// Computes one unit into `dir`: the run's folder ([`crate::map::MapRun::save`]: the
/// map, the model's input and output, the ground truth) and `unit.json`. A checkpoint in `dir`
/// (`cem.partial.json`) is resumed. This is the study's one place that drives the
/// engine.
pub fn run_unit(
    unit: &Unit,
    model: &dyn Model,
    library: Option<Arc<Library>>,
    dir: &Path,
    stop: Arc<AtomicBool>,
) -> Result<crate::map::MapRun> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let task = unit.parsed_task()?;
    let degradation = task.degradation_with(
        unit.seed,
        crate::degrade::RngKind::parse(&unit.rng)?,
        Some(&unit.image),
    )?;
    let scale = degradation.scale();
    // as the authors: the ground truth cropped to a multiple of the scale
    let hr = load_rgb(&unit.image_path)?;
    let hr = if scale > 1 && (hr.width() % scale != 0 || hr.height() % scale != 0) {
        crop(
            &hr,
            0,
            0,
            hr.width() / scale * scale,
            hr.height() / scale * scale,
        )?
    } else {
        hr
    };
    let (strategy, fine_sampling) = Strategy::parse(&unit.strategy)?;
    let mut cem = Cem::new(strategy)
        .block(unit.block)
        .tol(unit.tol)
        .seed(unit.seed)
        .checkpoint(dir.join("cem.partial.json"))
        .progress(false)
        .image_name(unit.image.clone())
        .locality(unit.locality)
        .rng(crate::degrade::RngKind::parse(&unit.rng)?)
        .stop_flag(stop);
    if let Some(s) = fine_sampling {
        cem = cem.fine_sampling(s);
    }
    if let Some(n) = unit.batch_size {
        cem = cem.batch_size(study_batch(n, model.device()));
    }
    if let Some(l) = library {
        cem = cem.library(l);
    }
    let mut run = cem.run_with(model, &hr, degradation.as_ref(), unit.roi)?;
    run.map.info.model = unit.model.clone();
    run.map.info.model_spec = Some(match &unit.source {
        ModelSource::TorchScript { path } => path.display().to_string(),
        ModelSource::Shipped { name } => format!("shipped:{name}"),
        other => other.describe(),
    });
    run.save(dir)?;
    crate::map::files::write_atomic(&dir.join(UNIT_JSON), &serde_json::to_vec_pretty(unit)?)?;
    Ok(run)
}

/// Runs this shard's units of `study` into `out`: finished units are kept (unless the
/// config says `load_previous: 0`), units another process holds are left to it, units
/// that failed before are skipped unless `retry_failed`. A unit that fails is recorded
/// in `failed/` and the run goes on; an interruption (Ctrl-C) stops the run with the
/// unit's checkpoint saved.
pub fn run_study(study: &Study, out: &Path, opts: &RunOptions) -> Result<RunSummary> {
    let start = Instant::now();
    if opts.jobs == 0 {
        return Err(Error::invalid("jobs", 0, "at least 1 unit at a time"));
    }
    let folder = StudyDir::new(out);
    folder.write_plan(&study.text, &study.units)?;
    let device = crate::model::parse_device(opts.device.as_deref().unwrap_or(&study.device))?;
    let mine = opts.shard.select(&study.units);
    let summary = RunSummary {
        units: mine.len(),
        ..Default::default()
    };
    let bar = if opts.progress {
        let b = ProgressBar::new(mine.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} units {elapsed} (eta {eta}) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let keep = study.config.load_previous();
    let queue = Mutex::new(mine.into_iter());
    let summary = Mutex::new(summary);
    let interrupted: Mutex<Option<Error>> = Mutex::new(None);
    // a stop seen by one worker's run (Ctrl-C) is passed on to the others' runs
    let stop = Arc::new(AtomicBool::new(false));
    let halting = AtomicBool::new(false);
    // what the workers' libtorch runs with, as they see it
    let seen_threads = std::sync::atomic::AtomicI32::new(0);
    let worker = || -> Result<()> {
        seen_threads.store(tch::get_num_threads(), Ordering::SeqCst);
        let mut cache = Cache::default();
        loop {
            if halting.load(Ordering::SeqCst) {
                return Ok(());
            }
            let Some(unit) = queue.lock().unwrap_or_else(|e| e.into_inner()).next() else {
                return Ok(());
            };
            bar.set_message(unit.id.clone());
            let outcome = run_one(
                &folder,
                unit,
                keep,
                opts.retry_failed,
                device,
                &mut cache,
                &stop,
            );
            let mut sum = summary.lock().unwrap_or_else(|e| e.into_inner());
            match outcome {
                Ok(Outcome::Computed(seconds)) => {
                    sum.computed += 1;
                    sum.map_seconds += seconds;
                }
                Ok(Outcome::Kept) => sum.kept += 1,
                Ok(Outcome::Busy) => sum.busy += 1,
                Ok(Outcome::FailedBefore) => sum.skipped_failed += 1,
                Err(e @ Error::Interrupted { .. }) => {
                    halting.store(true, Ordering::SeqCst);
                    stop.store(true, Ordering::SeqCst);
                    interrupted
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(e);
                    return Ok(());
                }
                Err(e) => {
                    let text = e.to_string();
                    bar.println(format!("failed {}: {text}", unit.id));
                    folder.record_failure(&unit.id, &text)?;
                    sum.failed.push((unit.id.clone(), text));
                }
            }
            bar.inc(1);
        }
    };
    let jobs = opts.jobs;
    // CPU workers share libtorch's threads instead of each asking for all of them
    let threads_before = tch::get_num_threads();
    let threads = threads_per_job(threads_before, jobs);
    let shared = device == Device::Cpu && threads != threads_before;
    if shared {
        tch::set_num_threads(threads);
        if opts.progress {
            bar.println(format!(
                "{jobs} jobs on the CPU: {threads} libtorch thread(s) each instead of {threads_before}"
            ));
        }
    }
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs).map(|_| scope.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::ModelFailed("a study worker panicked".into())))
            })
            .collect()
    });
    if shared {
        tch::set_num_threads(threads_before);
    }
    if let Some(e) = interrupted.into_inner().unwrap_or_else(|e| e.into_inner()) {
        bar.abandon();
        return Err(e);
    }
    results.into_iter().collect::<Result<Vec<()>>>()?;
    let mut summary = summary.into_inner().unwrap_or_else(|e| e.into_inner());
    summary.cpu_threads = (device == Device::Cpu).then(|| seen_threads.load(Ordering::SeqCst));
    bar.finish_and_clear();
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// libtorch CPU threads for each of `jobs` workers when the process has `threads`: an
/// equal share, at least one, so that the workers together ask for no more threads than
/// the process was given. Measured on two cores with `--jobs 2` (docs/studies.md): two
/// RCAN-s maps 11.8 s against 12.4 s with two threads each, the SR demo study 37.2 s
/// against 37.6 s. Separate *processes* that together ask for more threads than there
/// are cores are far worse (notebooks/README.md); this cannot see those.
pub fn threads_per_job(threads: i32, jobs: usize) -> i32 {
    let jobs = i32::try_from(jobs.max(1)).unwrap_or(i32::MAX);
    (threads / jobs).max(1)
}

enum Outcome {
    Computed(f64),
    Kept,
    Busy,
    FailedBefore,
}

/// The batch for a config's `batch_size_dict` entry `n` on `device`: the authors' sizes
/// are GPU batches (hundreds), used as given on CUDA; on the CPU they are capped at the
/// CPU default ([`default_batch`](crate::model::memory::default_batch), 8), since big
/// batches only thrash its caches (the SR demo study took 71.9 s at the authors' 800-900,
/// capped to ~300 by the memory plan, against 35.9 s at 8, the same maps).
pub fn study_batch(n: usize, device: tch::Device) -> usize {
    match device {
        tch::Device::Cpu => n.min(crate::model::memory::default_batch(device)),
        _ => n,
    }
}

fn run_one(
    folder: &StudyDir,
    unit: &Unit,
    keep: bool,
    retry_failed: bool,
    device: Device,
    cache: &mut Cache,
    stop: &Arc<AtomicBool>,
) -> Result<Outcome> {
    if keep && folder.is_done(&unit.id) {
        return Ok(Outcome::Kept);
    }
    if !retry_failed && matches!(folder.state(&unit.id), UnitState::Failed { .. }) {
        return Ok(Outcome::FailedBefore);
    }
    let _lock = match crate::map::FolderLock::acquire(folder.lock_dir(&unit.id)) {
        Ok(l) => l,
        Err(Error::FolderLocked { .. }) => return Ok(Outcome::Busy),
        Err(e) => return Err(e),
    };
    // another process may have finished it between the check and the claim
    if keep && folder.is_done(&unit.id) {
        return Ok(Outcome::Kept);
    }
    let partial = folder.partial_dir(&unit.id);
    if !keep && partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| Error::io(&partial, e))?;
    }
    let task = unit.parsed_task()?;
    let scale = task.degradation(unit.seed)?.scale();
    let library = cache.library(unit)?;
    let model = cache.model(unit, scale, device)?;
    let map = run_unit(unit, model, library, &partial, stop.clone())?;
    // the finished folder appears whole, by one rename
    let done = folder.unit_dir(&unit.id);
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(|e| Error::io(&done, e))?;
    }
    let _ = std::fs::remove_file(partial.join("cem.partial.json"));
    std::fs::rename(&partial, &done).map_err(|e| Error::io(&done, e))?;
    folder.clear_failure(&unit.id);
    Ok(Outcome::Computed(map.seconds()))
}
