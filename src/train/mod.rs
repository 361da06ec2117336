//! Training the zoo's networks: L1 (or per-crop PSNR) loss, Adam, cosine or step
//! schedule, random photo crops with flips and rotations degraded on the fly (SR, DN, DR,
//! mixed or MIO), seeded, resumable, with validation PSNR against doing nothing.
//!
//! ```no_run
//! use cem::train::{train, TrainConfig, TrainTask};
//! use cem::zoo::{Arch, NetConfig};
//! # fn main() -> cem::Result<()> {
//! let task = TrainTask::parse("dn", 1, 50.0)?;
//! let config = TrainConfig::new(NetConfig::new(Arch::Dncnn, 1).feats(32).blocks(8), task);
//! let report = train(&config, "runs/dncnn-small".as_ref(), None, tch::Device::Cpu, true)?;
//! println!("{report}");
//! # Ok(()) }
//! ```
//!
//! Every batch is drawn from `(seed, step)` alone, so a resumed run sees the same data
//! as an uninterrupted one. Checkpoints (`weights.safetensors` + `train.json`) are
//! written every `checkpoint_every` steps, at the end, and when Ctrl-C stops the run;
//! on resume Adam's moment estimates start afresh (tch does not expose them). A
//! finished run can be extended by asking for more `steps` (the schedule then spans the
//! new total); any other change of settings needs a new folder.

mod data;
pub mod mio;

pub use data::{PhotoRecord, Photos, TrainTask};

use crate::error::{Error, Result};
use crate::image::{psnr, tensor_to_rgb};
use crate::zoo::{NetConfig, Network};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use tch::nn::OptimizerConfig;
use tch::{Device, Kind, Tensor};

/// The learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Schedule {
    /// Cosine annealing from the base rate to `min_lr` over the run.
    Cosine {
        /// The final rate.
        min_lr: f64,
    },
    /// Multiply by `gamma` every `every` steps.
    Step {
        /// Steps between decays.
        every: usize,
        /// Decay factor.
        gamma: f64,
    },
}

impl Schedule {
    /// The rate at `step` of `steps` for base rate `lr`.
    pub fn rate(&self, lr: f64, step: usize, steps: usize) -> f64 {
        match *self {
            Schedule::Cosine { min_lr } => {
                let t = step as f64 / steps.max(1) as f64;
                min_lr + 0.5 * (lr - min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Schedule::Step { every, gamma } => lr * gamma.powi((step / every.max(1)) as i32),
        }
    }
}

/// The training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// The mean absolute error over the batch (the papers' loss).
    #[default]
    L1,
    /// Minus the mean per-crop PSNR in dB (peak 1): the mean over crops of
    /// `10 log10(MSE + 1e-8)`. Every crop counts by its own error scale, so a task whose
    /// inputs are nearly clean (JPEG, 35 dB doing nothing) weighs as much as one far off
    /// (haze, 11 dB), as in the validation PSNR. Under L1 the far-off tasks dominate the
    /// gradient of the seven MIO tasks (`data/models/README.md`).
    Psnr,
}

impl Loss {
    /// The loss of prediction `pred` against `target` (batches of the same shape).
    pub fn of(&self, pred: &Tensor, target: &Tensor) -> Tensor {
        let diff = pred - target;
        match self {
            Loss::L1 => diff.abs().mean(Kind::Float),
            Loss::Psnr => {
                let mse = diff
                    .square()
                    .mean_dim(&[1i64, 2, 3][..], false, Kind::Float);
                ((mse + 1e-8).log10() * 10.0).mean(Kind::Float)
            }
        }
    }

    /// Its name in `cem train --loss`.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::L1 => "l1",
            Loss::Psnr => "psnr",
        }
    }
}

