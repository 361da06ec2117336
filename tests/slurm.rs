//! `cem study submit --slurm` on a real SLURM, not a mock: installs Debian's
//! `slurm-wlm` and `munge` when missing (as root, with apt), starts `munged`,
//! `slurmctld` and `slurmd` on this host with a generated single-node `slurm.conf`
//! (2 CPUs), submits a small study as a 2-task array, waits, checks that the merged
//! Table I equals the unsharded run's, and stops the daemons it started. Skipped, with
//! a message, where that is impossible (not root, no apt).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sh(script: &str) -> Output {
    Command::new("bash").args(["-c", script]).output().unwrap()
}

/// Starts the cluster in `dir` (munged only when none runs). Prints "up" when the node
/// is idle.
const UP: &str = r#"set -eu
D=$1
H=$(hostname)
mkdir -p "$D/state" "$D/spool"
if ! (munge -n | unmunge) >/dev/null 2>&1; then
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  [ -f /etc/munge/munge.key ] || { mungekey --create; chown munge:munge /etc/munge/munge.key; }
  runuser -u munge -- /usr/sbin/munged
  cat /run/munge/munged.pid > "$D/munged.pid"
fi
cat > "$D/slurm.conf" <<CONF
ClusterName=cemtest
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
NodeName=$H CPUs=2 State=UNKNOWN
PartitionName=cem Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$D/slurm.conf"
/usr/sbin/slurmctld -f "$D/slurm.conf" -i
/usr/sbin/slurmd -f "$D/slurm.conf" -N "$H"
for i in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -q idle; then echo up; exit 0; fi
  sleep 1
done
echo "SLURM did not come up"; tail -20 "$D/slurmctld.log" "$D/slurmd.log"; exit 1
"#;

/// The daemons this test started, stopped by their process ids when dropped.
struct Cluster {
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for name in ["slurmd.pid", "slurmctld.pid", "munged.pid"] {
            if let Ok(pid) = std::fs::read_to_string(self.dir.join(name)) {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    unsafe { libc::kill(pid, libc::SIGTERM) };
                }
            }
        }
    }
}

/// SLURM and munge, installed with apt when missing; `None` (with a message) where
/// that cannot be done.
fn installed() -> bool {
    let have = || {
        sh("command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged")
            .status
            .success()
    };
    if have() {
        return true;
    }
    if unsafe { libc::geteuid() } != 0 || !sh("command -v apt-get").status.success() {
        eprintln!(
            "SKIPPED the SLURM test: slurm-wlm is not installed and apt (as root) is unavailable"
        );
        return false;
    }
    let o = sh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge");
    if !o.status.success() {
        eprintln!(
            "SKIPPED the SLURM test: apt-get install slurm-wlm munge failed: {}",
            text(&o)
        );
        return false;
    }
    have()
}

fn cem(args: &[&str], conf: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(args)
        .env("SLURM_CONF", conf)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap()
}

#[test]
fn a_study_submitted_as_a_slurm_job_array_equals_the_unsharded_run() {
    if !installed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let cluster = Cluster {
        dir: dir.join("slurm"),
    };
    std::fs::create_dir_all(&cluster.dir).unwrap();
    let o = Command::new("bash")
        .args(["-c", UP, "up"])
        .arg(&cluster.dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let conf = cluster.dir.join("slurm.conf");

    // 2 images x 2 seeds, DN with the shipped DnCNN, coarse grids
    std::fs::create_dir_all(dir.join("images")).unwrap();
    cem::image::save_rgb(&common::cat(120, 40, 64), dir.join("images/cat_1.png")).unwrap();
    cem::image::save_rgb(&common::cat(200, 100, 64), dir.join("images/cat_2.png")).unwrap();
    let config = dir.join("study.yml");
    std::fs::write(
        &config,
        "task: DN
Modellist: [DnCNN]
TextImg_path: images
Imagelist: [cat_1.png, cat_2.png]
rois: ['16,16,16']
mask_block_size: 16
strategies: [c1f2]
seeds: [0, 1]
models:
  DnCNN: shipped:dncnn-s-dn50
",
    )
    .unwrap();
    let sharded = dir.join("sharded");
    let o = cem(
        &[
            "study",
            "submit",
            config.to_str().unwrap(),
            "--out",
            sharded.to_str().unwrap(),
            "--slurm",
            "--array",
            "2",
            "--time",
            "10",
        ],
        &conf,
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("4 units in 2 tasks"), "{out}");
    let id = std::fs::read_to_string(sharded.join("slurm/job_id")).unwrap();
    let id = id.trim().to_string();
    let script = std::fs::read_to_string(sharded.join("slurm/submit.sh")).unwrap();
    assert!(
        script.contains("#SBATCH --array=0-1") && script.contains("#SBATCH --time=10"),
        "{script}"
    );

    // wait for the array to leave the queue
    let start = Instant::now();
    loop {
        let q = Command::new("squeue")
            .args(["-h", "-j", &id])
            .env("SLURM_CONF", &conf)
            .output()
            .unwrap();
        if q.status.success() && q.stdout.iter().all(|b| b.is_ascii_whitespace()) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the job is still queued: {}",
            text(&q)
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let logs: String = std::fs::read_dir(sharded.join("slurm"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "out"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    let o = cem(&["study", "status", sharded.to_str().unwrap()], &conf);
    let status = text(&o);
    assert!(
        status.contains("4 units: 4 done"),
        "{status}\ntask logs:\n{logs}"
    );
    assert!(status.contains(&format!("SLURM job {id}")), "{status}");
    // each task ran its shard: two units each
    assert_eq!(logs.matches("2 units: 2 computed").count(), 2, "{logs}");

    let whole = dir.join("whole");
    let o = cem(
        &[
            "study",
            config.to_str().unwrap(),
            "--out",
            whole.to_str().unwrap(),
        ],
        &conf,
    );
    assert!(o.status.success(), "{}", text(&o));
    let table = |d: &Path| {
        let o = cem(&["table", "table1", d.to_str().unwrap()], &conf);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let (a, b) = (table(&sharded), table(&whole));
    assert!(a.contains("DnCNN") && a.contains("4 maps"), "{a}");
    assert_eq!(a, b);
    drop(cluster);
}
