//! The study file: the authors' YAML configs (`demo-SR_CEM.yml`, ...) as they are, plus
//! our own fields, read with serde; unknown fields are refused by name.
//!
//! The authors' fields: `task` (SR, DN, DR), `sr` (the scale), `Modellist`,
//! `batch_size_dict`, `TextImg_path`, `Imagelist`, `patch_path`, `prefix`, `w`, `h`,
//! `ROI_size`, `mask_block_size`, `coarse_num`, `fine_num`, `load_previous`, `tol`.
//! Ours: `models` (name -> TorchScript file, `shipped:NAME`, or a zoo architecture with
//! its weights), `tasks`, `rois`, `strategies`, `seeds`, `libraries`, `device`,
//! `sigma`, `rng`, `locality`. Relative paths are relative to the config file's folder.
//!
//! ```
//! let config = cem::study::StudyConfig::parse(
//!     "task: 'DN'\nsr: 1\nModellist: ['dn']\nImagelist: ['a.png']\n\
//!      models:\n  dn: shipped:dncnn-s-dn50\n",
//! ).unwrap();
//! assert_eq!(config.model_list, ["dn"]);
//! assert!(cem::study::StudyConfig::parse("Modellist: []\nImagelist: []\nmodles: {}\n")
//!     .unwrap_err().to_string().contains("unknown field `modles`"));
//! ```

use crate::error::{Error, Result};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One study file, as written: the authors' fields under their own names, and ours.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyConfig {
    /// The authors' one task: `SR`, `DN` or `DR` (or any `cem map --task` name).
    #[serde(default)]
    pub task: Option<String>,
    /// The authors' scale: 4 for SR, 1 for DN and DR.
    #[serde(default)]
    pub sr: Option<u32>,
    /// The models, by name (resolved through `models`, shipped names or `CEM_WEIGHTS`).
    #[serde(rename = "Modellist")]
    pub model_list: Vec<String>,
    /// Interventions per model call, per model name: the authors' GPU batch sizes, used
    /// as given on CUDA and capped at the CPU default (8) on the CPU
    /// ([`study_batch`](crate::study::study_batch)).
    #[serde(default)]
    pub batch_size_dict: BTreeMap<String, usize>,
    /// The folder of the test images (default: the config's folder).
    #[serde(rename = "TextImg_path", default)]
    pub text_img_path: Option<PathBuf>,
    /// The test images' file names in `TextImg_path`.
    #[serde(rename = "Imagelist")]
    pub image_list: Vec<String>,
    /// The intervention library (a folder of patches or photos).
    #[serde(default)]
    pub patch_path: Option<PathBuf>,
    /// A label of the study (the authors name their result folders with it).
    #[serde(default)]
    pub prefix: Option<String>,
    /// The ROI's left edge in output pixels.
    #[serde(default)]
    pub w: Option<u32>,
    /// The ROI's top edge in output pixels.
    #[serde(default)]
    pub h: Option<u32>,
    /// The ROI's side in output pixels.
    #[serde(rename = "ROI_size", default)]
    pub roi_size: Option<u32>,
    /// The block side in output pixels (default 8).
    #[serde(default)]
    pub mask_block_size: Option<u32>,
    /// Coarse interventions per cell (default 3).
    #[serde(default)]
    pub coarse_num: Option<u32>,
    /// Fine interventions per sensitive cell (default 50).
    #[serde(default)]
    pub fine_num: Option<u32>,
    /// 1 (default): keep finished units and resume checkpoints; 0: recompute every unit.
    #[serde(default)]
    pub load_previous: Option<u32>,
    /// Tolerance in dB (default 0.01).
    #[serde(default)]
    pub tol: Option<f64>,

    /// Ours: model name -> where it comes from.
    #[serde(default)]
    pub models: BTreeMap<String, ModelEntry>,
    /// Ours: several tasks (`sr`, `dn`, `dr`, `jpeg:quality=30`, ...) instead of `task`.
    #[serde(default)]
    pub tasks: Vec<String>,
    /// Ours: several ROIs as `X,Y,SIZE` instead of `w`, `h`, `ROI_size`.
    #[serde(default)]
    pub rois: Vec<String>,
    /// Ours: several strategies (`c3f50`, `c3f50-u`, `full:500`) instead of
    /// `coarse_num`/`fine_num`.
    #[serde(default)]
    pub strategies: Vec<String>,
    /// Ours: seeds (default `[0]`).
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// Ours: several libraries (folders, or `builtin`) instead of `patch_path`.
    #[serde(default)]
    pub libraries: Vec<String>,
    /// Ours: `cpu`, `cuda`, `cuda:N` or `auto` (the command's `--device` wins).
    #[serde(default)]
    pub device: Option<String>,
    /// Ours: DN noise level in u8 levels (default 50).
    #[serde(default)]
    pub sigma: Option<f64>,
    /// Ours: generator of the degraded inputs, `numpy` (default: the authors' exact DN
    /// and DR inputs) or `chacha`.
    #[serde(default)]
    pub rng: Option<String>,
    /// Ours: run interventions on a crop around the ROI when the model is local
    /// (default true; the maps are the same).
    #[serde(default)]
    pub locality: Option<bool>,
}