/// Everything that defines a training run (saved in `train.json`; a resume must match).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The network.
    pub net: NetConfig,
    /// The task.
    pub task: TrainTask,
    /// Optimiser steps.
    pub steps: usize,
    /// Crops per step.
    pub batch: usize,
    /// Side of the ground-truth crops (the SR scale must divide it).
    pub crop: u32,
    /// Base learning rate (Adam).
    pub lr: f64,
    /// Schedule.
    pub schedule: Schedule,
    /// The one seed.
    pub seed: u64,
    /// Steps between validations (and progress-bar updates of the PSNR).
    pub val_every: usize,
    /// Validation crops (fixed, from the validation photos); for MIO, crops per task
    /// ([`Photos::validation_batch`]).
    pub val_crops: usize,
    /// Steps between checkpoints.
    pub checkpoint_every: usize,
    /// The loss (records written before it existed read as L1).
    #[serde(default)]
    pub loss: Loss,
    /// Weights a new run starts from instead of random ones (warm start): `shipped:NAME`
    /// or a `.safetensors`/`.pth` file of the same architecture and size. `None`: random
    /// (seeded). Read once, when the run starts; a resume continues from its own weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
}

impl TrainConfig {
    /// Defaults sized for a CPU: 2,000 steps of 16 crops of 64 px, Adam 2e-4 with
    /// cosine annealing to 1e-6, seed 0. The paper-size recipe on a GPU is the same
    /// with the published network size, more steps and larger crops.
    pub fn new(net: NetConfig, task: TrainTask) -> Self {
        TrainConfig {
            net,
            task,
            steps: 2000,
            batch: 16,
            crop: 64,
            lr: 2e-4,
            schedule: Schedule::Cosine { min_lr: 1e-6 },
            seed: 0,
            val_every: 200,
            val_crops: 8,
            checkpoint_every: 200,
            loss: Loss::L1,
            init: None,
        }
    }

    fn check(&self) -> Result<()> {
        if self.net.scale != self.task.net_scale() as i64 {
            return Err(Error::invalid(
                "scale",
                self.net.scale,
                format!(
                    "the task {} needs a network of scale {}",
                    self.task.name(),
                    self.task.net_scale()
                ),
            ));
        }
        let s = self.task.net_scale().max(match self.task {
            TrainTask::Mixed { scale, .. } => scale,
            TrainTask::Mio { scale } => scale,
            TrainTask::Single(crate::degrade::Task::SrUp { scale }) => scale,
            _ => 1,
        });
        if self.crop == 0 {
            return Err(Error::invalid(
                "crop",
                0,
                format!("the training crop side must be at least 1 pixel (and a multiple of {s})"),
            ));
        }
        if !self.crop.is_multiple_of(s) {
            return Err(Error::BlockDoesNotDivide {
                block: s,
                what: "training crop (the SR scale must divide it)".into(),
                value: self.crop,
            });
        }
        for (name, v) in [
            ("steps", self.steps),
            ("batch", self.batch),
            ("val_crops", self.val_crops),
        ] {
            if v == 0 {
                return Err(Error::invalid(name, v, "must be at least 1"));
            }
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::invalid("lr", self.lr, "must be a positive number"));
        }
        Ok(())
    }
}

/// One validation point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Steps done.
    pub step: usize,
    /// Mean training loss over the last steps (L1, or minus the PSNR in dB).
    pub loss: f64,
    /// Mean validation PSNR in dB.
    pub val_psnr: f64,
}

/// The state saved beside the weights, and what [`train`] returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// The run's configuration.
    pub config: TrainConfig,
    /// Steps done.
    pub step: usize,
    /// Wall time in seconds (summed over resumed runs).
    pub seconds: f64,
    /// Validation PSNR of doing nothing, in dB: the degraded input, or for SR the
    /// bicubic-upsampled LR. For SRCNN, whose first step is the authors' bicubic
    /// upsampling with `align_corners=True` ([`crate::zoo::Srcnn::upsample`], up to
    /// 1.5 px off PIL's at the edges), that upsampling: the image an untrained SRCNN
    /// starts from, which no convolution can realign.
    pub baseline_psnr: f64,
    /// Validation history.
    pub history: Vec<Point>,
    /// Whether the run reached `config.steps`.
    pub finished: bool,
    /// The photos its crops came from (`None` in records written before this was kept).
    /// A resume on other photos is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<PhotoRecord>,
}

