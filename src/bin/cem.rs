//! The `cem` command line: `demo`, `map`, `bench`, `table`, `plot`, `train`,
//! `convert-weights`, `info`, `degrade`.

use anyhow::{Context, Result};
use cem::prelude::*;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Instant;

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
enum Command {
    /// Compute a real C3F50 map on the embedded defaults and print its Table I line.
    Demo {
        /// dn (the shipped DnCNN, sigma 50) or sr (the shipped SRResNet, x4).
        #[arg(long, default_value = "dn", value_parser = ["dn", "sr"])]
        task: String,
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
        /// The .safetensors file to write.
        output: PathBuf,
        /// Allow arbitrary pickles (only for files you trust).
        #[arg(long)]
        unsafe_pickle: bool,
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
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
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
    let device = parse_device(&a.device)?;
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
    /// Task: sr, dn or dr (how --image is degraded).
    #[arg(long, default_value = "sr")]
    task: String,
    /// SR scale.
    #[arg(long, default_value_t = 4)]
    scale: u32,
    /// DN noise level in u8 levels.
    #[arg(long, default_value_t = 50.0)]
    sigma: f64,
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
    /// grad (attr_grad, the default) or id (attr_id).
    #[arg(long, default_value = "grad", value_parser = ["grad", "id"])]
    objective: String,
    /// Path points per forward/backward.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Seed of the degradation (DN noise, DR rain).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// libtorch CPU threads.
    #[arg(long)]
    threads: Option<i32>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

fn lam_command(a: LamArgs) -> Result<()> {
    if let Some(n) = a.threads {
        tch::set_num_threads(n);
    }
    let device = parse_device(&a.device)?;
    let roi = Roi::parse(&a.roi)?;
    let (input, name) = match (&a.input, &a.image) {
        (Some(p), _) => (load_rgb(p)?, p),
        (None, Some(p)) => {
            let task = Task::parse(&a.task, a.scale, a.sigma)?;
            (task.degradation(a.seed)?.degrade(&load_rgb(p)?)?, p)
        }
        (None, None) => anyhow::bail!("give --image or --input"),
    };
    let model = load_model(&a.model, device)?;
    let lam = cem::attrib::Lam::new()
        .sigma(a.blur_sigma)
        .fold(a.fold)
        .l(a.kernel)
        .objective(cem::attrib::Objective::parse(&a.objective)?)
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
        "task": a.task,
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
struct DegradeArgs {
    /// Task (sr, dn, dr, ...).
    #[arg(long)]
    task: String,
    /// Ground-truth image.
    #[arg(long)]
    image: PathBuf,
    /// The degraded input to write (.png).
    #[arg(long)]
    out: PathBuf,
    /// SR scale.
    #[arg(long, default_value_t = 4)]
    scale: u32,
    /// DN noise level in u8 levels.
    #[arg(long, default_value_t = 50.0)]
    sigma: f64,
    /// The seed (DR's rain: combined with the first integer in the file name; with
    /// --rng numpy DR uses that integer alone, as the authors).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// chacha (default) or numpy (the authors' exact DN and DR inputs).
    #[arg(long, default_value = "chacha", value_parser = ["chacha", "numpy"])]
    rng: String,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// srcnn, dncnn, srresnet, edsr, rcan, rcan_ap16, swinir, or the scale-1
    /// srresnet_mix, rcan_mix, swinir_mix (with --task mixed, dn or dr).
    #[arg(long)]
    arch: String,
    /// sr, dn, dr, mixed (SR + DN + DR), mio (the seven MIO tasks), or any map task.
    #[arg(long)]
    task: String,
    /// SR scale (the network's scale for sr; the SR samples' for mixed).
    #[arg(long, default_value_t = 4)]
    scale: u32,
    /// DN noise level.
    #[arg(long, default_value_t = 50.0)]
    sigma: f64,
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
    /// cosine (to 1e-6) or step (--step-every, --gamma).
    #[arg(long, default_value = "cosine", value_parser = ["cosine", "step"])]
    schedule: String,
    /// Steps between decays of the step schedule.
    #[arg(long, default_value_t = 1000)]
    step_every: usize,
    /// Decay factor of the step schedule.
    #[arg(long, default_value_t = 0.5)]
    gamma: f64,
    /// Steps between validations and checkpoints.
    #[arg(long, default_value_t = 200)]
    val_every: usize,
    /// The one seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder of training photos (default: the embedded ones but astronaut.png).
    #[arg(long)]
    photos: Option<PathBuf>,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// libtorch CPU threads.
    #[arg(long)]
    threads: Option<i32>,
    /// Output folder (weights.safetensors, train.json); an existing run resumes.
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
    /// panel (input, output, map, pie, colour bar; one per map), grid (models x
    /// tasks), compare (side by side, one colour bar) or pies (per-model averages).
    /// lam-vs-cem (Fig. 7: stored LAM and CEM results of one image and ROI, one
    /// row per model) or traces (Fig. 6: running mean effect from trace.csv files).
    #[arg(long, default_value = "panel", value_parser = ["panel", "grid", "compare", "pies", "lam-vs-cem", "traces"])]
    layout: String,
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
    /// table1 (per task and model), table2 (per library and model), table3 (per
    /// strategy against the full pipeline) or maps (one row per map).
    #[arg(value_parser = ["table1", "table2", "table3", "maps"])]
    kind: String,
    /// Result folders (searched recursively), cem.json files or glob patterns.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Write here instead of printing: .csv or .parquet (numbers), .md, .html, .tsv, .txt.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct MapArgs {
    /// TorchScript model file, or shipped:NAME (shipped:dncnn-s-dn50, shipped:srresnet-s-x4).
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
    /// Task: sr, dn, dr, sr-up (SR upsampled back, scale-1 models), blur, jpeg, haze or
    /// lowlight; settings as NAME:key=value,... (e.g. jpeg:quality=30,
    /// blur:kernel=15,sigma=2, haze:airlight=0.9,beta=1.8, lowlight:gamma=2,scale=1,sigma=0).
    #[arg(long)]
    task: String,
    /// SR scale (default 4; only for --task sr).
    #[arg(long)]
    scale: Option<u32>,
    /// DN noise level in u8 levels.
    #[arg(long, default_value_t = 50.0)]
    sigma: f64,
    /// ROI as X,Y,SIZE in output pixels.
    #[arg(long)]
    roi: String,
    /// Block size in output pixels.
    #[arg(long, default_value_t = 8)]
    block: u32,
    /// c3f50, cCfF, cCfF-u (uniform fine sampling) or full:T.
    #[arg(long, default_value = "c3f50")]
    strategy: String,
    /// Tolerance in dB.
    #[arg(long, default_value_t = 0.01)]
    tol: f64,
    /// Intervention library: a folder of patches or of photos (default: built-in).
    #[arg(long)]
    library: Option<PathBuf>,
    /// The one seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Interventions per model call (default automatic).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Run every intervention on the whole input, even for a local model.
    #[arg(long)]
    no_locality: bool,
    /// Keep every intervention's ROI PSNR for cell ROW,COL in trace.csv (repeatable).
    #[arg(long = "trace", value_name = "ROW,COL")]
    traces: Vec<String>,
    /// Generator of the degraded input: chacha (default) or numpy (the authors' exact
    /// DN and DR inputs; DR seeds with the first integer in the image's file name).
    #[arg(long, default_value = "chacha", value_parser = ["chacha", "numpy"])]
    rng: String,
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
    #[arg(long, requires = "weights")]
    arch: Option<String>,
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
        use cem::zoo::{Arch, NetConfig, Network};
        let (Some(arch), Some(weights)) = (&self.arch, &self.weights) else {
            return Ok(None);
        };
        let mut net = NetConfig::new(Arch::parse(arch)?, scale as i64);
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
struct BenchArgs {
    /// TorchScript model (default: the demo's built-in model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Ground truth (default: the demo image).
    #[arg(long)]
    image: Option<PathBuf>,
    /// Task: sr, dn or dr.
    #[arg(long, default_value = "dn")]
    task: String,
    /// SR scale.
    #[arg(long, default_value_t = 4)]
    scale: u32,
    /// ROI as X,Y,SIZE.
    #[arg(long, default_value = "96,152,32")]
    roi: String,
    /// Strategy.
    #[arg(long, default_value = "c3f50")]
    strategy: String,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Batch size (default automatic).
    #[arg(long)]
    batch_size: Option<usize>,
    /// libtorch CPU threads (default: libtorch's choice).
    #[arg(long)]
    threads: Option<i32>,
    /// Alternating (map, pure forward) measurements; the best of each is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn table_command(args: TableArgs) -> Result<()> {
    let maps = cem::stats::MapSet::load(&args.paths)?;
    let table = match args.kind.as_str() {
        "table1" => maps.table1()?,
        "table2" => maps.table2()?,
        "table3" => maps.table3()?,
        _ => cem::stats::Table::from_frame(format!("{} maps", maps.len()), maps.frame()?)?,
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
    use cem::zoo::{Arch, NetConfig};
    if let Some(n) = a.threads {
        tch::set_num_threads(n);
    }
    let task = TrainTask::parse(&a.task, a.scale, a.sigma)?;
    let mut net = NetConfig::new(Arch::parse(&a.arch)?, task.net_scale() as i64);
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
    if a.schedule == "step" {
        config.schedule = Schedule::Step {
            every: a.step_every,
            gamma: a.gamma,
        };
    }
    let device = parse_device(&a.device)?;
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
    let figure = if a.layout == "lam-vs-cem" {
        let lams = cem::attrib::find_lams(&a.paths)?
            .iter()
            .map(cem::attrib::StoredLam::load)
            .collect::<cem::Result<Vec<_>>>()?;
        let views = dirs
            .iter()
            .map(MapView::load)
            .collect::<cem::Result<Vec<_>>>()?;
        cem::attrib::lam_vs_cem(&cem::attrib::pair_lams_with_maps(lams, views)?, &style)?
    } else if a.layout == "traces" {
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
    } else if a.layout == "pies" {
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
        let table = cem::stats::MapSet::load(&dirs)?.table1()?;
        plot::pies(&plot::PieStats::from_table1(&table, &years)?, &style)?
    } else {
        let views = dirs
            .iter()
            .map(MapView::load)
            .collect::<cem::Result<Vec<_>>>()?;
        for (dir, view) in dirs.iter().zip(&views) {
            let missing = view.missing_images();
            if !missing.is_empty() && a.layout == "panel" {
                eprintln!(
                    "note: {} has no {}: those panels are left out",
                    dir.display(),
                    missing.join(" or ")
                );
            }
        }
        match a.layout.as_str() {
            "grid" => plot::grid_by_model_and_task(&views, &style)?,
            "compare" => plot::compare(&views, None, &style)?,
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

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
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
            let map = cem::demo::run_demo(&out, Task::parse(&task, 4, 50.0)?, true)?;
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
        } => {
            let summary = cem::zoo::convert_weights(&input, &output, unsafe_pickle)?;
            println!("wrote {}: {summary}", output.display());
        }
        Command::Degrade(args) => degrade_command(args)?,
        Command::Lam(args) => lam_command(args)?,
        Command::PixelOpt(args) => pixel_command(args)?,
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
    let task = Task::parse(&a.task, a.scale.unwrap_or(4), a.sigma)?;
    if let (Some(scale), false) = (a.scale, matches!(task, Task::Sr { .. } | Task::SrUp { .. })) {
        anyhow::bail!(
            "--scale {scale} only applies to --task sr or sr-up, not --task {}; remove it",
            a.task
        );
    }
    // one writer per folder, and an unwritable --out found before any inference
    let _lock = cem::map::FolderLock::acquire(&a.out)?;
    let roi = Roi::parse(&a.roi)?;
    let device = parse_device(&a.device)?;
    let (strategy, uniform_fine) = cem::engine::Strategy::parse(&a.strategy)?;
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
    if uniform_fine {
        cem = cem.fine_sampling(Sampling::Uniform);
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
    cem = cem.rng(cem::degrade::RngKind::parse(&a.rng)?);
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
    if let Some(n) = a.threads {
        tch::set_num_threads(n);
    }
    let task = Task::parse(&a.task, a.scale, 50.0)?;
    let roi = Roi::parse(&a.roi)?;
    let device = parse_device(&a.device)?;
    let (strategy, uniform_fine) = cem::engine::Strategy::parse(&a.strategy)?;
    let hr = match &a.image {
        Some(p) => load_rgb(p)?,
        None => cem::demo::demo_image()?,
    };
    let model: Box<dyn Model> = match &a.model {
        Some(p) => load_model(p, device)?,
        None => Box::new(cem::demo::demo_model(device)),
    };
    let mut cem = Cem::new(strategy);
    if uniform_fine {
        cem = cem.fine_sampling(Sampling::Uniform);
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
    let task = Task::parse(&a.task, a.scale, a.sigma)?;
    let rng = cem::degrade::RngKind::parse(&a.rng)?;
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
