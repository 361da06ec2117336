//! A study's result folder and the state of each unit in it.
//!
//! ```text
//! DIR/study.yaml            the config as given
//! DIR/units.json            every unit with its settings
//! DIR/units/ID/             a finished unit (cem.json, cem.csv, input/output/hr.png, unit.json)
//! DIR/units/ID.partial/     a unit being computed (its checkpoint); renamed when done
//! DIR/locks/ID/cem.lock     the claim of the process computing it (host, pid)
//! DIR/failed/ID.json        why its last run failed
//! ```

use super::units::Unit;
use crate::error::{Error, Result};
use crate::map::{lock_holder, JSON_NAME};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the config copy.
pub const STUDY_YAML: &str = "study.yaml";
/// File name of the unit list.
pub const UNITS_JSON: &str = "units.json";
/// File name of a unit's settings inside its result folder.
pub const UNIT_JSON: &str = "unit.json";
/// Suffix of a unit's folder while it is computed.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Where a unit stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitState {
    /// Its result folder is complete.
    Done,
    /// A live process holds its lock (or one on another host).
    Running {
        /// `host, pid`.
        holder: String,
    },
    /// Its last run failed.
    Failed {
        /// The error.
        error: String,
    },
    /// Not run yet (or stopped; `resumable` when a checkpoint is there).
    Pending {
        /// A checkpoint or partial folder is there to resume from.
        resumable: bool,
    },
}

impl UnitState {
    /// `done`, `running`, `failed` or `pending`.
    pub fn name(&self) -> &'static str {
        match self {
            UnitState::Done => "done",
            UnitState::Running { .. } => "running",
            UnitState::Failed { .. } => "failed",
            UnitState::Pending { .. } => "pending",
        }
    }
}

/// Why a unit failed, as stored in `failed/ID.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// The error message.
    pub error: String,
    /// Host that ran it.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// Seconds since the Unix epoch.
    pub time: u64,
}

/// A study's result folder.
#[derive(Debug, Clone)]
pub struct StudyDir {
    /// The folder.
    pub root: PathBuf,
}

impl StudyDir {
    /// The folder `root` (not created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StudyDir { root: root.into() }
    }

    /// Whether `dir` holds a study (its `units.json`).
    pub fn is_study(dir: impl AsRef<Path>) -> bool {
        dir.as_ref().join(UNITS_JSON).is_file()
    }

    /// A finished unit's folder.
    pub fn unit_dir(&self, id: &str) -> PathBuf {
        self.root.join("units").join(id)
    }

    /// A unit's folder while it is computed.
    pub fn partial_dir(&self, id: &str) -> PathBuf {
        self.root
            .join("units")
            .join(format!("{id}{PARTIAL_SUFFIX}"))
    }

    /// The folder holding a unit's lock.
    pub fn lock_dir(&self, id: &str) -> PathBuf {
        self.root.join("locks").join(id)
    }

    /// A unit's failure record.
    pub fn failure_path(&self, id: &str) -> PathBuf {
        self.root.join("failed").join(format!("{id}.json"))
    }

    /// Writes the config copy and the unit list (atomically; every shard writes the same).
    pub fn write_plan(&self, config_text: &str, units: &[Unit]) -> Result<()> {
        std::fs::create_dir_all(self.root.join("units")).map_err(|e| Error::io(&self.root, e))?;
        crate::map::files::write_atomic(&self.root.join(STUDY_YAML), config_text.as_bytes())?;
        crate::map::files::write_atomic(
            &self.root.join(UNITS_JSON),
            &serde_json::to_vec_pretty(units)?,
        )
    }

    /// The units of the study stored here.
    pub fn units(&self) -> Result<Vec<Unit>> {
        let p = self.root.join(UNITS_JSON);
        let text = std::fs::read_to_string(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::invalid(
                    "study folder",
                    self.root.display(),
                    format!("no {UNITS_JSON}: not a study folder (run cem study CONFIG --out DIR)"),
                )
            } else {
                Error::io(&p, e)
            }
        })?;
        serde_json::from_str(&text).map_err(|e| Error::ResultFile {
            path: p,
            reason: e.to_string(),
        })
    }

    /// Whether a unit's result is complete.
    pub fn is_done(&self, id: &str) -> bool {
        self.unit_dir(id).join(JSON_NAME).is_file()
    }

    /// The stored failure of a unit, if any.
    pub fn failure(&self, id: &str) -> Option<Failure> {
        let text = std::fs::read_to_string(self.failure_path(id)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Records a failure.
    pub fn record_failure(&self, id: &str, error: &str) -> Result<()> {
        let p = self.failure_path(id);
        std::fs::create_dir_all(p.parent().unwrap_or(&self.root)).map_err(|e| Error::io(&p, e))?;
        let f = Failure {
            error: error.to_string(),
            host: crate::map::host_name(),
            pid: std::process::id(),
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        crate::map::files::write_atomic(&p, &serde_json::to_vec_pretty(&f)?)
    }

    /// Removes a failure record.
    pub fn clear_failure(&self, id: &str) {
        let _ = std::fs::remove_file(self.failure_path(id));
    }

    /// Where unit `id` stands.
    pub fn state(&self, id: &str) -> UnitState {
        if self.is_done(id) {
            return UnitState::Done;
        }
        if let Some((host, pid, alive)) = lock_holder(self.lock_dir(id)) {
            if alive != Some(false) {
                let pid = pid.map_or("?".into(), |p| p.to_string());
                return UnitState::Running {
                    holder: format!("host {host}, pid {pid}"),
                };
            }
        }
        if let Some(f) = self.failure(id) {
            return UnitState::Failed { error: f.error };
        }
        UnitState::Pending {
            resumable: self.partial_dir(id).is_dir(),
        }
    }
}
