//! A study resolved: every path checked, every model found, and its units (the cross
//! product of tasks, models, images, ROIs, strategies, libraries and seeds), each with
//! a stable id.

use super::config::{ModelEntry, StudyConfig};
use crate::degrade::Task;
use crate::engine::Strategy;
use crate::error::{Error, Result};
use crate::image::Roi;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a resolved model comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum ModelSource {
    /// A TorchScript file.
    TorchScript {
        /// The file.
        path: PathBuf,
    },
    /// A model shipped with the crate ([`crate::zoo::shipped`]).
    Shipped {
        /// Its name.
        name: String,
    },
    /// A native network of the zoo with its weights.
    Native {
        /// The architecture's name.
        arch: String,
        /// The weights.
        weights: PathBuf,
        /// Feature channels.
        feats: Option<i64>,
        /// Blocks.
        blocks: Option<usize>,
        /// Groups.
        groups: Option<usize>,
    },
}

impl ModelSource {
    /// A short description (`shipped:NAME`, the file, or `arch + weights`).
    pub fn describe(&self) -> String {
        match self {
            ModelSource::TorchScript { path } => path.display().to_string(),
            ModelSource::Shipped { name } => format!("shipped:{name}"),
            ModelSource::Native { arch, weights, .. } => {
                format!("{arch} + {}", weights.display())
            }
        }
    }
}

/// One map of a study: everything needed to compute it, and its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// Stable id: readable settings plus a hash of all of them; the result folder's name.
    pub id: String,
    /// The task as written (`SR`, `dn`, `jpeg:quality=30`).
    pub task: String,
    /// SR scale (the config's `sr`, default 4).
    pub scale: u32,
    /// DN noise level.
    pub sigma: f64,
    /// The model's name in the study.
    pub model: String,
    /// Where the model comes from.
    pub source: ModelSource,
    /// The image's file name.
    pub image: String,
    /// The image file.
    pub image_path: PathBuf,
    /// The ROI.
    pub roi: Roi,
    /// Block side in output pixels.
    pub block: u32,
    /// The strategy as `cem map --strategy` reads it.
    pub strategy: String,
    /// The library folder, or `builtin`.
    pub library: String,
    /// The seed.
    pub seed: u64,
    /// Tolerance in dB.
    pub tol: f64,
    /// Interventions per model call (the config's `batch_size_dict`), or automatic.
    pub batch_size: Option<usize>,
    /// `numpy` or `chacha`.
    pub rng: String,
    /// Whether locality is detected and used.
    pub locality: bool,
}

/// A study: its settings and units.
#[derive(Debug, Clone)]
pub struct Study {
    /// The config as read.
    pub config: StudyConfig,
    /// The config file.
    pub path: PathBuf,
    /// Its text (copied into the result folder).
    pub text: String,
    /// The units, sorted by id.
    pub units: Vec<Unit>,
    /// The device, as written (`cpu` by default).
    pub device: String,
}

