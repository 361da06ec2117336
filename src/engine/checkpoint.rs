//! Resumable runs: the PSNRs measured so far, per stage, with a fingerprint of the
//! settings they belong to. Interventions are evaluated in a fixed order and each
//! one's randomness depends only on its coordinates, so the stored results are a
//! prefix of each stage's list and a resumed run ends with the same map.

use crate::error::{Error, Result};
use crate::map::files::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub fingerprint: serde_json::Value,
    pub original_psnr: Option<f64>,
    pub results: BTreeMap<String, Vec<Option<f64>>>,
    pub seconds: BTreeMap<String, f64>,
    #[serde(skip)]
    path: Option<PathBuf>,
    #[serde(skip, default = "Instant::now")]
    last_save: Instant,
}

impl Checkpoint {
    /// The checkpoint at `path` if it exists and matches `fingerprint`, else a fresh one.
    pub fn open(path: Option<&Path>, fingerprint: serde_json::Value) -> Result<Checkpoint> {
        let fresh = Checkpoint {
            fingerprint: fingerprint.clone(),
            original_psnr: None,
            results: BTreeMap::new(),
            seconds: BTreeMap::new(),
            path: path.map(Path::to_path_buf),
            last_save: Instant::now(),
        };
        let Some(path) = path else { return Ok(fresh) };
        if !path.exists() {
            return Ok(fresh);
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut stored: Checkpoint =
            serde_json::from_str(&text).map_err(|e| Error::ResultFile {
                path: path.to_path_buf(),
                reason: format!("unreadable checkpoint ({e}); delete it to start over"),
            })?;
        if stored.fingerprint != fingerprint {
            return Err(Error::invalid(
                "checkpoint",
                path.display(),
                format!(
                    "it was made with other settings ({}); delete it or write to another folder",
                    stored.fingerprint
                ),
            ));
        }
        stored.path = Some(path.to_path_buf());
        stored.last_save = Instant::now();
        Ok(stored)
    }

    /// Results stored for `stage` so far.
    pub fn take(&mut self, stage: &str) -> Vec<Option<f64>> {
        self.results.remove(stage).unwrap_or_default()
    }

    /// Whether a run is being resumed.
    pub fn has_results(&self) -> bool {
        self.results.values().any(|v| !v.is_empty())
    }

    /// Writes the checkpoint (atomically) if it has a path.
    pub fn save(&mut self) -> Result<()> {
        if let Some(path) = &self.path {
            write_atomic(path, &serde_json::to_vec(self)?)?;
        }
        self.last_save = Instant::now();
        Ok(())
    }

    /// Whether `every` seconds passed since the last save (and there is a file to save to).
    pub fn is_due(&self, every: f64) -> bool {
        self.path.is_some() && self.last_save.elapsed().as_secs_f64() >= every
    }

    /// Removes the file once the map is complete.
    pub fn finish(&self) -> Result<()> {
        if let Some(path) = self.path.as_ref().filter(|p| p.exists()) {
            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        }
        Ok(())
    }

    /// The path, or a placeholder for messages.
    pub fn path_or_none(&self) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| PathBuf::from("(nowhere: no checkpoint path set)"))
    }
}
