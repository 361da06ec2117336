//! `cem study submit --slurm`: an `sbatch` job array whose task `I` of `N` runs shard
//! `I/N` of the study (the shard comes from `SLURM_ARRAY_TASK_ID`/`_COUNT`), and the
//! scheduler's view of it for `cem study status`.

use super::folder::StudyDir;
use super::units::Study;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The submission's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlurmOptions {
    /// Array tasks (default: one per unit, at most 100).
    pub array: Option<usize>,
    /// GPUs per task (`--gpus-per-task`), none by default.
    pub gpus_per_task: Option<u32>,
    /// The partition.
    pub partition: Option<String>,
    /// The time limit (`--time`, e.g. `2:00:00`).
    pub time: Option<String>,
    /// The device each task uses (passed on as `--device`).
    pub device: Option<String>,
}

/// The job script's file name inside `DIR/slurm/`.
pub const SCRIPT_NAME: &str = "submit.sh";
/// The file holding the submitted job id inside `DIR/slurm/`.
pub const JOB_ID_NAME: &str = "job_id";

/// `text` quoted for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(p, e))
}

/// The array size: the option, checked, or one task per unit (at most 100).
pub fn array_size(units: usize, opts: &SlurmOptions) -> Result<usize> {
    match opts.array {
        Some(0) => Err(Error::invalid("array", 0, "needs at least 1 task")),
        Some(n) if n > units => Err(Error::invalid(
            "array",
            n,
            format!("the study has only {units} units: at most {units} tasks"),
        )),
        Some(n) => Ok(n),
        None => Ok(units.clamp(1, 100)),
    }
}

/// The `sbatch` script running `study` into `out` as a job array; `cem` is the binary
/// the tasks run (this one by default).
pub fn sbatch_script(study: &Study, out: &Path, cem: &Path, opts: &SlurmOptions) -> Result<String> {
    let n = array_size(study.units.len(), opts)?;
    let config = absolute(&study.path)?;
    let out = absolute(out)?;
    let name: String = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "study".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let logs = out.join("slurm");
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("#SBATCH --job-name=cem-{name}\n");
    s += &format!("#SBATCH --array=0-{}\n", n - 1);
    s += "#SBATCH --ntasks=1\n";
    s += &format!("#SBATCH --output={}/%A_%a.out\n", logs.display());
    if let Some(p) = &opts.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    if let Some(t) = &opts.time {
        s += &format!("#SBATCH --time={t}\n");
    }
    if let Some(g) = opts.gpus_per_task {
        s += &format!("#SBATCH --gpus-per-task={g}\n");
    }
    s += &format!(
        "# {} units of {} in {n} tasks; task I runs shard I/{n} (from SLURM_ARRAY_TASK_ID)\n",
        study.units.len(),
        config.display()
    );
    s += "set -euo pipefail\n";
    if let Some(lib) = std::env::var_os("LD_LIBRARY_PATH") {
        s += &format!(
            "export LD_LIBRARY_PATH={}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\n",
            quote(&lib.to_string_lossy())
        );
    }
    s += &format!(
        "exec {} study {} --out {}",
        quote(&cem.display().to_string()),
        quote(&config.display().to_string()),
        quote(&out.display().to_string())
    );
    if let Some(d) = &opts.device {
        s += &format!(" --device {}", quote(d));
    }
    s += "\n";
    Ok(s)
}

/// Writes the study's plan and the job script into `out` and submits it with
/// `sbatch`; returns the job id (also kept in `out/slurm/job_id`).
pub fn submit(study: &Study, out: &Path, opts: &SlurmOptions) -> Result<String> {
    let cem = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    let script = sbatch_script(study, out, &cem, opts)?;
    let folder = StudyDir::new(out);
    folder.write_plan(&study.text, &study.units)?;
    let dir = out.join("slurm");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(SCRIPT_NAME);
    std::fs::write(&path, &script).map_err(|e| Error::io(&path, e))?;
    let run = Command::new("sbatch")
        .arg("--parsable")
        .arg(&path)
        .output()
        .map_err(|e| {
            Error::invalid(
                "sbatch",
                path.display(),
                format!("cannot run sbatch ({e}); is SLURM installed here? The script is written: submit it yourself"),
            )
        })?;
    if !run.status.success() {
        return Err(Error::invalid(
            "sbatch",
            path.display(),
            format!(
                "submission failed: {}",
                String::from_utf8_lossy(&run.stderr).trim()
            ),
        ));
    }
    let id = String::from_utf8_lossy(&run.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    std::fs::write(dir.join(JOB_ID_NAME), format!("{id}\n"))
        .map_err(|e| Error::io(dir.join(JOB_ID_NAME), e))?;
    Ok(id)
}

/// The scheduler's view of a submitted study: `squeue` lines for its job while it is
/// queued or running, else `sacct`'s record; `None` without a submission or without
/// the tools.
pub fn scheduler_status(out: &Path) -> Option<String> {
    let id = std::fs::read_to_string(out.join("slurm").join(JOB_ID_NAME)).ok()?;
    let id = id.trim();
    let run = |cmd: &str, args: &[&str]| -> Option<String> {
        let o = Command::new(cmd).args(args).output().ok()?;
        let t = String::from_utf8_lossy(&o.stdout).trim().to_string();
        (o.status.success() && !t.is_empty()).then_some(t)
    };
    if let Some(q) = run("squeue", &["-h", "-j", id, "-o", "%i %T %M %R"]) {
        return Some(format!("SLURM job {id} (squeue):\n{q}"));
    }
    if let Some(a) = run(
        "sacct",
        &["-n", "-X", "-j", id, "-o", "JobID,State,ExitCode,Elapsed"],
    ) {
        return Some(format!("SLURM job {id} (sacct):\n{a}"));
    }
    Some(format!(
        "SLURM job {id}: not in the queue (finished, or squeue/sacct unavailable)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes_and_spaces() {
        assert_eq!(quote("a b'c"), "'a b'\\''c'");
    }

    #[test]
    fn array_sizes_are_checked() {
        let o = |a| SlurmOptions {
            array: a,
            ..Default::default()
        };
        assert_eq!(array_size(7, &o(None)).unwrap(), 7);
        assert_eq!(array_size(700, &o(None)).unwrap(), 100);
        assert_eq!(array_size(7, &o(Some(2))).unwrap(), 2);
        assert!(array_size(7, &o(Some(0))).is_err());
        let err = array_size(7, &o(Some(9))).unwrap_err().to_string();
        assert!(err.contains("9") && err.contains("only 7 units"), "{err}");
    }
}
