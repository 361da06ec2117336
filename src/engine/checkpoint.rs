//! Resumable runs: the PSNRs measured so far, per stage, with a fingerprint of the
//! settings they belong to. Interventions are evaluated in a fixed order and each
//! one's randomness depends only on its coordinates, so the stored results are a
//! prefix of each stage's list and a resumed run ends with the same map.
//!
//! A checkpoint is trusted only when it is whole: its settings fingerprint matches the
//! run, its digest matches its contents (an edited value, a `null` or a lengthened list
//! is refused), its stages are known, its values finite, and each stage holds no more
//! results than the run plans (checked as each stage starts). Anything else is refused
//! with a message ending in "delete it to start over".

use super::stages::{COARSE, FINE, STAGES};
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
    /// FNV-1a of the stored PSNRs, original PSNR and seconds, written at every save.
    #[serde(default)]
    pub digest: Option<String>,
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
            digest: None,
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
        stored.validate().map_err(|reason| Error::ResultFile {
            path: path.to_path_buf(),
            reason: format!("checkpoint not usable: {reason}; delete it to start over"),
        })?;
        if stored.fingerprint != fingerprint {
            return Err(Error::invalid(
                "checkpoint",
                path.display(),
                format!(
                    "it was made with other settings ({}); write to another folder, or delete it to start over",
                    stored.fingerprint
                ),
            ));
        }
        stored.path = Some(path.to_path_buf());
        stored.last_save = Instant::now();
        Ok(stored)
    }

    /// The digest of what the checkpoint holds.
    fn compute_digest(&self) -> String {
        let body = serde_json::json!([self.results, self.original_psnr, self.seconds]);
        fnv1a(body.to_string().as_bytes())
    }

    /// Checks what can be checked without the run's plan: the digest, stage names,
    /// finite values.
    fn validate(&self) -> std::result::Result<(), String> {
        match &self.digest {
            None => {
                return Err("it has no digest (it was not written by this version of cem)".into())
            }
            Some(d) if *d != self.compute_digest() => {
                return Err(format!(
                    "its contents do not match its digest {d} (edited or corrupted)"
                ))
            }
            Some(_) => {}
        }
        for (stage, values) in &self.results {
            if !STAGES.iter().any(|s| s.name() == stage) {
                return Err(format!("unknown stage '{stage}'"));
            }
            // None is a perfect ROI (+inf PSNR); anything stored must be a finite number
            if let Some(i) = values
                .iter()
                .position(|v| v.is_some_and(|x| !x.is_finite()))
            {
                return Err(format!("stage '{stage}' result {i} is {:?}", values[i]));
            }
        }
        if let Some((stage, s)) = self
            .seconds
            .iter()
            .find(|(_, s)| !(s.is_finite() && **s >= 0.0))
        {
            return Err(format!("stage '{stage}' has {s} seconds"));
        }
        if self.original_psnr.is_some_and(f64::is_nan) {
            return Err("its original PSNR is NaN".into());
        }
        Ok(())
    }

    /// Results stored for `stage` so far, which must not exceed the `planned` count.
    pub fn take(&mut self, stage: &str, planned: usize) -> Result<Vec<Option<f64>>> {
        let stored = self.results.remove(stage).unwrap_or_default();
        if stored.len() > planned {
            return Err(Error::ResultFile {
                path: self.path_or_none(),
                reason: format!(
                    "checkpoint not usable: it holds {} '{stage}' results but this run plans {planned}; delete it to start over",
                    stored.len()
                ),
            });
        }
        if stored.len() < planned
            && stage == COARSE.name()
            && self.results.get(FINE.name()).is_some_and(|v| !v.is_empty())
        {
            return Err(Error::ResultFile {
                path: self.path_or_none(),
                reason: "checkpoint not usable: it holds fine results but an unfinished coarse stage; delete it to start over".into(),
            });
        }
        Ok(stored)
    }

    /// Whether a run is being resumed.
    pub fn has_results(&self) -> bool {
        self.results.values().any(|v| !v.is_empty())
    }

    /// Writes the checkpoint (atomically) if it has a path.
    pub fn save(&mut self) -> Result<()> {
        if let Some(path) = &self.path {
            self.digest = Some(self.compute_digest());
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

/// FNV-1a of `bytes`, as 16 hex digits (the digest of a checkpoint, the fingerprint
/// of an image).
pub(crate) fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(dir: &Path) -> PathBuf {
        let path = dir.join("c.json");
        let mut c = Checkpoint::open(Some(&path), serde_json::json!({"a": 1})).unwrap();
        c.original_psnr = Some(20.5);
        c.results
            .insert("coarse".into(), vec![Some(20.0), None, Some(21.25)]);
        c.seconds.insert("coarse".into(), 1.5);
        c.save().unwrap();
        path
    }

    fn reopen(path: &Path) -> Result<Checkpoint> {
        Checkpoint::open(Some(path), serde_json::json!({"a": 1}))
    }

    #[test]
    fn a_whole_checkpoint_resumes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = saved(tmp.path());
        let mut c = reopen(&path).unwrap();
        assert_eq!(
            c.take("coarse", 3).unwrap(),
            vec![Some(20.0), None, Some(21.25)]
        );
    }

    #[test]
    fn edited_lengthened_or_foreign_checkpoints_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = saved(tmp.path());
        let good = std::fs::read_to_string(&path).unwrap();
        for (what, bad) in [
            ("edited", good.replace("21.25", "21.5")),
            ("null", good.replace("20.0", "null")),
            ("no digest", good.replace("\"digest\"", "\"digest_\"")),
            ("overflow", good.replace("21.25", "1e999")),
            ("torn", good[..good.len() - 5].to_string()),
        ] {
            std::fs::write(&path, &bad).unwrap();
            let err = reopen(&path).map(|_| ()).unwrap_err().to_string();
            assert!(err.ends_with("delete it to start over"), "{what}: {err}");
        }
        std::fs::write(&path, &good).unwrap();
        // more results than the run plans
        let mut c = reopen(&path).unwrap();
        let err = c.take("coarse", 2).unwrap_err().to_string();
        assert!(
            err.contains("holds 3 'coarse' results but this run plans 2"),
            "{err}"
        );
        // other settings
        let err = Checkpoint::open(Some(&path), serde_json::json!({"a": 2}))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("other settings"), "{err}");
    }
}
