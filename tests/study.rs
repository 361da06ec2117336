//! `cem study`: the authors' configs, units and their folders, reruns, failures,
//! locks, shards, and `cem table` over a study folder.

mod common;

use cem::study::{Shard, Study, StudyConfig, StudyDir, UnitState};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("CEM_WEIGHTS")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Two 64x64 ground truths (`cat_1.png`, `cat_2.png`) in `dir/images`.
fn images(dir: &Path) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    cem::image::save_rgb(&common::cat(120, 40, 64), dir.join("images/cat_1.png")).unwrap();
    cem::image::save_rgb(&common::cat(200, 100, 64), dir.join("images/cat_2.png")).unwrap();
}

/// A tiny DN study in the authors' format plus a `models:` section: 2 images, ROI
/// 16,16,16, blocks of 16 (16 cells), C1F2, the built-in library.
const TINY: &str = "task: 'DN'
sr: 1
Modellist: ['DnCNN']
batch_size_dict:
  DnCNN: 16
TextImg_path: './images/'
Imagelist: ['cat_1.png', 'cat_2.png']
prefix: 'TINY'
w: 16
h: 16
ROI_size: 16
mask_block_size: 16
coarse_num: 1
fine_num: 2
load_previous: 1
tol: 0.01
models:
  DnCNN: shipped:dncnn-s-dn50
";

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// The authors' demo configs, verbatim from their repository (J-FHu/CEM).
const AUTHORS_DN: &str = "task: 'DN' # SR, DN, DR
sr: 1 # 4 for SR, 1 for DN, DR
Modellist: ['DnCNN', 'RCAN_DN']
batch_size_dict:
  DnCNN: 1300
  RCAN_DN: 450
TextImg_path: './CEM_Demo/test_images/Test1/'
Imagelist: ['demo_2.png','demo_3.png']
patch_path: './patch-DIV2K-8-Demo'
prefix: 'DEMO'

w: 96
h: 152
ROI_size: 32
mask_block_size: 8
coarse_num: 3
fine_num: 50
load_previous: 1
tol: 0.01
";

const AUTHORS_SR: &str = "task: 'SR' # SR, DN, DR
sr: 4 # 4 for SR, 1 for DN, DR
Modellist: ['EDSR', 'SRResNet']
batch_size_dict:
  EDSR: 900
  SRResNet: 800
TextImg_path: './CEM_Demo/test_images/Test1/'
Imagelist: ['demo_1.png','demo_3.png']
patch_path: './patch-DIV2K-8-Demo'
prefix: 'DEMO'

w: 96
h: 152
ROI_size: 32
mask_block_size: 8
coarse_num: 3
fine_num: 50
load_previous: 1
tol: 0.01
";

const AUTHORS_DR: &str = "task: 'DR' # SR, DN, DR
sr: 1 # 4 for SR, 1 for DN, DR
Modellist: ['SRResNet_DR', 'MPRNet_DR']
batch_size_dict:
  SRResNet_DR: 400
  MPRNet_DR: 160
TextImg_path: './CEM_Demo/test_images/Test1/'
Imagelist: ['demo_2.png','demo_3.png']
patch_path: './patch-DIV2K-8-Demo'
prefix: 'DEMO'

w: 96
h: 152
ROI_size: 32
mask_block_size: 8
coarse_num: 3
fine_num: 50
load_previous: 0
tol: 0.01
";