/// Finds model `name`: the config's `models` section, a shipped model of that name,
/// then in the folder `weights` (the study takes `$CEM_WEIGHTS`) a TorchScript
/// `NAME.pt` or the authors' checkpoint file for it. Fails with everything that was
/// tried.
pub fn resolve_model(
    name: &str,
    models: &BTreeMap<String, ModelEntry>,
    base: &Path,
    weights: Option<&Path>,
) -> Result<ModelSource> {
    let mut tried = Vec::new();
    match models.get(name) {
        Some(ModelEntry::Spec(s)) => {
            if let Some(n) = s.strip_prefix("shipped:") {
                let names = crate::zoo::shipped_names();
                if names.iter().any(|k| k == n) {
                    return Ok(ModelSource::Shipped { name: n.into() });
                }
                return Err(Error::invalid(
                    "model",
                    format!("{name}: {s}"),
                    format!(
                        "no shipped model '{n}' (shipped: {}; searched {}; set {} for another folder)",
                        names.join(", "),
                        crate::zoo::models_dir().display(),
                        crate::zoo::MODELS_ENV
                    ),
                ));
            }
            let path = base.join(s);
            if path.is_file() {
                return Ok(ModelSource::TorchScript { path });
            }
            return Err(Error::invalid(
                "model",
                format!("{name}: {s}"),
                format!("no such TorchScript file {}", path.display()),
            ));
        }
        Some(ModelEntry::Native(n)) => {
            crate::zoo::Arch::parse(&n.arch)?;
            let weights = base.join(&n.weights);
            if !weights.is_file() {
                return Err(Error::invalid(
                    "model",
                    format!("{name}: {} weights {}", n.arch, n.weights.display()),
                    format!("no such file {}", weights.display()),
                ));
            }
            return Ok(ModelSource::Native {
                arch: n.arch.clone(),
                weights,
                feats: n.feats,
                blocks: n.blocks,
                groups: n.groups,
            });
        }
        None => tried.push(format!("no entry '{name}' under models:")),
    }
    let names = crate::zoo::shipped_names();
    if names.iter().any(|k| k == name) {
        return Ok(ModelSource::Shipped { name: name.into() });
    }
    tried.push(format!("not a shipped model ({})", names.join(", ")));
    match weights {
        Some(dir) => {
            let ts = dir.join(format!("{name}.pt"));
            if ts.is_file() {
                return Ok(ModelSource::TorchScript { path: ts });
            }
            tried.push(format!("no {}", ts.display()));
            match crate::zoo::authors_checkpoint(name) {
                Some(c) => {
                    let weights = dir.join(c.file);
                    if weights.is_file() {
                        return Ok(ModelSource::Native {
                            arch: c.arch.name().to_string(),
                            weights,
                            feats: None,
                            blocks: None,
                            groups: None,
                        });
                    }
                    tried.push(format!("no {} (the authors' file)", weights.display()));
                }
                None => tried.push(format!(
                    "no authors' checkpoint with a zoo architecture is known for '{name}'"
                )),
            }
        }
        None => tried.push("CEM_WEIGHTS is not set".into()),
    }
    Err(Error::invalid(
        "model",
        name,
        format!(
            "cannot find it; tried: {}. Add it under models: (a TorchScript file, shipped:NAME, or {{arch, weights}})",
            tried.join("; ")
        ),
    ))
}

/// Keeps letters, digits, `.`, `-` and `_`; anything else becomes `_`.
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// FNV-1a, 64 bits: a hash that never changes between builds (ids must stay stable).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Unit {
    /// The id: `task-model-image-rX_Y_S-bB-strategy-library-sSEED-HASH`, the hash over
    /// every setting that changes the map (not paths or batch sizes).
    fn make_id(&mut self) {
        let key = serde_json::json!([
            self.task,
            self.scale,
            self.sigma,
            self.model,
            self.image,
            self.roi.x,
            self.roi.y,
            self.roi.size,
            self.block,
            self.strategy,
            crate::stats::library_name(&self.library),
            self.seed,
            self.tol,
            self.rng,
        ]);
        let hash = fnv1a(key.to_string().as_bytes());
        let stem = Path::new(&self.image)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.image.clone());
        self.id = slug(&format!(
            "{}-{}-{}-r{}_{}_{}-b{}-{}-{}-s{}-{:08x}",
            self.task.to_ascii_lowercase(),
            self.model,
            stem,
            self.roi.x,
            self.roi.y,
            self.roi.size,
            self.block,
            self.strategy.to_ascii_lowercase(),
            crate::stats::library_name(&self.library),
            self.seed,
            hash as u32
        ));
    }

    /// The parsed task.
    pub fn parsed_task(&self) -> Result<Task> {
        Task::parse(&self.task, self.scale, self.sigma)
    }
}