/// Where a model of the study comes from: a TorchScript file or `shipped:NAME` (a
/// plain string), or a zoo architecture with its weights (a mapping).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ModelEntry {
    /// A TorchScript file, or `shipped:NAME`.
    Spec(String),
    /// A native network of the zoo.
    Native(NativeEntry),
}

/// A zoo architecture with its weights and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeEntry {
    /// `srcnn`, `dncnn`, `srresnet`, `edsr`, `rcan`, `rcan_ap16`, `swinir`, ...
    pub arch: String,
    /// Its weights (`.safetensors` or `.pth`).
    pub weights: PathBuf,
    /// Feature channels (default: the published size).
    #[serde(default)]
    pub feats: Option<i64>,
    /// Residual blocks (per group for RCAN; convolutions for DnCNN).
    #[serde(default)]
    pub blocks: Option<usize>,
    /// Residual groups (RCAN, SwinIR).
    #[serde(default)]
    pub groups: Option<usize>,
}

// A string or a mapping; written by hand so that an unknown key inside the mapping is
// reported by name (serde's untagged enums only say "did not match any variant").
impl<'de> Deserialize<'de> for ModelEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModelEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a TorchScript file, shipped:NAME, or {arch, weights, feats, blocks, groups}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<ModelEntry, E> {
                Ok(ModelEntry::Spec(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<ModelEntry, A::Error> {
                NativeEntry::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ModelEntry::Native)
            }
        }
        d.deserialize_any(V)
    }
}

impl StudyConfig {
    /// Parses a study file's text; a YAML error or an unknown field is an error naming
    /// it (with its line).
    pub fn parse(text: &str) -> Result<StudyConfig> {
        serde_yaml_ng::from_str(text)
            .map_err(|e| Error::invalid("study config", "(text)", e.to_string()))
    }

    /// Reads a study file.
    pub fn load(path: impl AsRef<Path>) -> Result<StudyConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_yaml_ng::from_str(&text)
            .map_err(|e| Error::invalid("study config", path.display(), e.to_string()))
    }

    /// Whether finished units are kept (`load_previous`, default 1).
    pub fn load_previous(&self) -> bool {
        self.load_previous.unwrap_or(1) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_entries_are_strings_or_checked_mappings() {
        let c = StudyConfig::parse(
            "Modellist: [a, b]\nImagelist: [x.png]\nmodels:\n  a: shipped:dncnn-s-dn50\n  b: {arch: dncnn, weights: w.safetensors, feats: 32}\n",
        )
        .unwrap();
        assert_eq!(
            c.models["a"],
            ModelEntry::Spec("shipped:dncnn-s-dn50".into())
        );
        match &c.models["b"] {
            ModelEntry::Native(n) => {
                assert_eq!(
                    (n.arch.as_str(), n.feats, n.blocks),
                    ("dncnn", Some(32), None)
                )
            }
            other => panic!("{other:?}"),
        }
        let err = StudyConfig::parse(
            "Modellist: [b]\nImagelist: [x.png]\nmodels:\n  b: {arch: dncnn, weigths: w.pth}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `weigths`"), "{err}");
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let err = StudyConfig::parse("Modellist: []\nImagelist: []\nROI_sise: 32\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `ROI_sise`"), "{err}");
        assert!(err.contains("ROI_size"), "{err}");
    }
}
