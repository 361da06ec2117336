//! The `cem` command line: `demo`, `map`, `bench`, `table`, `plot`, `train`,
//! `convert-weights`, `info`, `degrade`, `lam`, `pixel-opt`.
//!
//! Every choice is checked by clap (`--help` lists the values; a typo is refused with
//! them), and the settings several commands share are one argument group each:
//! [`TaskArgs`] (task, scale, sigma) and [`DeviceArgs`] (device, threads).

use anyhow::{Context, Result};
use cem::prelude::*;
use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Instant;

/// The tasks of `cem map` (each may carry settings, `NAME:key=value,...`).
const TASKS: [&str; 8] = [
    "sr", "dn", "dr", "sr-up", "blur", "jpeg", "haze", "lowlight",
];

/// A value checked by clap with a parse function: a value whose name (the part before
/// `:`) is not one of `names` is refused with the valid values listed; one that does
/// not parse is refused with the parser's message.
#[derive(Clone)]
struct Checked<T> {
    /// Shown in `--help` and listed when a value is refused.
    names: &'static [&'static str],
    /// Whether the value's name is a known one (`None`: leave it to `parse`).
    known: Option<fn(&str) -> bool>,
    parse: fn(&str) -> cem::Result<T>,
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Checked<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<T, clap::Error> {
        let arg_name = arg.map_or_else(|| "...".to_string(), |a| a.to_string());
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        if let Some(known) = self.known {
            if !known(text) {
                let mut err = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
                err.insert(ContextKind::InvalidArg, ContextValue::String(arg_name));
                err.insert(ContextKind::InvalidValue, ContextValue::String(text.into()));
                err.insert(
                    ContextKind::ValidValue,
                    ContextValue::Strings(self.names.iter().map(|n| n.to_string()).collect()),
                );
                return Err(err);
            }
        }
        (self.parse)(text).map_err(|e| {
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("invalid value '{text}' for '{arg_name}': {}\n", e.report()),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.names.iter().map(PossibleValue::new)))
    }
}