impl std::fmt::Display for TrainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last = self.history.last();
        write!(
            f,
            "{} {} x{}: {} of {} steps in {:.0} s; validation PSNR {:.2} dB vs {:.2} dB doing nothing; loss {:.4}",
            self.config.net.arch.name(),
            self.config.task.name(),
            self.config.net.scale,
            self.step,
            self.config.steps,
            self.seconds,
            last.map_or(f64::NAN, |p| p.val_psnr),
            self.baseline_psnr,
            last.map_or(f64::NAN, |p| p.loss),
        )
    }
}

/// File names in the output folder.
pub const WEIGHTS_NAME: &str = "weights.safetensors";
/// The state file.
pub const STATE_NAME: &str = "train.json";

/// Trains (or resumes) the run in `out`; `photos` is a folder of training photos
/// (default: the embedded ones without `astronaut.png`, which validates).
pub fn train(
    config: &TrainConfig,
    out: &Path,
    photos: Option<&Path>,
    device: Device,
    progress: bool,
) -> Result<TrainReport> {
    config.check()?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let train_set = match photos {
        Some(dir) => Photos::from_folder(dir)?,
        None => Photos::builtin_train()?,
    };
    let val_set = Photos::builtin_validation()?;
    tch::manual_seed(config.seed as i64);
    let mut net = Network::new(config.net.clone(), device)?;
    let state_path = out.join(STATE_NAME);
    let mut report = if state_path.is_file() {
        let text = std::fs::read_to_string(&state_path).map_err(|e| Error::io(&state_path, e))?;
        let saved: TrainReport = serde_json::from_str(&text).map_err(|e| Error::ResultFile {
            path: state_path.clone(),
            reason: e.to_string(),
        })?;
        let same = |c: &TrainConfig| TrainConfig {
            steps: 0,
            val_every: 0,
            checkpoint_every: 0,
            ..c.clone()
        };
        if same(&saved.config) != same(config) {
            return Err(Error::ResultFile {
                path: state_path.clone(),
                reason: "this folder holds a run with other settings; use another output folder"
                    .into(),
            });
        }
        if let Some(recorded) = saved.photos.as_ref() {
            if recorded.digest != train_set.record().digest {
                return Err(Error::ResultFile {
                    path: state_path.clone(),
                    reason: format!(
                        "this folder's run trained on other photos: {recorded}, not {}; use the same photos or another output folder",
                        train_set.record()
                    ),
                });
            }
        }
        crate::zoo::load_into(net.var_store_mut(), &out.join(WEIGHTS_NAME))?;
        TrainReport {
            config: config.clone(),
            finished: saved.step >= config.steps,
            ..saved
        }
    } else {
        if let Some(init) = &config.init {
            warm_start(&mut net, init, device)?;
        }
        TrainReport {
            config: config.clone(),
            step: 0,
            seconds: 0.0,
            baseline_psnr: f64::NAN,
            history: vec![],
            finished: false,
            photos: Some(train_set.record().clone()),
        }
    };
    let (val_x, val_y) = val_set.validation_batch(
        &config.task,
        config.val_crops,
        config.crop,
        config.seed ^ 0x0056_414c,
        device,
    )?;
    let recorded = report.baseline_psnr;
    report.baseline_psnr = baseline(&val_x, &val_y, &config.net)?;
    if report.finished && recorded.to_bits() != report.baseline_psnr.to_bits() {
        // a finished run's record follows the current definitions of doing nothing and of
        // the validation crops: its baseline and its last point (the finished weights,
        // the number the family's bar reads) are measured again; earlier points stay as
        // they were measured
        if let Some(last) = report.history.last_mut() {
            last.val_psnr = validate(&net, &val_x, &val_y)?;
        }
        crate::map::files::write_atomic(&state_path, &serde_json::to_vec_pretty(&report)?)?;
    }
    let mut opt = tch::nn::Adam::default().build(net.var_store(), config.lr)?;
    let bar = if progress {
        let b = ProgressBar::new(config.steps as u64);
        b.set_style(
            ProgressStyle::with_template("train [{bar:30}] {pos}/{len} steps  {msg}  eta {eta}")
                .expect("valid template"),
        );
        b.set_position(report.step as u64);
        b
    } else {
        ProgressBar::hidden()
    };
    crate::engine::clear_stop();
    let started = Instant::now();
    let seconds_before = report.seconds;
    let (mut loss_sum, mut loss_n) = (0.0, 0usize);
    let save = |report: &mut TrainReport, net: &Network| -> Result<()> {
        report.seconds = seconds_before + started.elapsed().as_secs_f64();
        net.save_weights(out.join(WEIGHTS_NAME))?;
        crate::map::files::write_atomic(&state_path, &serde_json::to_vec_pretty(report)?)
    };
    while report.step < config.steps {
        if crate::engine::stop_requested() {
            save(&mut report, &net)?;
            bar.abandon_with_message("stopped; run again to resume");
            return Ok(report);
        }
        let seed = config
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add(report.step as u64);
        let (x, y) = train_set.batch(&config.task, config.batch, config.crop, seed, device)?;
        opt.set_lr(config.schedule.rate(config.lr, report.step, config.steps));
        let loss = config.loss.of(&net.forward_t(&x), &y);
        let value = loss.double_value(&[]);
        if !value.is_finite() {
            return Err(Error::ModelOutputNotFinite {
                count: 1,
                context: format!("training loss at step {} (try a lower --lr)", report.step),
            });
        }
        opt.backward_step(&loss);
        loss_sum += value;
        loss_n += 1;
        report.step += 1;
        bar.inc(1);
        let last = report.step == config.steps;
        if report.step % config.val_every == 0 || last {
            let val_psnr = validate(&net, &val_x, &val_y)?;
            report.history.push(Point {
                step: report.step,
                loss: loss_sum / loss_n.max(1) as f64,
                val_psnr,
            });
            (loss_sum, loss_n) = (0.0, 0);
            bar.set_message(format!(
                "loss {:.4}  val {:.2} dB (nothing: {:.2})",
                report.history.last().map_or(0.0, |p| p.loss),
                val_psnr,
                report.baseline_psnr
            ));
        }
        if report.step % config.checkpoint_every == 0 || last {
            report.finished = last;
            save(&mut report, &net)?;
        }
    }
    bar.finish();
    Ok(report)
}

