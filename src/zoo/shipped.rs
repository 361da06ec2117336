//! The small trained models shipped in `data/models/`, so the demo, tests and notebooks
//! have real networks without downloads. Their model cards are in
//! `data/models/README.md`; `scripts/train-family.sh` holds the recipes.
//!
//! Two are embedded in the binary (`dncnn-s-dn50`, `srresnet-s-x4`: `cem demo` needs
//! them from the binary alone). The rest of the family is read from the models folder
//! by name, `NAME.safetensors` beside the trainer's record `NAME.train.json`, which
//! gives the architecture, its size, the task and the scale. The folder is
//! `data/models` of this crate (found at compile time), or `CEM_MODELS` when set.
//!
//! ```no_run
//! use cem::zoo::{shipped, shipped_info, shipped_names};
//! # fn main() -> cem::Result<()> {
//! for name in shipped_names() {
//!     let info = shipped_info(&name)?;
//!     println!("{name}: {} {} ({:.2} dB vs {:.2} dB doing nothing)",
//!         info.config.arch.name(), info.task.name(), info.val_psnr(), info.record.baseline_psnr);
//! }
//! let rcan = shipped("rcan-s-x4", tch::Device::Cpu)?;
//! # Ok(()) }
//! ```

use super::{NetConfig, Network};
use crate::degrade::Task;
use crate::error::{Error, Result};
use crate::train::{TrainReport, TrainTask};
use std::path::{Path, PathBuf};
use tch::Device;

/// The environment variable that points at another models folder.
pub const MODELS_ENV: &str = "CEM_MODELS";

/// A model embedded in the binary: its name, trainer record and weights.
struct Embedded {
    name: &'static str,
    record: &'static str,
    weights: &'static [u8],
}

const EMBEDDED: [Embedded; 2] = [
    Embedded {
        name: "dncnn-s-dn50",
        record: include_str!("../../data/models/dncnn-s-dn50.train.json"),
        weights: include_bytes!("../../data/models/dncnn-s-dn50.safetensors"),
    },
    Embedded {
        name: "srresnet-s-x4",
        record: include_str!("../../data/models/srresnet-s-x4.train.json"),
        weights: include_bytes!("../../data/models/srresnet-s-x4.safetensors"),
    },
];

/// A shipped model's description, from its trainer record.
#[derive(Debug, Clone)]
pub struct ShippedModel {
    /// Its name (`rcan-s-x4`).
    pub name: String,
    /// Architecture and size.
    pub config: NetConfig,
    /// What it was trained for.
    pub task: TrainTask,
    /// The trainer's record: recipe, steps, time, validation history.
    pub record: TrainReport,
    /// Where the weights are: `None` when embedded in the binary.
    pub weights: Option<PathBuf>,
}

impl ShippedModel {
    /// The last validation PSNR (dB) of the trainer's record.
    pub fn val_psnr(&self) -> f64 {
        self.record.history.last().map_or(f64::NAN, |p| p.val_psnr)
    }

    /// The map tasks the model is meant for: its task for single-task models; for
    /// mix-trained and MIO ones the paper's three at scale 1, SR as `sr-up` (the
    /// bicubic LR upsampled back, as they were trained), DN at the trained sigma (50
    /// for MIO, whose noise levels span 15-50) and DR.
    ///
    /// ```
    /// # fn main() -> cem::Result<()> {
    /// let dn = cem::zoo::shipped_info("dncnn-s-dn50")?;
    /// assert_eq!(dn.tasks(), vec![cem::degrade::Task::Dn { sigma: 50.0 }]);
    /// # Ok(()) }
    /// ```
    pub fn tasks(&self) -> Vec<Task> {
        match self.task {
            TrainTask::Single(t) => vec![t],
            TrainTask::Mixed { scale, sigma } => {
                vec![Task::SrUp { scale }, Task::Dn { sigma }, Task::Dr]
            }
            TrainTask::Mio { scale } => {
                vec![Task::SrUp { scale }, Task::Dn { sigma: 50.0 }, Task::Dr]
            }
        }
    }