/// The name of a task value: the part before `:`, lower case.
fn task_name(text: &str) -> String {
    text.split(':')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `--task` of the commands that make a map's input.
fn task_parser() -> Checked<String> {
    Checked {
        names: &TASKS,
        known: Some(|t| TASKS.contains(&task_name(t).as_str())),
        parse: |t| Task::parse(t, 4, 50.0).map(|_| t.to_string()),
    }
}

/// `cem train --task`: a map task, `mixed` or `mio`.
fn train_task_parser() -> Checked<String> {
    const ALL: [&str; 10] = [
        "sr", "dn", "dr", "sr-up", "blur", "jpeg", "haze", "lowlight", "mixed", "mio",
    ];
    Checked {
        names: &ALL,
        known: Some(|t| ALL.contains(&task_name(t).as_str())),
        parse: |t| cem::train::TrainTask::parse(t, 4, 50.0).map(|_| t.to_string()),
    }
}

/// `--device`: checked for its form here; whether CUDA is there, when it is used.
fn device_parser() -> Checked<String> {
    Checked {
        names: &["cpu", "cuda", "cuda:N", "auto"],
        known: Some(|t| {
            let t = t.trim().to_ascii_lowercase();
            matches!(t.as_str(), "cpu" | "cuda" | "gpu" | "auto")
                || t.strip_prefix("cuda:")
                    .is_some_and(|i| i.parse::<usize>().is_ok())
        }),
        parse: |t| Ok(t.to_string()),
    }
}

/// `--strategy`: `cCfF`, `cCfF-u` or `full:T`.
fn strategy_parser() -> Checked<(cem::engine::Strategy, Option<Sampling>)> {
    Checked {
        names: &[
            "c3f50",
            "cCfF",
            "cCfF-u",
            "full:T",
            "adaptive",
            "adaptive:BUDGET",
            "adaptive:PCT%",
            "adaptive-crn",
            "adaptive-cv",
            "adaptive-cv-l",
            "adaptive-cv-q-l",
            "adaptive:60%-s-q-l",
        ],
        known: None,
        parse: cem::engine::Strategy::parse,
    }
}

/// `--arch`: the zoo's architectures.
fn arch_parser() -> Checked<cem::zoo::Arch> {
    const NAMES: [&str; 10] = [
        "srcnn",
        "dncnn",
        "srresnet",
        "edsr",
        "rcan",
        "rcan_ap16",
        "swinir",
        "srresnet_mix",
        "rcan_mix",
        "swinir_mix",
    ];
    Checked {
        names: &NAMES,
        known: Some(|t| cem::zoo::Arch::parse(t).is_ok()),
        parse: cem::zoo::Arch::parse,
    }
}

/// The task, and the two settings of the basic tasks, shared by `map`, `bench`,
/// `degrade`, `lam` and (with `mixed` and `mio` too) `train`.
#[derive(clap::Args)]
struct TaskArgs {
    /// The degradation: sr, dn, dr, sr-up (SR upsampled back, scale-1 models), blur,
    /// jpeg, haze or lowlight; settings as NAME:key=value,... (e.g. jpeg:quality=30,
    /// blur:kernel=15,sigma=2, haze:airlight=0.9,beta=1.8,
    /// lowlight:gamma=2,scale=1,sigma=0).
    #[arg(long, value_parser = task_parser())]
    task: Option<String>,
    #[command(flatten)]
    level: LevelArgs,
}

/// `--scale` and `--sigma`, refused for the tasks they do not apply to.
#[derive(clap::Args)]
struct LevelArgs {
    /// SR scale (default 4; only for sr and sr-up, and train's mixed and mio).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    scale: Option<u32>,
    /// DN noise level in u8 levels (default 50; only for dn, and train's mixed).
    #[arg(long, allow_negative_numbers = true, value_parser = noise_level)]
    sigma: Option<f64>,
}

/// `--sigma`: a finite number of u8 levels, at least 0 (`-5` is refused by name, not
/// taken for an option).
fn noise_level(text: &str) -> std::result::Result<f64, String> {
    let v: f64 = text
        .parse()
        .map_err(|e| format!("'{text}' is not a number ({e})"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!(
            "'{text}': the noise level must be a finite number >= 0"
        ))
    }
}

impl LevelArgs {
    /// Refuses `--scale` and `--sigma` where `task` (its name) does not use them.
    fn check(&self, task: &str) -> Result<()> {
        let name = task_name(task);
        let uses_scale = matches!(name.as_str(), "sr" | "sr-up" | "mixed" | "mio");
        let uses_sigma = matches!(name.as_str(), "dn" | "mixed");
        if let (Some(scale), false) = (self.scale, uses_scale) {
            anyhow::bail!(
                "--scale {scale} only applies to --task sr or sr-up, not --task {task}; remove it"
            );
        }
        if let (Some(sigma), false) = (self.sigma, uses_sigma) {
            anyhow::bail!(
                "--sigma {sigma} only applies to --task dn, not --task {task}; remove it"
            );
        }
        Ok(())
    }

    fn scale(&self) -> u32 {
        self.scale.unwrap_or(4)
    }

    fn sigma(&self) -> f64 {
        self.sigma.unwrap_or(50.0)
    }
}

impl TaskArgs {
    /// The task's text as given (or the command's default).
    fn text(&self) -> &str {
        self.task.as_deref().unwrap_or("dn")
    }

    /// The task, with `--scale` and `--sigma` checked against it.
    fn task(&self) -> Result<Task> {
        self.level.check(self.text())?;
        Ok(Task::parse(
            self.text(),
            self.level.scale(),
            self.level.sigma(),
        )?)
    }
}

/// Where the model runs, shared by every command that runs one.
#[derive(clap::Args)]
struct DeviceArgs {
    /// cpu, cuda, cuda:N or auto (CUDA when available).
    #[arg(long, default_value = "cpu", value_parser = device_parser())]
    device: String,
    /// libtorch CPU threads (default: libtorch's choice).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    threads: Option<i32>,
}

impl DeviceArgs {
    /// Sets the thread count and resolves the device (an error when CUDA is asked
    /// for and absent).
    fn device(&self) -> Result<Device> {
        if let Some(n) = self.threads {
            tch::set_num_threads(n);
        }
        Ok(parse_device(&self.device)?)
    }
}

/// The generator of a degraded input.
#[derive(Clone, Copy, ValueEnum)]
enum RngArg {
    /// ChaCha8, seeded from --seed (the default).
    Chacha,
    /// NumPy's legacy generator: the authors' exact DN and DR inputs.
    Numpy,
}

impl RngArg {
    fn kind(self) -> cem::degrade::RngKind {
        match self {
            RngArg::Chacha => cem::degrade::RngKind::ChaCha,
            RngArg::Numpy => cem::degrade::RngKind::Numpy,
        }
    }
}

/// The demo's task.
#[derive(Clone, Copy, ValueEnum)]
enum DemoTask {
    /// The shipped DnCNN, sigma 50.
    Dn,
    /// The shipped SRResNet, x4.
    Sr,
}

/// What `cem table` computes.
#[derive(Clone, Copy, ValueEnum)]
enum TableKind {
    /// Per task and model: the paper's Table I.
    Table1,
    /// Per library and model: Table II.
    Table2,
    /// Per strategy against the full pipeline: Table III.
    Table3,
    /// One row per map.
    Maps,
}

/// What `cem plot` draws.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Layout {
    /// Input, output, map, pie and colour bar; one row per map.
    Panel,
    /// Models x tasks.
    Grid,
    /// Side by side, one colour bar.
    Compare,
    /// Per-model averages.
    Pies,
    /// Fig. 7: stored LAM and CEM results of one image and ROI, one row per model.
    LamVsCem,
    /// Fig. 6: running mean effect from trace.csv files.
    Traces,
}

/// The learning-rate schedule of `cem train`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScheduleArg {
    /// Cosine to 1e-6.
    Cosine,
    /// Multiply by --gamma every --step-every steps.
    Step,
}

/// The loss of `cem train`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LossArg {
    /// Mean absolute error.
    L1,
    /// Minus the mean per-crop PSNR: every crop weighs by its own error scale (MIO).
    Psnr,
}

/// LAM's objective.
#[derive(Clone, Copy, ValueEnum)]
enum ObjectiveArg {
    /// attr_grad: the window's gradient magnitude (the default).
    Grad,
    /// attr_id: the plain sum of the window's outputs.
    Id,
}

impl ObjectiveArg {
    fn objective(self) -> cem::attrib::Objective {
        match self {
            ObjectiveArg::Grad => cem::attrib::Objective::Grad,
            ObjectiveArg::Id => cem::attrib::Objective::Id,
        }
    }
}

#[derive(Parser)]
#[command(
    name = "cem",
    version,
    about = "Causal Effect Maps for low-level vision models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; the adaptive strategy's settings make MapArgs large
