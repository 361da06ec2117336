//! The record of a run ([`MapInfo`]): what was run, on what, how each stage went,
//! what the locality check found, and the traced cells.

use super::files::{f64_or_nan, FORMAT};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// A stage of a run, as its record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStage {
    /// The locality check ([`Locality`]).
    Locality,
    /// The coarse stage of coarse-to-fine (C interventions per cell).
    Coarse,
    /// The fine stage of coarse-to-fine (F interventions per sensitive cell).
    Fine,
    /// The full pipeline (T interventions per cell).
    Full,
}

impl RunStage {
    /// `locality`, `coarse`, `fine` or `full`, as in `cem.json` and checkpoints.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStage::Locality => "locality",
            RunStage::Coarse => "coarse",
            RunStage::Fine => "fine",
            RunStage::Full => "full",
        }
    }
}

impl std::fmt::Display for RunStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-stage bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageStats {
    /// Model inferences (one per intervention).
    pub inferences: usize,
    /// Wall time in seconds (summed over resumed runs).
    pub seconds: f64,
}

/// Everything about a map except its cells: what was run, on what, and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapInfo {
    /// Format version of the result files.
    pub format: u32,
    /// The crate version that made it.
    pub cem_version: String,
    /// Model name.
    pub model: String,
    /// Image name (file name, or a label).
    pub image: String,
    /// Task name (`sr`, `dn`, `dr` or a custom degradation's).
    pub task: String,
    /// The degradation's settings and seed.
    pub degradation: serde_json::Value,
    /// Intervention library description.
    pub library: String,
    /// Number of patches in the library.
    pub library_size: usize,
    /// Strategy label (`C3F50`, `C3F50-U`, `Full500`, ...).
    pub strategy: String,
    /// Strategy details (coarse/fine counts, T, sampling).
    pub settings: serde_json::Value,
    /// The ROI in output pixels.
    pub roi: crate::image::Roi,
    /// Block size in output pixels.
    pub block: u32,
    /// SR scale (1 for restoration).
    pub scale: u32,
    /// Tolerance in dB.
    pub tol: f64,
    /// The one seed every random choice came from.
    pub seed: u64,
    /// Device name.
    pub device: String,
    /// Output image width.
    pub width: u32,
    /// Output image height.
    pub height: u32,
    /// Original ROI PSNR `O` in dB (NaN when unknown, e.g. an imported map).
    #[serde(deserialize_with = "f64_or_nan")]
    pub original_psnr: f64,
    /// Per stage (the locality check, `coarse`, `fine`, `full`): inferences and seconds.
    pub stages: BTreeMap<RunStage, StageStats>,
    /// Batch size used.
    pub batch_size: usize,
    /// What the locality check found; `None` when it did not run (turned off, a
    /// degradation with a wide halo, or a map made outside the engine).
    #[serde(default)]
    pub locality: Option<Locality>,
    /// Every intervention's ROI PSNR for the cells [`crate::engine::Cem::trace`]
    /// asked for (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<Trace>,
    /// How the model was named to `cem map --model` (a file or `shipped:NAME`), so
    /// that `cem pixel-opt` can load it again; `None` when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_spec: Option<String>,
}

impl MapInfo {
    /// Info for a map made outside the engine (an import, a hand-made test map):
    /// the given names and geometry; no library, strategy `imported`, seed 0, no
    /// inferences. Set the other public fields as needed.
    pub fn new(model: &str, task: &str, image: &str, roi: crate::image::Roi, block: u32) -> Self {
        MapInfo {
            format: FORMAT,
            cem_version: env!("CARGO_PKG_VERSION").to_string(),
            model: model.into(),
            image: image.into(),
            task: task.into(),
            degradation: serde_json::Value::Null,
            library: String::new(),
            library_size: 0,
            strategy: "imported".into(),
            settings: serde_json::Value::Null,
            roi,
            block,
            scale: 1,
            tol: 0.01,
            seed: 0,
            device: String::new(),
            width: 0,
            height: 0,
            original_psnr: f64::NAN,
            stages: Default::default(),
            batch_size: 0,
            locality: None,
            traces: Vec::new(),
            model_spec: None,
        }
    }

    /// Inferences and seconds of `stage`, if the run had it.
    pub fn stage(&self, stage: RunStage) -> Option<&StageStats> {
        self.stages.get(&stage)
    }
}

/// One traced cell ([`crate::engine::Cem::trace`]): every draw's ROI PSNR, in draw
/// order (the paper's Fig. 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Grid row.
    pub row: u32,
    /// Grid column.
    pub col: u32,
    /// ROI PSNR after each intervention, in dB (`+inf` for an identical ROI, which
    /// JSON stores as `null`).
    #[serde(deserialize_with = "psnrs_null_is_inf")]
    pub psnr_db: Vec<f64>,
}

/// Reads PSNRs that JSON may hold as `null` (an infinite PSNR) as `+inf`.
fn psnrs_null_is_inf<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    Ok(Vec::<Option<f64>>::deserialize(d)?
        .into_iter()
        .map(|v| v.unwrap_or(f64::INFINITY))
        .collect())
}

/// A cell-aligned rectangle of the input, in input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// One tried margin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Margin in cells around the ROI's cells.
    pub cells: u32,
    /// Whether both conditions held.
    pub passed: bool,
    /// Why it failed, if it did.
    pub reason: String,
    /// Largest difference seen between an ROI output and the whole image's, in u8
    /// levels (before rounding).
    #[serde(default, deserialize_with = "f64_or_nan")]
    pub max_diff_levels: f64,
    /// ROI values whose rounded u8 value differed from the whole image's (crop and
    /// interventions together), including flips explained by rounding alone.
    #[serde(default)]
    pub u8_flips: usize,
}

/// What the check found; stored in the map's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locality {
    /// Whether the model is local at some margin smaller than the image.
    pub local: bool,
    /// The crop interventions run on (input pixels), when local.
    pub crop: Option<Region>,
    /// The margin in cells around the ROI's cells, when local.
    pub margin_cells: Option<u32>,
    /// The same margin in input pixels.
    pub margin_px: Option<u32>,
    /// Outside interventions tried per margin.
    pub checks: usize,
    /// Every margin tried, in order.
    pub trials: Vec<Trial>,
    /// Model inferences the check used.
    pub inferences: usize,
    /// Seconds the check took.
    pub seconds: f64,
    /// The tolerance used, in u8 levels (see the module docs).
    #[serde(default)]
    pub tolerance_levels: f64,
    /// The model's run-to-run noise on the ROI, in u8 levels.
    #[serde(default, deserialize_with = "f64_or_nan")]
    pub noise_levels: f64,
}
