//! Studies: one config, many maps. The authors' YAML configs (`demo-DN_CEM.yml`, ...)
//! run as they are, with our own fields for more tasks, ROIs, strategies, seeds and
//! libraries; each map is a unit with a stable id and its own result folder; reruns
//! keep finished units and resume checkpoints; shards (`--shard I/N`, SLURM job
//! arrays) split the units, and lock files keep two processes off the same unit.
//!
//! ```no_run
//! # fn main() -> cem::Result<()> {
//! use cem::study::{run_study, RunOptions, Shard, Study};
//! let study = Study::load("demo-DN_CEM.yml")?;
//! let opts = RunOptions { shard: Shard::parse("0/2")?, ..RunOptions::default() };
//! println!("{}", run_study(&study, "runs/dn".as_ref(), &opts)?);
//! print!("{}", cem::study::status_text("runs/dn")?);
//! # Ok(()) }
//! ```

mod config;
mod folder;
mod run;
mod shard;
mod slurm;
mod status;
mod units;

pub use config::{ModelEntry, NativeEntry, StudyConfig};
pub use folder::{Failure, StudyDir, UnitState, PARTIAL_SUFFIX, STUDY_YAML, UNITS_JSON, UNIT_JSON};
pub use run::{
    load_model, run_study, run_unit, study_batch, threads_per_job, RunOptions, RunSummary,
};
pub use shard::Shard;
pub use slurm::{
    array_size, sbatch_script, scheduler_status, submit, SlurmOptions, JOB_ID_NAME, SCRIPT_NAME,
};
pub use status::{status_text, unit_states, units_table};
pub use units::{resolve_model, ModelSource, Study, Unit};