enum Command {
    /// Compute a real C3F50 map on the embedded defaults and print its Table I line.
    Demo {
        /// The shipped model to map.
        #[arg(long, value_enum, default_value_t = DemoTask::Dn)]
        task: DemoTask,
        /// Output folder.
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
    },
    /// Compute the causal effect map of a TorchScript or native model for one image and ROI.
    Map(MapArgs),
    /// Time a map against the same number of pure forward passes (the engine's overhead).
    Bench(BenchArgs),
    /// Tables from stored maps: the paper's Tables I-III, or one row per map.
    Table(TableArgs),
    /// Figures from stored maps: one-map panels, model x task grids, side-by-side
    /// comparisons, average pies.
    Plot(PlotArgs),
    /// Train a native network (SR, DN, DR or mixed) on photos, resumably.
    Train(TrainArgs),
    /// Convert a PyTorch checkpoint (.pth, legacy or zip) to safetensors.
    ConvertWeights {
        /// The checkpoint.
        input: PathBuf,
        /// The .safetensors file to write (never the checkpoint itself).
        output: PathBuf,
        /// Allow arbitrary pickles (only for files you trust).
        #[arg(long)]
        unsafe_pickle: bool,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// Print where libtorch was found and whether CUDA works.
    Info,
    /// Write a task's degraded input for a ground-truth image.
    Degrade(DegradeArgs),
    /// Local Attribution Map (LAM, the authors' blur-path integrated gradients) of a
    /// model for one image and ROI: lam.npy, lam.json, lam.png.
    Lam(LamArgs),
    /// The single-pixel experiment (Fig. 8): optimise one input pixel of a stored
    /// map's most negative cell with Adam; pixel.csv, pixel.json, pixel.png.
    PixelOpt(PixelArgs),
    /// Run a study: the authors' YAML config (plus our fields), one map per unit of
    /// its cross product, resumable and shardable; `cem study status DIR` shows it.
    Study(StudyArgs),
    /// One self-contained HTML report over stored maps and studies: Tables I-III
    /// (sortable), a thumbnail per map linking to its details, the studies' settings.
    Report {
        /// Result or study folders (searched recursively), cem.json files or globs.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The HTML file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct PixelArgs {
    /// A map folder written by `cem map` (cem.json, cem.csv, input.png, hr.png).
    #[arg(long)]
    map: PathBuf,
    /// The map's model (default: the one cem.json names).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Adam steps.
    #[arg(long, default_value_t = 2000)]
    iters: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// The input pixel X,Y to optimise (default: largest initial loss gradient).
    #[arg(long)]
    pixel: Option<String>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

fn parse_cells(texts: &[String]) -> Result<Vec<(u32, u32)>> {
    texts
        .iter()
        .map(|t| -> Result<(u32, u32)> {
            let bad =
                || anyhow::anyhow!("--trace '{t}': expected ROW,COL (two non-negative integers)");
            let (r, c) = t.split_once(',').ok_or_else(bad)?;
            Ok((
                r.trim().parse().map_err(|_| bad())?,
                c.trim().parse().map_err(|_| bad())?,
            ))
        })
        .collect()
}

fn pixel_command(a: PixelArgs) -> Result<()> {
    let device = a.device.device()?;
    let folder = cem::attrib::MapFolder::load(&a.map)?;
    let spec = match &a.model {
        Some(m) => m.clone(),
        None => PathBuf::from(folder.model_spec()?),
    };
    let model = load_model(&spec, device)?;
    let (map, input, truth) = (&folder.map, &folder.input, &folder.truth);
    let mut opt = cem::attrib::PixelOpt::new().iters(a.iters).lr(a.lr);
    if let Some(p) = &a.pixel {
        let bad = || anyhow::anyhow!("--pixel '{p}': expected X,Y");
        let (x, y) = p.split_once(',').ok_or_else(bad)?;
        opt = opt.pixel(
            x.trim().parse().map_err(|_| bad())?,
            y.trim().parse().map_err(|_| bad())?,
        );
    }
    let result = opt.run(model.as_ref(), input, truth, map)?;
    result.save(&a.out)?;
    result.figure()?.save(a.out.join(cem::attrib::PIXEL_PNG))?;
    println!(
        "cell ({},{}) {:.3} dB, pixel ({},{}) [{}]: ROI PSNR {:.3} -> {:.3} dB ({:+.3}); black pixel {:.3} dB; wrote {}",
        result.cell.0,
        result.cell.1,
        result.cell_effect_db,
        result.pixel.0,
        result.pixel.1,
        result.pixel_choice,
        result.start_psnr(),
        result.final_psnr(),
        result.gain_db(),
        result.black_psnr_db,
        a.out.display()
    );
    Ok(())
}

#[derive(clap::Args)]
#[command(mut_arg("task", |a| a.default_value("sr")))]
struct LamArgs {
    /// TorchScript model file, or shipped:NAME.
    #[arg(long)]
    model: PathBuf,
    /// Ground-truth image, degraded by --task to make the model's input.
    #[arg(long, required_unless_present = "input", conflicts_with = "input")]
    image: Option<PathBuf>,
    /// An already degraded input (what the model receives).
    #[arg(long)]
    input: Option<PathBuf>,
    #[command(flatten)]
    task: TaskArgs,
    /// ROI as X,Y,SIZE in output pixels (SIZE is LAM's window).
    #[arg(long)]
    roi: String,
    /// Blur of the path's baseline (LAM's sigma).
    #[arg(long, default_value_t = 1.2)]
    blur_sigma: f64,
    /// Path points (LAM's fold).
    #[arg(long, default_value_t = 50)]
    fold: usize,
    /// Blur kernel side (LAM's l).
    #[arg(long, default_value_t = 9)]
    kernel: usize,
    /// The objective LAM differentiates.
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Grad)]
    objective: ObjectiveArg,
    /// Path points per forward/backward.
    #[arg(long, default_value_t = 10, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    batch: usize,
    /// Seed of the degradation (DN noise, DR rain).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    device: DeviceArgs,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

fn lam_command(a: LamArgs) -> Result<()> {
    let device = a.device.device()?;
    let roi = Roi::parse(&a.roi)?;
    let (input, name) = match (&a.input, &a.image) {
        (Some(p), _) => (load_rgb(p)?, p),
        (None, Some(p)) => {
            let task = a.task.task()?;
            (task.degradation(a.seed)?.degrade(&load_rgb(p)?)?, p)
        }
        (None, None) => anyhow::bail!("give --image or --input"),
    };
    let model = load_model(&a.model, device)?;
    let lam = cem::attrib::Lam::new()
        .sigma(a.blur_sigma)
        .fold(a.fold)
        .l(a.kernel)
        .objective(a.objective.objective())
        .batch(a.batch);
    let start = Instant::now();
    let mut map = lam.run(model.as_ref(), &input, roi)?;
    let seconds = start.elapsed().as_secs_f64();
    map.image = name
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    map.extra = serde_json::json!({
        "device": cem::model::device_name(device),
        "seconds": seconds,
        "task": a.task.text(),
        "model_spec": a.model.to_string_lossy(),
    });
    map.save(&a.out)?;
    println!(
        "LAM {} {}: Gini {:.4}, DI {:.2} ({:.2} s); wrote {}",
        map.model,
        a.roi,
        map.gini(),
        map.diffusion_index(),
        seconds,
        a.out.display()
    );
    Ok(())
}

#[derive(clap::Args)]
#[command(mut_arg("task", |a| a.required(true)))]
struct DegradeArgs {
    #[command(flatten)]
    task: TaskArgs,
    /// Ground-truth image.
    #[arg(long)]
    image: PathBuf,
    /// The degraded input to write (.png).
    #[arg(long)]
    out: PathBuf,
    /// The seed (DR's rain: combined with the first integer in the file name; with
    /// --rng numpy DR uses that integer alone, as the authors).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The generator of the degradation's randomness.
    #[arg(long, value_enum, default_value_t = RngArg::Chacha)]
    rng: RngArg,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// The architecture (the scale-1 *_mix ones with --task mixed, dn or dr).
    #[arg(long, value_parser = arch_parser())]
    arch: cem::zoo::Arch,
    /// sr, dn, dr, mixed (SR + DN + DR), mio (the seven MIO tasks), or any map task.
    #[arg(long, value_parser = train_task_parser())]
    task: String,
    #[command(flatten)]
    level: LevelArgs,
    /// Feature channels (default: the published size).
    #[arg(long)]
    feats: Option<i64>,
    /// Residual blocks (per group for RCAN; convolutions for DnCNN).
    #[arg(long)]
    blocks: Option<usize>,
    /// RCAN residual groups.
    #[arg(long)]
    groups: Option<usize>,
    /// Optimiser steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Crops per step.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Ground-truth crop side.
    #[arg(long, default_value_t = 64)]
    crop: u32,
    /// Base learning rate (Adam).
    #[arg(long, default_value_t = 2e-4)]
    lr: f64,
    /// The learning-rate schedule.
    #[arg(long, value_enum, default_value_t = ScheduleArg::Cosine)]
    schedule: ScheduleArg,
    /// Steps between decays of the step schedule.
    #[arg(long, default_value_t = 1000)]
    step_every: usize,
    /// Decay factor of the step schedule.
    #[arg(long, default_value_t = 0.5)]
    gamma: f64,
    /// Steps between validations and checkpoints.
    #[arg(long, default_value_t = 200)]
    val_every: usize,
    /// The loss.
    #[arg(long, value_enum, default_value_t = LossArg::L1)]
    loss: LossArg,
    /// The one seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder of training photos (default: the embedded ones but astronaut.png); kept in
    /// train.json by name and digest, and a resume on other photos is refused.
    #[arg(long)]
    photos: Option<PathBuf>,
    /// Start from these weights instead of random ones: shipped:NAME or a
    /// .safetensors/.pth file of the same architecture and size (read when the run
    /// starts; a resumed run continues from its own).
    #[arg(long)]
    init: Option<String>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Output folder (weights.safetensors, train.json); an existing run resumes. One
    /// trainer at a time: a second one into the same folder is refused.
    #[arg(long)]
    out: PathBuf,
    /// Also export TorchScript (model.pt) at the end.
    #[arg(long)]
    export: bool,
}

#[derive(clap::Args)]
struct PlotArgs {
    /// Result folders (searched recursively), cem.json files or glob patterns.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The figure.
    #[arg(long, value_enum, default_value_t = Layout::Panel)]
    layout: Layout,
    /// Output file, .png or .svg.
    #[arg(long)]
    out: PathBuf,
    /// Colour bound in dB (default: the task's, SR 2.5, DN 1, DR 2).
    #[arg(long)]
    bound: Option<f64>,
    /// Weight of the input in the blend (the paper: 0.1; 0 draws the bare map).
    #[arg(long, default_value_t = 0.1)]
    input_alpha: f64,
    /// Model years for the pies, as NAME=YEAR,NAME=YEAR.
    #[arg(long)]
    years: Option<String>,
}

#[derive(clap::Args)]
struct TableArgs {
    /// The table.
    #[arg(value_enum)]
    kind: TableKind,
    /// Result folders (searched recursively), cem.json files or glob patterns.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write here instead of printing: .csv or .parquet (numbers), .md, .html, .tsv, .txt.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
#[command(mut_arg("task", |a| a.required(true)))]
struct MapArgs {
    /// TorchScript model file, or shipped:NAME: a model of data/models (or of $CEM_MODELS),
    /// e.g. shipped:dncnn-s-dn50, shipped:srresnet-s-x4, shipped:rcan-s-dn50; a wrong name
    /// lists them all.
    #[arg(long, required_unless_present = "arch", conflicts_with = "arch")]
    model: Option<PathBuf>,
    #[command(flatten)]
    native: NativeArgs,
    /// Ground-truth (high-resolution) image.
    #[arg(long)]
    image: PathBuf,
    /// An already degraded input to use instead of degrading --image.
    #[arg(long)]
    input: Option<PathBuf>,
    #[command(flatten)]
    task: TaskArgs,
    /// ROI as X,Y,SIZE in output pixels.
    #[arg(long)]
    roi: String,
    /// Block size in output pixels.
    #[arg(long, default_value_t = 8)]
    block: u32,
    /// c3f50, cCfF (C coarse and F fine samples per cell), cCfF-u (fine stage uniform
    /// over gradient ranges of 128; -uW: of width W), full:T (T samples per cell), or
    /// adaptive (as many samples per cell as its effect needs; adaptive-crn: common
    /// random numbers across cells; adaptive-cv: control variates, each cell's mean
    /// corrected by the regression on its patches' channel means; -l: draws where they
    /// lower the error of the thresholded map most, counting the risk of a cell near
    /// --tol landing on the wrong side; -q: quick screening, a cell whose first two
    /// effects are below a tenth of --tol is unrelated at once).
    #[arg(long, default_value = "c3f50", value_parser = strategy_parser())]
    strategy: (cem::engine::Strategy, Option<Sampling>),
    /// With --strategy adaptive: at most N interventions in all (screening included).
    #[arg(long, value_name = "N")]
    budget: Option<u64>,
    /// With --strategy adaptive: the map's expected relative L1 error at which it stops
    /// (a fraction; default 0.09 for adaptive, 0.06 for adaptive-cv).
    #[arg(long, value_name = "FRACTION")]
    target: Option<f64>,
    /// Tolerance in dB.
    #[arg(long, default_value_t = 0.01)]
    tol: f64,
    /// Intervention library: a folder of patches or of photos (default: built-in).
    #[arg(long)]
    library: Option<PathBuf>,
    /// The one seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    device: DeviceArgs,
    /// Interventions per model call (default automatic: 8 on CPU, 64 on CUDA, lowered
    /// to what fits the free memory).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    batch_size: Option<usize>,
    /// Run every intervention on the whole input, even for a local model.
    #[arg(long)]
    no_locality: bool,
    /// Keep every intervention's ROI PSNR for cell ROW,COL in trace.csv (repeatable).
    #[arg(long = "trace", value_name = "ROW,COL")]
    traces: Vec<String>,
    /// Generator of the degraded input (numpy: the authors' exact DN and DR inputs;
    /// DR seeds with the first integer in the image's file name).
    #[arg(long, value_enum, default_value_t = RngArg::Chacha)]
    rng: RngArg,
    /// DR: the rain layer (grey or RGB PNG) the input carries, with --beta.
    #[arg(long, requires = "beta")]
    rain_layer: Option<PathBuf>,
    /// DR: the layer's blending weight (with --rain-layer).
    #[arg(long, requires = "rain_layer")]
    beta: Option<f64>,
    /// Output folder for cem.csv and cem.json.
    #[arg(long)]
    out: PathBuf,
}

/// A native network with a checkpoint, for `cem map` instead of `--model`.
#[derive(clap::Args)]
struct NativeArgs {
    /// A native architecture (as for `cem train`) to map with --weights instead of --model;
    /// its scale is the task's.
    #[arg(long, requires = "weights", value_parser = arch_parser())]
    arch: Option<cem::zoo::Arch>,
    /// The native network's weights (.safetensors, or a .pth checkpoint).
    #[arg(long, requires = "arch")]
    weights: Option<PathBuf>,
    /// The native network's feature channels (default: the published size).
    #[arg(long, requires = "arch")]
    feats: Option<i64>,
    /// Its residual blocks (per group for RCAN; convolutions for DnCNN).
    #[arg(long, requires = "arch")]
    blocks: Option<usize>,
    /// Its residual groups (RCAN) or residual Swin Transformer blocks (SwinIR).
    #[arg(long, requires = "arch")]
    groups: Option<usize>,
}

impl NativeArgs {
    /// The network with its weights, at `scale`; `None` without `--arch`.
    fn load(&self, scale: u32, device: Device) -> Result<Option<Box<dyn Model>>> {
        use cem::zoo::{NetConfig, Network};
        let (Some(arch), Some(weights)) = (&self.arch, &self.weights) else {
            return Ok(None);
        };
        let mut net = NetConfig::new(*arch, scale as i64);
        if let Some(f) = self.feats {
            net = net.feats(f);
        }
        if let Some(b) = self.blocks {
            net = net.blocks(b);
        }
        if let Some(g) = self.groups {
            net = net.groups(g);
        }
        Ok(Some(Box::new(Network::load(net, weights, device)?)))
    }
}

#[derive(clap::Args)]
#[command(mut_arg("task", |a| a.default_value("dn")))]
struct BenchArgs {
    /// TorchScript model or shipped:NAME (default: the demo's built-in denoiser, for
    /// --task dn).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Ground truth (default: the demo image).
    #[arg(long)]
    image: Option<PathBuf>,
    #[command(flatten)]
    task: TaskArgs,
    /// ROI as X,Y,SIZE.
    #[arg(long, default_value = "96,152,32")]
    roi: String,
    /// c3f50, cCfF, cCfF-u, full:T or adaptive.
    #[arg(long, default_value = "c3f50", value_parser = strategy_parser())]
    strategy: (cem::engine::Strategy, Option<Sampling>),
    #[command(flatten)]
    device: DeviceArgs,
    /// Batch size (default automatic).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    batch_size: Option<usize>,
    /// Alternating (map, pure forward) measurements; the best of each is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    repeat: usize,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn table_command(args: TableArgs) -> Result<()> {
    // a study folder: one row per unit, with its status
    if matches!(args.kind, TableKind::Maps) && args.paths.iter().all(cem::study::StudyDir::is_study)
    {
        let table = cem::study::units_table(&args.paths)?;
        match args.out {
            Some(out) => table.write(&out)?,
            None => print!("{table}"),
        }
        return Ok(());
    }
    let maps = cem::stats::MapSet::load(&args.paths)?;
    let table = match args.kind {
        TableKind::Table1 => maps.table1()?,
        TableKind::Table2 => maps.table2()?,
        TableKind::Table3 => maps.table3()?,
        TableKind::Maps => {
            cem::stats::Table::from_frame(format!("{} maps", maps.len()), maps.frame()?)?
        }
    };
    match args.out {
        Some(out) => {
            table.write(&out)?;
            eprintln!("wrote {} ({} maps)", out.display(), maps.len());
        }
        None => print!("{table}"),
    }
    Ok(())
}

fn train_command(a: TrainArgs) -> Result<()> {
    use cem::train::{Schedule, TrainConfig, TrainTask};
    use cem::zoo::NetConfig;
    let device = a.device.device()?;
    a.level.check(&a.task)?;
    let task = TrainTask::parse(&a.task, a.level.scale(), a.level.sigma())?;
    // one trainer per folder (issue 17): a second one would interleave checkpoints
    let _lock = cem::map::FolderLock::acquire(&a.out)?;
    let mut net = NetConfig::new(a.arch, task.net_scale() as i64);
    if let Some(f) = a.feats {
        net = net.feats(f);
    }
    if let Some(b) = a.blocks {
        net = net.blocks(b);
    }
    if let Some(g) = a.groups {
        net = net.groups(g);
    }
    let mut config = TrainConfig::new(net, task);
    config.steps = a.steps;
    config.batch = a.batch;
    config.crop = a.crop;
    config.lr = a.lr;
    config.seed = a.seed;
    config.val_every = a.val_every;
    config.checkpoint_every = a.val_every;
    config.init = a.init.clone();
    config.loss = match a.loss {
        LossArg::L1 => cem::train::Loss::L1,
        LossArg::Psnr => cem::train::Loss::Psnr,
    };
    if a.schedule == ScheduleArg::Step {
        config.schedule = Schedule::Step {
            every: a.step_every,
            gamma: a.gamma,
        };
    }
    let report = cem::train::train(&config, &a.out, a.photos.as_deref(), device, true)?;
    println!("{report}");
    if a.export && report.finished {
        let mut net = cem::zoo::Network::load(
            config.net.clone(),
            a.out.join(cem::train::WEIGHTS_NAME),
            device,
        )?;
        let path = a.out.join("model.pt");
        net.export_torchscript(&path, 64)?;
        println!("exported {}", path.display());
    }
    Ok(())
}

fn plot_command(a: PlotArgs) -> Result<()> {
    use cem::plot::{self, MapView};
    let style = MapStyle {
        bound: a.bound,
        input_alpha: a.input_alpha,
        ..MapStyle::default()
    };
    let dirs = cem::stats::find_maps(&a.paths)?;
    let figure = if a.layout == Layout::LamVsCem {
        let lams = cem::attrib::find_lams(&a.paths)?
            .iter()
            .map(cem::attrib::StoredLam::load)
            .collect::<cem::Result<Vec<_>>>()?;
        let views = dirs
            .iter()
            .map(MapView::load)
            .collect::<cem::Result<Vec<_>>>()?;
        cem::attrib::lam_vs_cem(&cem::attrib::pair_lams_with_maps(lams, views)?, &style)?
    } else if a.layout == Layout::Traces {
        let sets = dirs
            .iter()
            .filter(|d| d.join(cem::attrib::TRACE_CSV).is_file())
            .map(cem::attrib::Traces::load)
            .collect::<cem::Result<Vec<_>>>()?;
        anyhow::ensure!(
            !sets.is_empty(),
            "no trace.csv beside the given maps (run cem map --trace R,C)"
        );
        cem::attrib::trace_figure(&sets)?
    } else if a.layout == Layout::Pies {
        let mut years = std::collections::HashMap::new();
        for pair in a
            .years
            .iter()
            .flat_map(|y| y.split(','))
            .filter(|p| !p.is_empty())
        {
            let (name, year) = pair
                .split_once('=')
                .with_context(|| format!("--years: '{pair}' is not NAME=YEAR"))?;
            let year: u32 = year
                .trim()
                .parse()
                .with_context(|| format!("--years: '{year}' is not a year"))?;
            years.insert(name.trim().to_string(), year);
        }
        let rows = cem::stats::MapSet::load(&dirs)?.table1_rows()?;
        plot::pies(&plot::PieStats::from_table1(&rows, &years), &style)?
    } else {
        let views = dirs
            .iter()
            .map(MapView::load)
            .collect::<cem::Result<Vec<_>>>()?;
        for (dir, view) in dirs.iter().zip(&views) {
            let missing = view.missing_images();
            if !missing.is_empty() && a.layout == Layout::Panel {
                eprintln!(
                    "note: {} has no {}: those panels are left out",
                    dir.display(),
                    missing.join(" or ")
                );
            }
        }
        match a.layout {
            Layout::Grid => plot::grid_by_model_and_task(&views, &style)?,
            Layout::Compare => plot::compare(&views, None, &style)?,
            _ => plot::panels(&views, &style)?,
        }
    };
    figure.save(&a.out)?;
    eprintln!(
        "wrote {} ({}x{}, {} maps)",
        a.out.display(),
        figure.width,
        figure.height,
        dirs.len()
    );
    Ok(())
}

/// The error and its sources joined by `: `, each text once (see
/// [`cem::error::report_chain`]).
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for part in e.chain().map(|c| c.to_string()) {
        if text.is_empty() {
            text = part;
        } else if !part.is_empty() && !text.ends_with(&part) {
            text += ": ";
            text += &part;
        }
    }
    text
}

fn main() {
    // before libtorch starts its threads: CPU passes reuse freed memory instead of
    // faulting it in anew (3x faster for whole-image models; cem::model::allocator)
    cem::model::keep_freed_memory();
    if let Err(e) = run() {
        eprintln!("error: {}", error_text(&e));
        if let Some(cem::Error::Interrupted { .. }) = e.downcast_ref::<cem::Error>() {
            std::process::exit(cem::engine::INTERRUPTED_EXIT_CODE);
        }
        std::process::exit(1);
    }
}

fn install_ctrlc() {
    // first Ctrl-C/SIGTERM: stop after the batch and save; second: exit 130 at once
    if let Err(e) = cem::engine::install_signal_handler() {
        eprintln!("warning: {e}");
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { task, out } => {
            install_ctrlc();
            let _lock = cem::map::FolderLock::acquire(&out)?;
            let start = Instant::now();
            let task = match task {
                DemoTask::Dn => Task::Dn { sigma: 50.0 },
                DemoTask::Sr => Task::Sr { scale: 4 },
            };
            let map = cem::demo::run_demo(&out, task, true)?;
            println!("{}", cem::demo::locality_line(&map));
            println!("{}", map.table1_line());
            println!(
                "wrote {} in {:.1} s",
                out.display(),
                start.elapsed().as_secs_f64()
            );
        }
        Command::Map(args) => {
            install_ctrlc();
            map_command(args)?;
        }
        Command::Bench(args) => bench_command(args)?,
        Command::Table(args) => table_command(args)?,
        Command::Plot(args) => plot_command(args)?,
        Command::Train(args) => {
            install_ctrlc();
            train_command(args)?
        }
        Command::ConvertWeights {
            input,
            output,
            unsafe_pickle,
            force,
        } => {
            let options = cem::zoo::ConvertOptions {
                unsafe_pickle,
                force,
            };
            let summary = cem::zoo::convert_weights(&input, &output, options)?;
            println!("wrote {}: {summary}", output.display());
        }
        Command::Degrade(args) => degrade_command(args)?,
        Command::Lam(args) => lam_command(args)?,
        Command::PixelOpt(args) => pixel_command(args)?,
        Command::Study(args) => study_command(args)?,
        Command::Report { paths, out } => {
            let report = cem::report::Report::load(&paths)?;
            std::fs::write(&out, report.to_html()?)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} ({} maps)", out.display(), report.len());
        }
        Command::Info => {
            println!("cem {}", env!("CARGO_PKG_VERSION"));
            println!(
                "libtorch (build): {}",
                option_env!("CEM_LIBTORCH_LIB").unwrap_or("unknown")
            );
            println!("CUDA backend loaded: {}", cem::model::ensure_cuda_loaded());
            println!("CUDA available: {}", cem::model::cuda_available());
            println!("CUDA devices: {}", tch::Cuda::device_count());
            println!("CPU threads: {}", tch::get_num_threads());
        }
    }
    Ok(())
}

fn map_command(a: MapArgs) -> Result<()> {
    let task = a.task.task()?;
    // one writer per folder, and an unwritable --out found before any inference
    let _lock = cem::map::FolderLock::acquire(&a.out)?;
    let roi = Roi::parse(&a.roi)?;
    let device = a.device.device()?;
    let (mut strategy, fine_sampling) = a.strategy;
    let flags = [
        a.budget.map(|n| format!("--budget {n}")),
        a.target.map(|t| format!("--target {t}")),
    ];
    match &mut strategy {
        cem::engine::Strategy::Adaptive(plan) => {
            plan.budget = a.budget.or(plan.budget);
            plan.target = a.target.unwrap_or(plan.target);
            plan.check()?; // names a bad --target
        }
        other => {
            if let Some(flag) = flags.into_iter().flatten().next() {
                anyhow::bail!(
                    "{flag} applies to --strategy adaptive, not --strategy {}; remove it",
                    other.label()
                );
            }
        }
    }
    let hr = load_rgb(&a.image)?;
    let model = match &a.model {
        Some(spec) => load_model(spec, device)?,
        None => a
            .native
            .load(task.degradation(a.seed)?.scale(), device)?
            .context("give --model, or --arch with --weights")?,
    };
    let mut cem = Cem::new(strategy)
        .block(a.block)
        .tol(a.tol)
        .seed(a.seed)
        .checkpoint(a.out.join("cem.partial.json"))
        .image_name(
            a.image
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    if let Some(s) = fine_sampling {
        cem = cem.fine_sampling(s);
    }
    if let Some(n) = a.batch_size {
        cem = cem.batch_size(n);
    }
    cem = cem.locality(!a.no_locality);
    if !a.traces.is_empty() {
        cem = cem.trace(parse_cells(&a.traces)?);
    }
    if let Some(dir) = &a.library {
        cem = cem.library(Library::open(dir, a.block, a.seed)?);
    }
    if let Some(p) = &a.input {
        cem = cem.input(load_rgb(p)?);
    }
    cem = cem.rng(a.rng.kind());
    let degradation: Box<dyn Degradation> = match (&a.rain_layer, a.beta) {
        (Some(layer), Some(beta)) => {
            anyhow::ensure!(
                task == Task::Dr,
                "--rain-layer is for --task dr, not {}",
                task.name()
            );
            Box::new(cem::degrade::SuppliedRain::from_layer(
                &load_rgb(layer)?,
                beta,
            )?)
        }
        _ => cem.degradation(&task, &hr)?,
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut run = cem.run_with(model.as_ref(), &hr, degradation.as_ref(), roi)?;
    // which model made the map, for `cem pixel-opt`
    run.map.info.model_spec = a.model.as_ref().map(|m| m.to_string_lossy().into_owned());
    // the map with the input, output and ground truth it was measured on, for `cem plot`
    run.save(&a.out)?;
    if !a.traces.is_empty() {
        cem::attrib::Traces::of(&run)?.save(&a.out)?;
    }
    let map = run.map;
    println!("{}", cem::demo::locality_line(&map));
    println!("{}", map.table1_line());
    Ok(())
}

/// A TorchScript file, or `shipped:NAME` for a model shipped in `data/models`.
fn load_model(spec: &std::path::Path, device: Device) -> Result<Box<dyn Model>> {
    let text = spec.to_string_lossy();
    Ok(match text.strip_prefix("shipped:") {
        Some(name) => Box::new(cem::zoo::shipped(name, device)?),
        None => Box::new(TorchScript::load(spec, device)?),
    })
}

fn bench_command(a: BenchArgs) -> Result<()> {
    let task = a.task.task()?;
    let roi = Roi::parse(&a.roi)?;
    let device = a.device.device()?;
    let (strategy, fine_sampling) = a.strategy;
    let hr = match &a.image {
        Some(p) => load_rgb(p)?,
        None => cem::demo::demo_image()?,
    };
    let model: Box<dyn Model> = match &a.model {
        Some(p) => load_model(p, device)?,
        None => {
            anyhow::ensure!(
                matches!(task, Task::Dn { .. }),
                "the built-in model is a denoiser (for --task dn); give --model for --task {}",
                a.task.text()
            );
            Box::new(cem::demo::demo_model(device))
        }
    };
    let mut cem = Cem::new(strategy);
    if let Some(s) = fine_sampling {
        cem = cem.fine_sampling(s);
    }
    if let Some(n) = a.batch_size {
        cem = cem.batch_size(n);
    }
    let report = cem::bench::bench(&cem, &model, &hr, &task, roi, a.repeat)?;
    println!("{report}");
    if let Some(p) = &a.json {
        std::fs::write(p, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn degrade_command(a: DegradeArgs) -> Result<()> {
    let task = a.task.task()?;
    let rng = a.rng.kind();
    let hr = load_rgb(&a.image)?;
    let name = a
        .image
        .file_name()
        .map(|f| f.to_string_lossy().into_owned());
    let degradation = task.degradation_with(a.seed, rng, name.as_deref())?;
    let input = degradation.degrade(&hr)?;
    save_rgb(&input, &a.out)?;
    println!(
        "wrote {} ({}x{}): {}",
        a.out.display(),
        input.width(),
        input.height(),
        degradation.describe()
    );
    Ok(())
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct StudyArgs {
    #[command(subcommand)]
    action: Option<StudyAction>,
    /// The study config (YAML: the authors' fields and ours).
    #[arg(required = true)]
    config: Option<PathBuf>,
    /// The study's result folder.
    #[arg(long, required = true)]
    out: Option<PathBuf>,
    /// Run shard I of N (from 0); default from SLURM_ARRAY_TASK_ID/COUNT or
    /// JOB_COMPLETION_INDEX with CEM_SHARD_COUNT, else the whole study.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Run units whose last run failed again.
    #[arg(long)]
    retry_failed: bool,
    /// cpu, cuda, cuda:N or auto (default: the config's device, else cpu).
    #[arg(long)]
    device: Option<String>,
    /// Units computed at the same time (each worker loads its own model).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

#[derive(Subcommand)]
enum StudyAction {
    /// done / running / failed / pending units of a study folder, with errors.
    Status {
        /// The study's result folder.
        dir: PathBuf,
    },
    /// Submit the study as a SLURM job array (task I runs shard I/N).
    Submit(SubmitArgs),
}

#[derive(clap::Args)]
struct SubmitArgs {
    /// The study config.
    config: PathBuf,
    /// The study's result folder (on a file system the nodes share).
    #[arg(long)]
    out: PathBuf,
    /// Submit to SLURM with sbatch (the one scheduler supported).
    #[arg(long, required = true)]
    slurm: bool,
    /// Array tasks (default: one per unit, at most 100).
    #[arg(long)]
    array: Option<usize>,
    /// GPUs per task.
    #[arg(long)]
    gpus_per_task: Option<u32>,
    /// The partition.
    #[arg(long)]
    partition: Option<String>,
    /// The time limit per task (e.g. 2:00:00).
    #[arg(long)]
    time: Option<String>,
    /// The device of each task (cpu, cuda, ...; default: the config's).
    #[arg(long)]
    device: Option<String>,
    /// Print the job script instead of submitting it.
    #[arg(long)]
    dry_run: bool,
}

fn study_command(a: StudyArgs) -> Result<()> {
    match &a.action {
        Some(StudyAction::Status { dir }) => {
            print!("{}", cem::study::status_text(dir)?);
            if let Some(s) = cem::study::scheduler_status(dir) {
                println!("{s}");
            }
            return Ok(());
        }
        Some(StudyAction::Submit(s)) => return submit_command(s),
        None => {}
    }
    let (Some(config), Some(out)) = (&a.config, &a.out) else {
        anyhow::bail!("give the study config and --out DIR");
    };
    install_ctrlc();
    let shard = match &a.shard {
        Some(s) => cem::study::Shard::parse(s)?,
        None => cem::study::Shard::from_env()?.unwrap_or(cem::study::Shard::ALL),
    };
    let study = cem::study::Study::load(config)?;
    eprintln!(
        "study {}: {} units, shard {shard}",
        config.display(),
        study.units.len()
    );
    let opts = cem::study::RunOptions {
        shard,
        retry_failed: a.retry_failed,
        device: a.device.clone(),
        progress: true,
        jobs: a.jobs,
    };
    let summary = cem::study::run_study(&study, out, &opts)?;
    println!("{summary}");
    anyhow::ensure!(
        summary.failed.is_empty(),
        "{} units failed (cem study status {}; --retry-failed reruns them)",
        summary.failed.len(),
        out.display()
    );
    Ok(())
}

fn submit_command(a: &SubmitArgs) -> Result<()> {
    let study = cem::study::Study::load(&a.config)?;
    let opts = cem::study::SlurmOptions {
        array: a.array,
        gpus_per_task: a.gpus_per_task,
        partition: a.partition.clone(),
        time: a.time.clone(),
        device: a.device.clone(),
    };
    if a.dry_run {
        let cem = std::env::current_exe()?;
        print!(
            "{}",
            cem::study::sbatch_script(&study, &a.out, &cem, &opts)?
        );
        return Ok(());
    }
    let id = cem::study::submit(&study, &a.out, &opts)?;
    println!(
        "submitted SLURM job {id}: {} units in {} tasks; cem study status {}",
        study.units.len(),
        cem::study::array_size(study.units.len(), &opts)?,
        a.out.display()
    );
    Ok(())
}