#[test]
fn the_authors_demo_configs_resolve_with_their_paths_pointed_at_shared_data() {
    let Some(shared) = common::shared("the_authors_demo_configs_resolve") else {
        return;
    };
    let shared = shared.canonicalize().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let point = |text: &str| {
        text.replace(
            "./CEM_Demo/test_images/Test1/",
            &format!("{}/data/test-images/", shared.display()),
        )
        .replace(
            "./patch-DIV2K-8-Demo",
            &format!("{}/data/patches-div2k-8", shared.display()),
        )
    };
    // without a models: section the authors' names are unknown here: the error lists
    // every place looked in
    let p = write(tmp.path(), "dn.yml", &point(AUTHORS_DN));
    let err = Study::load(&p).unwrap_err().to_string();
    for want in [
        "DnCNN",
        "no entry 'DnCNN' under models:",
        "not a shipped model",
        "CEM_WEIGHTS",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    let models = "models:\n  DnCNN: shipped:dncnn-s-dn50\n  RCAN_DN: shipped:dncnn-s-dn50\n  EDSR: shipped:srresnet-s-x4\n  SRResNet: shipped:srresnet-s-x4\n  SRResNet_DR: shipped:dncnn-s-dn50\n  MPRNet_DR: shipped:dncnn-s-dn50\n";
    for (name, authors, task, scale, models_named, batch, keep) in [
        (
            "dn",
            AUTHORS_DN,
            "DN",
            1,
            ["DnCNN", "RCAN_DN"],
            [1300, 450],
            true,
        ),
        (
            "sr",
            AUTHORS_SR,
            "SR",
            4,
            ["EDSR", "SRResNet"],
            [900, 800],
            true,
        ),
        (
            "dr",
            AUTHORS_DR,
            "DR",
            1,
            ["MPRNet_DR", "SRResNet_DR"],
            [160, 400],
            false,
        ),
    ] {
        let p = write(
            tmp.path(),
            &format!("{name}.yml"),
            &(point(authors) + models),
        );
        let study = Study::load(&p).unwrap();
        assert_eq!(study.units.len(), 4, "{name}");
        assert_eq!(study.config.load_previous(), keep, "{name}");
        for u in &study.units {
            assert_eq!((u.task.as_str(), u.scale, u.block), (task, scale, 8));
            assert_eq!(u.roi, cem::image::Roi::new(96, 152, 32));
            assert_eq!(u.strategy, "c3f50");
            assert_eq!(u.tol, 0.01);
            assert!(u.library.ends_with("patches-div2k-8"), "{}", u.library);
            let i = models_named.iter().position(|m| *m == u.model).unwrap();
            assert_eq!(u.batch_size, Some(batch[i]), "{}", u.id);
        }
        // ids are stable: the same file gives the same ids
        let again = Study::load(&p).unwrap();
        assert_eq!(
            study.units.iter().map(|u| &u.id).collect::<Vec<_>>(),
            again.units.iter().map(|u| &u.id).collect::<Vec<_>>()
        );
    }
}

#[test]
fn bad_configs_name_the_bad_value() {
    let tmp = tempfile::tempdir().unwrap();
    images(tmp.path());
    let cases = [
        (
            TINY.replace("tol: 0.01", "tol: 0.01\ntoll: 1"),
            "unknown field `toll`",
        ),
        (TINY.replace("cat_2.png", "cat_9.png"), "cat_9.png"),
        (TINY.replace("['DnCNN']", "['DnCNN', 'Nope']"), "Nope"),
        (TINY.replace("w: 16", "w: 60"), "60,16,16"),
        (
            TINY.replace("shipped:dncnn-s-dn50", "shipped:nope"),
            "no shipped model 'nope'",
        ),
        // ... and where it looked: a binary built elsewhere searches another folder
        (
            TINY.replace("shipped:dncnn-s-dn50", "shipped:nope"),
            "data/models; set CEM_MODELS for another folder",
        ),
        (
            TINY.replace("task: 'DN'", "task: 'XX'"),
            "unknown task 'XX'",
        ),
        (TINY.replace("coarse_num: 1", "coarse_num: 0"), "c0f2"),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let p = write(tmp.path(), &format!("bad{i}.yml"), body);
        let err = Study::load(&p).unwrap_err().to_string();
        assert!(err.contains(want), "case {i}: want '{want}' in: {err}");
    }
    // the missing image's full path is named, the ROI error names the image
    let p = write(tmp.path(), "roi.yml", &TINY.replace("w: 16", "w: 60"));
    let err = Study::load(&p).unwrap_err().to_string();
    assert!(err.contains("cat_1.png (64x64)"), "{err}");
    // an unknown model lists what was tried
    let p = write(
        tmp.path(),
        "model.yml",
        &TINY.replace("['DnCNN']", "['Nope']"),
    );
    let err = Study::load(&p).unwrap_err().to_string();
    assert!(
        err.contains("tried") && err.contains("no entry 'Nope' under models:"),
        "{err}"
    );
    // through the command line: a shard 3/2 and an unknown field
    let good = write(tmp.path(), "good.yml", TINY);
    let out = tmp.path().join("out");
    let o = cem(&[
        "study",
        good.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--shard",
        "3/2",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("3/2") && text(&o).contains("numbered 0 to 1"),
        "{}",
        text(&o)
    );
    let o = cem(&[
        "study",
        tmp.path().join("bad0.yml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("unknown field `toll`"), "{}", text(&o));
}

#[test]
fn a_study_runs_keeps_finished_units_records_failures_and_retries_them() {
    let tmp = tempfile::tempdir().unwrap();
    images(tmp.path());
    // a second model from a TorchScript file that is broken for now
    let broken = tmp.path().join("dn.pt");
    std::fs::write(&broken, b"not a model").unwrap();
    let body = TINY.replace("['DnCNN']", "['DnCNN', 'Script']") + "  Script: dn.pt\n";
    let config = write(tmp.path(), "study.yml", &body);
    let out = tmp.path().join("out");
    let args = [
        "study",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let o = cem(&args);
    assert!(!o.status.success(), "the broken model fails the run");
    let t = text(&o);
    assert!(t.contains("4 units: 2 computed, 0 kept"), "{t}");
    assert!(t.contains("2 failed now"), "{t}");
    let folder = StudyDir::new(&out);
    let units = folder.units().unwrap();
    assert_eq!(units.len(), 4);
    let states: Vec<UnitState> = units.iter().map(|u| folder.state(&u.id)).collect();
    for (u, s) in units.iter().zip(&states) {
        if u.model == "DnCNN" {
            assert_eq!(*s, UnitState::Done, "{}", u.id);
            assert!(folder.unit_dir(&u.id).join("cem.json").is_file());
            for f in ["input.png", "output.png", "hr.png", "unit.json", "cem.csv"] {
                assert!(folder.unit_dir(&u.id).join(f).is_file(), "{f}");
            }
            // the config's batch of 16 (a GPU size) is capped at the CPU's 8
            let record: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(folder.unit_dir(&u.id).join("cem.json")).unwrap(),
            )
            .unwrap();
            assert_eq!(record["batch_size"], 8, "{}", u.id);
            assert!(!folder.partial_dir(&u.id).exists());
        } else {
            match s {
                UnitState::Failed { error } => assert!(error.contains("dn.pt"), "{error}"),
                other => panic!("{other:?}"),
            }
        }
    }
    let o = cem(&["study", "status", out.to_str().unwrap()]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("4 units: 2 done, 0 running, 2 failed, 0 pending"),
        "{t}"
    );
    assert!(t.contains("failed  dn-Script-cat_1"), "{t}");
    // the one-row-per-unit table has every unit with its status
    let o = cem(&["table", "maps", out.to_str().unwrap()]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let with_status = |s: &str| {
        t.lines()
            .filter(|l| l.split_whitespace().nth(1) == Some(s))
            .count()
    };
    assert_eq!((with_status("done"), with_status("failed")), (2, 2), "{t}");
    // a rerun keeps the finished units and skips the failed ones
    let o = cem(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(
            "4 units: 0 computed, 2 kept, 0 held by another process, 0 failed now, 2 failed before"
        ),
        "{}",
        text(&o)
    );
    // the model repaired, --retry-failed computes them
    // (renamed: a traced module's name with '-' does not load back; see the report)
    let mut net = cem::zoo::shipped("dncnn-s-dn50", tch::Device::Cpu)
        .unwrap()
        .with_name("dncnn_s");
    net.export_torchscript(&broken, 32).unwrap();
    let mut retry = args.to_vec();
    retry.push("--retry-failed");
    let o = cem(&retry);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 computed, 2 kept"), "{}", text(&o));
    assert!(units.iter().all(|u| folder.state(&u.id) == UnitState::Done));
    assert!(!folder.failure_path(&units[0].id).exists());
    // the same weights through TorchScript and natively: the same maps
    let by_model = |m: &str| {
        let mut v: Vec<Vec<f64>> = units
            .iter()
            .filter(|u| u.model == m)
            .map(|u| {
                let map = cem::map::load(folder.unit_dir(&u.id)).unwrap();
                map.effects().iter().copied().collect()
            })
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v
    };
    assert_eq!(by_model("DnCNN"), by_model("Script"));
    // Table I straight from the study folder: one row, over two maps
    let o = cem(&["table", "table1", out.to_str().unwrap()]);
    let t = text(&o);
    assert!(
        o.status.success() && t.contains("DnCNN") && t.contains("Script"),
        "{t}"
    );
}

#[test]
fn locks_keep_a_second_process_off_a_unit_and_stale_locks_are_recovered() {
    let tmp = tempfile::tempdir().unwrap();
    images(tmp.path());
    let config = write(tmp.path(), "study.yml", TINY);
    let study = Study::load(&config).unwrap();
    let out = tmp.path().join("out");
    let folder = StudyDir::new(&out);
    let (a, b) = (&study.units[0].id, &study.units[1].id);
    // unit a is held by a process on another host; unit b by a process that is gone
    for (id, holder) in [
        (a, "host=elsewhere\npid=1\n".to_string()),
        (b, format!("host={}\npid={}\n", hostname(), i32::MAX - 3)),
    ] {
        std::fs::create_dir_all(folder.lock_dir(id)).unwrap();
        std::fs::write(folder.lock_dir(id).join(cem::map::LOCK_NAME), holder).unwrap();
    }
    let summary = cem::study::run_study(&study, &out, &Default::default()).unwrap();
    assert_eq!((summary.computed, summary.busy), (1, 1), "{summary}");
    assert!(
        matches!(folder.state(a), UnitState::Running { ref holder } if holder.contains("elsewhere"))
    );
    assert_eq!(folder.state(b), UnitState::Done);
    let status = cem::study::status_text(&out).unwrap();
    assert!(
        status.contains("1 done, 1 running") && status.contains("host elsewhere"),
        "{status}"
    );
}

fn hostname() -> String {
    String::from_utf8(Command::new("hostname").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn two_shards_in_parallel_give_the_table_of_one_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    images(tmp.path());
    // 2 images x 2 seeds = 4 units
    let body = "task: dn
Modellist: [small]
Imagelist: [cat_1.png, cat_2.png]
TextImg_path: images
rois: ['16,16,16']
mask_block_size: 16
strategies: [c1f2]
seeds: [0, 1]
models:
  small: shipped:dncnn-s-dn50
";
    let config = write(tmp.path(), "study.yml", body);
    let sharded = tmp.path().join("sharded");
    let whole = tmp.path().join("whole");
    let spawn = |shard: &str| {
        Command::new(env!("CARGO_BIN_EXE_cem"))
            .args([
                "study",
                config.to_str().unwrap(),
                "--out",
                sharded.to_str().unwrap(),
                "--shard",
                shard,
            ])
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (p0, p1) = (spawn("0/2"), spawn("1/2"));
    let (o0, o1) = (
        p0.wait_with_output().unwrap(),
        p1.wait_with_output().unwrap(),
    );
    assert!(
        o0.status.success() && o1.status.success(),
        "{}\n{}",
        text(&o0),
        text(&o1)
    );
    assert!(text(&o0).contains("2 units: 2 computed"), "{}", text(&o0));
    assert!(text(&o1).contains("2 units: 2 computed"), "{}", text(&o1));
    // unsharded, two units at a time in one process
    let o = cem(&[
        "study",
        config.to_str().unwrap(),
        "--out",
        whole.to_str().unwrap(),
        "--jobs",
        "2",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("4 units: 4 computed"), "{}", text(&o));
    let table = |dir: &Path| {
        let o = cem(&["table", "table1", dir.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let (a, b) = (table(&sharded), table(&whole));
    assert!(a.contains("small") && a.contains("4 maps"), "{a}");
    assert_eq!(a, b);
    // and map for map
    for u in StudyDir::new(&whole).units().unwrap() {
        let x = cem::map::load(StudyDir::new(&whole).unit_dir(&u.id)).unwrap();
        let y = cem::map::load(StudyDir::new(&sharded).unit_dir(&u.id)).unwrap();
        assert_eq!(x.effects(), y.effects(), "{}", u.id);
    }
    // the shard from SLURM's variables
    let s = Shard::from_vars(|k| match k {
        "SLURM_ARRAY_TASK_ID" => Some("1".into()),
        "SLURM_ARRAY_TASK_COUNT" => Some("2".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(s, Some(Shard { index: 1, count: 2 }));
}

#[test]
fn config_fields_of_ours_make_the_cross_product() {
    let tmp = tempfile::tempdir().unwrap();
    images(tmp.path());
    let body = "tasks: [dn, sr]
Modellist: [a, b]
Imagelist: [cat_1.png, cat_2.png]
TextImg_path: images
rois: ['0,0,16', '16,16,32']
strategies: [c3f50, full:1]
seeds: [0, 1, 2]
libraries: [builtin]
models:
  a: shipped:dncnn-s-dn50
  b: shipped:srresnet-s-x4
";
    let config: StudyConfig = serde_yaml_ng::from_str(body).unwrap();
    let study = Study::resolve(config, &tmp.path().join("x.yml"), body.into(), tmp.path()).unwrap();
    assert_eq!(study.units.len(), 2 * 2 * 2 * 2 * 2 * 3);
    let mut ids: Vec<&String> = study.units.iter().map(|u| &u.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 96);
}

#[test]
fn an_interrupted_unit_resumes_its_checkpoint_and_gives_the_same_map() {
    let tmp = tempfile::tempdir().unwrap();
    images(tmp.path());
    // one slow unit: 64 cells x 120 interventions, one per call (well past the first
    // checkpoint, written after 2 s, even on an idle machine: with 6 interventions at
    // batch 8 the unit finished before it on an idle 2-core machine)
    let body = TINY
        .replace("['cat_1.png', 'cat_2.png']", "['cat_1.png']")
        .replace("mask_block_size: 16", "mask_block_size: 8")
        .replace("coarse_num: 1", "coarse_num: 120")
        .replace("DnCNN: 16", "DnCNN: 1");
    let config = write(tmp.path(), "study.yml", &body);
    let out = tmp.path().join("out");
    let args = [
        "study",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let study = Study::load(&config).unwrap();
    let folder = StudyDir::new(&out);
    let id = &study.units[0].id;
    let checkpoint = folder.partial_dir(id).join("cem.partial.json");
    let start = std::time::Instant::now();
    while !checkpoint.is_file() && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(checkpoint.is_file(), "no checkpoint appeared");
    // Ctrl-C: the engine stops after its batch and saves the checkpoint
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(cem::engine::INTERRUPTED_EXIT_CODE),
        "{}",
        text(&o)
    );
    let status = cem::study::status_text(&out).unwrap();
    assert!(
        status.contains("1 pending") && status.contains("resumes its checkpoint"),
        "{status}"
    );
    let o = cem(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(folder.state(id), UnitState::Done);
    let resumed = cem::map::load(folder.unit_dir(id)).unwrap();
    // the same unit in one go
    let whole = tmp.path().join("whole");
    let o = cem(&[
        "study",
        config.to_str().unwrap(),
        "--out",
        whole.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let fresh = cem::map::load(StudyDir::new(&whole).unit_dir(id)).unwrap();
    assert_eq!(resumed.effects(), fresh.effects());
    assert_eq!(resumed.inferences(), fresh.inferences());
}

#[test]
fn submit_dry_run_prints_the_job_array_script() {
    let tmp = tempfile::tempdir().unwrap();
    images(tmp.path());
    let config = write(tmp.path(), "my study.yml", TINY);
    let out = tmp.path().join("out");
    let base = [
        "study",
        "submit",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--slurm",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--array",
        "2",
        "--gpus-per-task",
        "1",
        "--partition",
        "gpu",
        "--time",
        "1:00:00",
        "--device",
        "cuda",
        "--dry-run",
    ]);
    let o = cem(&args);
    let script = text(&o);
    assert!(o.status.success(), "{script}");
    for want in [
        "#!/bin/bash",
        "#SBATCH --array=0-1",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=1:00:00",
        "#SBATCH --job-name=cem-my_study",
        "2 units of",
        " study '",
        "my study.yml' --out '",
        "--device 'cuda'",
    ] {
        assert!(script.contains(want), "{want}: {script}");
    }
    assert!(!out.exists(), "a dry run writes nothing");
    let mut args = base.to_vec();
    args.extend(["--array", "3", "--dry-run"]);
    let o = cem(&args);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("array = 3") && text(&o).contains("only 2 units"),
        "{}",
        text(&o)
    );
}

#[test]
fn authors_model_names_resolve_through_cem_weights() {
    let Some(shared) = common::shared("authors_model_names_resolve_through_cem_weights") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    images(tmp.path());
    let body = TINY.replace("models:\n  DnCNN: shipped:dncnn-s-dn50\n", "");
    let config = write(tmp.path(), "study.yml", &body);
    let out = tmp.path().join("out");
    let run = |weights: &Path| {
        Command::new(env!("CARGO_BIN_EXE_cem"))
            .args(["study", "submit", config.to_str().unwrap(), "--out"])
            .arg(&out)
            .args(["--slurm", "--dry-run"])
            .env("CEM_WEIGHTS", weights)
            .output()
            .unwrap()
    };
    // the authors' file name for DnCNN, dncnn_color_blind.pth, is in ../shared
    let o = run(&shared.join("data/models"));
    assert!(o.status.success(), "{}", text(&o));
    let source = cem::study::resolve_model(
        "DnCNN",
        &Default::default(),
        tmp.path(),
        Some(&shared.join("data/models")),
    )
    .unwrap();
    match &source {
        cem::study::ModelSource::Native { arch, weights, .. } => {
            assert_eq!(arch, "dncnn");
            assert!(weights.ends_with("dncnn_color_blind.pth"));
        }
        other => panic!("{other:?}"),
    }
    // and it runs: the authors' checkpoint converted and loaded into the zoo's DnCNN
    let o = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(["study", config.to_str().unwrap(), "--out"])
        .arg(tmp.path().join("real"))
        .env("CEM_WEIGHTS", shared.join("data/models"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 units: 2 computed"), "{}", text(&o));
    // an empty folder: every file looked for is named
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = run(&empty);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(
        t.contains("empty/DnCNN.pt")
            && t.contains("empty/dncnn_color_blind.pth (the authors' file)"),
        "{t}"
    );
}

/// `studies/demo-*_CEM.yml` are the authors' demo configs with only their two data
/// paths pointed at `../shared` and a `models:` section added: every other field parses
/// to what the verbatim file gives, and every model name resolves to a real model.
#[test]
fn the_repository_demo_studies_are_the_authors_configs_pointed_at_shared_data() {
    let Some(shared) = common::shared("the_repository_demo_studies") else {
        return;
    };
    let studies = Path::new(env!("CARGO_MANIFEST_DIR")).join("studies");
    for (task, authors, models) in [
        ("DN", AUTHORS_DN, ["DnCNN", "RCAN_DN"]),
        ("DR", AUTHORS_DR, ["SRResNet_DR", "MPRNet_DR"]),
        ("SR", AUTHORS_SR, ["EDSR", "SRResNet"]),
    ] {
        let path = studies.join(format!("demo-{task}_CEM.yml"));
        let ours = StudyConfig::load(&path).unwrap();
        let mut theirs = StudyConfig::parse(authors).unwrap();
        assert_eq!(
            ours.models.keys().collect::<Vec<_>>().len(),
            2,
            "{task}: one entry per model"
        );
        for m in models {
            assert!(ours.models.contains_key(m), "{task}: {m}");
        }
        theirs.text_img_path = ours.text_img_path.clone();
        theirs.patch_path = ours.patch_path.clone();
        theirs.models = ours.models.clone();
        assert_eq!(ours, theirs, "{task}: only the paths and models: differ");
        // the paths reach ../shared's data and the models resolve
        let study = Study::load(&path).unwrap();
        assert_eq!(study.units.len(), 4, "{task}");
        let images = std::fs::canonicalize(shared.join("data/test-images")).unwrap();
        for u in &study.units {
            assert_eq!(
                std::fs::canonicalize(&u.image_path)
                    .unwrap()
                    .parent()
                    .unwrap(),
                images
            );
            assert!(
                std::fs::canonicalize(&u.library)
                    .unwrap()
                    .ends_with("patches-div2k-8"),
                "{}",
                u.library
            );
        }
    }
}

#[test]
fn cpu_jobs_share_libtorchs_threads_and_give_them_back() {
    assert_eq!(cem::study::threads_per_job(2, 2), 1);
    assert_eq!(cem::study::threads_per_job(16, 3), 5);
    assert_eq!(cem::study::threads_per_job(1, 4), 1, "at least one each");
    assert_eq!(cem::study::threads_per_job(8, 0), 8, "no jobs reads as one");

    let tmp = tempfile::tempdir().unwrap();
    images(tmp.path());
    let config = write(tmp.path(), "study.yml", TINY);
    let study = cem::study::Study::load(&config).unwrap();
    tch::set_num_threads(4);
    let opts = cem::study::RunOptions {
        jobs: 2,
        ..Default::default()
    };
    let summary = cem::study::run_study(&study, &tmp.path().join("out"), &opts).unwrap();
    assert_eq!(summary.computed, 2, "{summary:?}");
    assert_eq!(summary.cpu_threads, Some(2), "4 threads shared by 2 jobs");
    assert!(summary.to_string().contains("2 libtorch thread(s) per job"));
    assert_eq!(
        tch::get_num_threads(),
        4,
        "the process's setting is restored"
    );
}