/// Copies the weights named by `init` (`shipped:NAME` or a weights file) into `net`,
/// which must have the same architecture and size.
fn warm_start(net: &mut Network, init: &str, device: Device) -> Result<()> {
    let source = match init.strip_prefix("shipped:") {
        Some(name) => {
            let info = crate::zoo::shipped_info(name)?;
            if info.config != *net.config() {
                return Err(Error::invalid(
                    "init",
                    init,
                    format!(
                        "is a {} network ({:?}); this run trains {:?}",
                        info.config.arch.name(),
                        info.config,
                        net.config()
                    ),
                ));
            }
            info.load(device)?
        }
        None => Network::load(net.config().clone(), init, device).map_err(|e| {
            Error::invalid(
                "init",
                init,
                format!("cannot start {:?} from it: {e}", net.config()),
            )
        })?,
    };
    net.var_store_mut().copy(source.var_store())?;
    Ok(())
}

/// Mean PSNR over the batch, on u8-rounded images as everywhere in the toolkit.
fn mean_psnr(pred: &Tensor, truth: &Tensor) -> Result<f64> {
    let n = pred.size()[0];
    let mut sum = 0.0;
    for i in 0..n {
        let a = tensor_to_rgb(&pred.get(i))?;
        let b = tensor_to_rgb(&truth.get(i))?;
        sum += psnr(&a, &b)?;
    }
    Ok(sum / n as f64)
}

fn validate(net: &Network, x: &Tensor, y: &Tensor) -> Result<f64> {
    let pred = crate::model::Model::forward(net, x)?;
    mean_psnr(&pred, y)
}

/// Validation PSNR of doing nothing (see [`TrainReport::baseline_psnr`]).
fn baseline(x: &Tensor, y: &Tensor, net: &crate::zoo::NetConfig) -> Result<f64> {
    let scale = net.scale;
    let x = if scale == 1 {
        x.shallow_clone()
    } else if net.arch == crate::zoo::Arch::Srcnn {
        crate::zoo::Srcnn::upsample(x, scale).clamp(0.0, 1.0)
    } else {
        let (h, w) = (x.size()[2], x.size()[3]);
        x.upsample_bicubic2d([h * scale, w * scale], false, None, None)
            .clamp(0.0, 1.0)
    };
    mean_psnr(&x, y)
}
