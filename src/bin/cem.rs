//! The `cem` command line: `demo`, `map`, `info`.

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
        /// Output folder.
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
    },
    /// Compute the causal effect map of a TorchScript model for one image and ROI.
    Map(MapArgs),
    /// Time a map against the same number of pure forward passes (the engine's overhead).
    Bench(BenchArgs),
    /// Print where libtorch was found and whether CUDA works.
    Info,
}

#[derive(clap::Args)]
struct MapArgs {
    /// TorchScript model file.
    #[arg(long)]
    model: PathBuf,
    /// Ground-truth (high-resolution) image.
    #[arg(long)]
    image: PathBuf,
    /// An already degraded input to use instead of degrading --image.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Task: sr, dn or dr.
    #[arg(long)]
    task: String,
    /// SR scale.
    #[arg(long, default_value_t = 4)]
    scale: u32,
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
    /// Output folder for cem.csv and cem.json.
    #[arg(long)]
    out: PathBuf,
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

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn install_ctrlc() {
    let _ = ctrlc::set_handler(|| {
        eprintln!("\nstopping after this batch (Ctrl-C again to abort)...");
        static ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if ONCE.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        cem::engine::request_stop();
    });
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo { out } => {
            install_ctrlc();
            let start = Instant::now();
            let map = cem::demo::run_demo(&out, true)?;
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
    let task = Task::parse(&a.task, a.scale, a.sigma)?;
    let roi = Roi::parse(&a.roi)?;
    let device = parse_device(&a.device)?;
    let (strategy, uniform_fine) = cem::engine::Strategy::parse(&a.strategy)?;
    let hr = load_rgb(&a.image)?;
    let model = TorchScript::load(&a.model, device)?;
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
    if let Some(dir) = &a.library {
        cem = cem.library(Library::open(dir, a.block, a.seed)?);
    }
    if let Some(p) = &a.input {
        cem = cem.input(load_rgb(p)?);
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let map = cem.run(&model, &hr, &task, roi)?;
    cem::map::save(&map, &a.out)?;
    println!("{}", cem::demo::locality_line(&map));
    println!("{}", map.table1_line());
    Ok(())
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
        Some(p) => Box::new(TorchScript::load(p, device)?),
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