    /// Loads the network onto `device`, named after the model.
    pub fn load(&self, device: Device) -> Result<Network> {
        let net = match &self.weights {
            Some(path) => Network::load(self.config.clone(), path, device)?,
            None => {
                let entry = EMBEDDED
                    .iter()
                    .find(|e| e.name == self.name)
                    .expect("an embedded model's name");
                let tmp = std::env::temp_dir().join(format!(
                    "cem-{}-{}.safetensors",
                    entry.name,
                    std::process::id()
                ));
                std::fs::write(&tmp, entry.weights).map_err(|e| Error::io(&tmp, e))?;
                let net = Network::load(self.config.clone(), &tmp, device);
                let _ = std::fs::remove_file(&tmp);
                net?
            }
        };
        Ok(net.with_name(self.name.clone()))
    }
}

/// The models folder: `CEM_MODELS` when set, else this crate's `data/models`.
pub fn models_dir() -> PathBuf {
    match std::env::var_os(MODELS_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models"),
    }
}

/// Names of the shipped models, sorted: the two embedded ones and every
/// `NAME.train.json` with its `NAME.safetensors` in [`models_dir`].
pub fn shipped_names() -> Vec<String> {
    let mut names: Vec<String> = EMBEDDED.iter().map(|e| e.name.to_string()).collect();
    if let Ok(entries) = std::fs::read_dir(models_dir()) {
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".train.json") {
                if entry
                    .path()
                    .with_file_name(format!("{name}.safetensors"))
                    .is_file()
                {
                    names.push(name.to_string());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

fn parse_record(text: &str, origin: &Path) -> Result<TrainReport> {
    serde_json::from_str(text).map_err(|e| Error::ResultFile {
        path: origin.to_path_buf(),
        reason: format!("not a `cem train` record: {e}"),
    })
}

/// Describes a shipped model by name (see [`shipped_names`]).
pub fn shipped_info(name: &str) -> Result<ShippedModel> {
    if let Some(e) = EMBEDDED.iter().find(|e| e.name == name) {
        let record = parse_record(e.record, Path::new(e.name))?;
        return Ok(ShippedModel {
            name: name.to_string(),
            config: record.config.net.clone(),
            task: record.config.task,
            record,
            weights: None,
        });
    }
    let dir = models_dir();
    let record_path = dir.join(format!("{name}.train.json"));
    let weights = dir.join(format!("{name}.safetensors"));
    let bad_name = name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.');
    if bad_name || !record_path.is_file() || !weights.is_file() {
        return Err(Error::invalid(
            "shipped model",
            name,
            format!(
                "expected one of {} (searched {}; set {MODELS_ENV} for another folder)",
                shipped_names().join(", "),
                dir.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(&record_path).map_err(|e| Error::io(&record_path, e))?;
    let record = parse_record(&text, &record_path)?;
    Ok(ShippedModel {
        name: name.to_string(),
        config: record.config.net.clone(),
        task: record.config.task,
        record,
        weights: Some(weights),
    })
}

/// Every shipped model's description, sorted by name.
pub fn shipped_family() -> Result<Vec<ShippedModel>> {
    shipped_names().iter().map(|n| shipped_info(n)).collect()
}

/// Loads a shipped model by name onto `device`.
///
/// ```
/// # fn main() -> cem::Result<()> {
/// let net = cem::zoo::shipped("dncnn-s-dn50", tch::Device::Cpu)?;
/// assert_eq!(net.config().scale, 1);
/// let err = cem::zoo::shipped("nope", tch::Device::Cpu).unwrap_err();
/// assert!(err.to_string().contains("srresnet-s-x4"));
/// # Ok(()) }
/// ```
pub fn shipped(name: &str, device: Device) -> Result<Network> {
    shipped_info(name)?.load(device)
}