impl Study {
    /// Reads and resolves a study file: images exist and hold every ROI, models are
    /// found, tasks, strategies, the device and the generator parse. Every error names
    /// the bad value.
    pub fn load(path: impl AsRef<Path>) -> Result<Study> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let config: StudyConfig = serde_yaml_ng::from_str(&text)
            .map_err(|e| Error::invalid("study config", path.display(), e.to_string()))?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Study::resolve(config, path, text.clone(), base)
    }

    /// Resolves a parsed config; relative paths are taken from `base`.
    pub fn resolve(config: StudyConfig, path: &Path, text: String, base: &Path) -> Result<Study> {
        let c = &config;
        let field = |name: &str, reason: &str| Error::invalid(name, "(missing)", reason);
        let scale = c.sr.unwrap_or(4);
        let sigma = c.sigma.unwrap_or(50.0);
        let tasks: Vec<String> = match (&c.task, c.tasks.is_empty()) {
            (Some(_), false) => {
                return Err(Error::invalid(
                    "task",
                    c.task.as_deref().unwrap_or(""),
                    "give either task (the authors') or tasks (ours), not both",
                ))
            }
            (Some(t), true) => vec![t.clone()],
            (None, false) => c.tasks.clone(),
            (None, true) => return Err(field("task", "give task: SR, DN or DR (or tasks: [...])")),
        };
        for t in &tasks {
            Task::parse(t, scale, sigma)?;
        }
        if c.model_list.is_empty() {
            return Err(field("Modellist", "name at least one model"));
        }
        if c.image_list.is_empty() {
            return Err(field("Imagelist", "name at least one image"));
        }
        let sources = c
            .model_list
            .iter()
            .map(|m| {
                let weights = std::env::var_os("CEM_WEIGHTS").map(PathBuf::from);
                resolve_model(m, &c.models, base, weights.as_deref()).map(|s| (m.clone(), s))
            })
            .collect::<Result<Vec<_>>>()?;
        for name in c.batch_size_dict.keys() {
            if !c.model_list.contains(name) {
                return Err(Error::invalid(
                    "batch_size_dict",
                    name,
                    format!("not in Modellist ({})", c.model_list.join(", ")),
                ));
            }
        }
        let rois: Vec<Roi> = if c.rois.is_empty() {
            match (c.w, c.h, c.roi_size) {
                (Some(x), Some(y), Some(s)) => vec![Roi::new(x, y, s)],
                (None, None, None) => {
                    return Err(field(
                        "ROI",
                        "give w, h and ROI_size (or rois: ['X,Y,SIZE'])",
                    ))
                }
                _ => {
                    return Err(Error::invalid(
                        "ROI",
                        format!("w={:?} h={:?} ROI_size={:?}", c.w, c.h, c.roi_size),
                        "give all three of w, h and ROI_size",
                    ))
                }
            }
        } else {
            c.rois
                .iter()
                .map(|r| Roi::parse(r))
                .collect::<Result<_>>()?
        };
        let image_dir = base.join(c.text_img_path.clone().unwrap_or_default());
        let mut images = Vec::new();
        for name in &c.image_list {
            let p = image_dir.join(name);
            if !p.is_file() {
                return Err(Error::invalid(
                    "Imagelist",
                    name,
                    format!("no such image {}", p.display()),
                ));
            }
            let (w, h) = ::image::image_dimensions(&p).map_err(|e| Error::Image {
                op: "read",
                path: p.clone(),
                source: e,
            })?;
            for roi in &rois {
                roi.check_inside(w, h).map_err(|_| {
                    Error::invalid(
                        "ROI",
                        roi,
                        format!(
                            "lies outside {name} ({w}x{h}): x+size must be <= {w}, y+size <= {h}"
                        ),
                    )
                })?;
            }
            images.push((name.clone(), p));
        }
        let strategies: Vec<String> = if c.strategies.is_empty() {
            vec![format!(
                "c{}f{}",
                c.coarse_num.unwrap_or(3),
                c.fine_num.unwrap_or(50)
            )]
        } else {
            c.strategies.clone()
        };
        for s in &strategies {
            Strategy::parse(s)?;
        }
        let libraries: Vec<String> = if !c.libraries.is_empty() {
            c.libraries
                .iter()
                .map(|l| {
                    if l == "builtin" {
                        l.clone()
                    } else {
                        base.join(l).display().to_string()
                    }
                })
                .collect()
        } else {
            match &c.patch_path {
                Some(p) => vec![base.join(p).display().to_string()],
                None => vec!["builtin".into()],
            }
        };
        for l in libraries.iter().filter(|l| *l != "builtin") {
            if !Path::new(l).is_dir() {
                return Err(Error::invalid("library", l, "no such folder"));
            }
        }
        let seeds = if c.seeds.is_empty() {
            vec![0]
        } else {
            c.seeds.clone()
        };
        let rng = c.rng.clone().unwrap_or_else(|| "numpy".into());
        crate::degrade::RngKind::parse(&rng)?;
        let block = c.mask_block_size.unwrap_or(8);
        if block == 0 {
            return Err(Error::invalid("mask_block_size", 0, "must be positive"));
        }
        let tol = c.tol.unwrap_or(0.01);
        if !(tol.is_finite() && tol >= 0.0) {
            return Err(Error::invalid("tol", tol, "must be a finite number >= 0"));
        }
        let mut units = Vec::new();
        for task in &tasks {
            for (model, source) in &sources {
                for (image, image_path) in &images {
                    for roi in &rois {
                        for strategy in &strategies {
                            for library in &libraries {
                                for &seed in &seeds {
                                    let mut u = Unit {
                                        id: String::new(),
                                        task: task.clone(),
                                        scale,
                                        sigma,
                                        model: model.clone(),
                                        source: source.clone(),
                                        image: image.clone(),
                                        image_path: image_path.clone(),
                                        roi: *roi,
                                        block,
                                        strategy: strategy.clone(),
                                        library: library.clone(),
                                        seed,
                                        tol,
                                        batch_size: c.batch_size_dict.get(model).copied(),
                                        rng: rng.clone(),
                                        locality: c.locality.unwrap_or(true),
                                    };
                                    u.make_id();
                                    units.push(u);
                                }
                            }
                        }
                    }
                }
            }
        }
        units.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = units.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(Error::invalid(
                "study",
                &w[0].id,
                "two units have the same settings (a value is listed twice)",
            ));
        }
        let device = c.device.clone().unwrap_or_else(|| "cpu".into());
        Ok(Study {
            config,
            path: path.to_path_buf(),
            text,
            units,
            device,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_readable_and_differ_by_any_setting() {
        let mut u = Unit {
            id: String::new(),
            task: "DN".into(),
            scale: 1,
            sigma: 50.0,
            model: "DnCNN".into(),
            source: ModelSource::Shipped {
                name: "dncnn-s-dn50".into(),
            },
            image: "demo_2.png".into(),
            image_path: "x/demo_2.png".into(),
            roi: Roi::new(96, 152, 32),
            block: 8,
            strategy: "c3f50".into(),
            library: "/a/patch-DIV2K-8-Demo".into(),
            seed: 0,
            tol: 0.01,
            batch_size: Some(1300),
            rng: "numpy".into(),
            locality: true,
        };
        u.make_id();
        let first = u.id.clone();
        assert!(
            first.starts_with("dn-DnCNN-demo_2-r96_152_32-b8-c3f50-patch-DIV2K-8-Demo-s0-"),
            "{first}"
        );
        // the hash is FNV-1a of fixed JSON: the same on every build and machine
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        u.image_path = "elsewhere/demo_2.png".into();
        u.batch_size = None;
        u.make_id();
        assert_eq!(u.id, first);
        u.tol = 0.02;
        u.make_id();
        assert_ne!(u.id, first);
    }
}
