//! Bad inputs that were accepted silently or lost their message (issue 17, items 5-7):
//! stored results with NaN / -inf effects or an unknown format version, result folders
//! without their images, a model's own TorchScript error, a zero training crop, a
//! library of images smaller than the block, `--scale` with a task that has none.

mod common;

use cem::prelude::*;
use std::path::Path;
use std::process::Command;

fn saved_map(dir: &Path) {
    let map = common::quiet_cem()
        .coarse(1)
        .fine(2)
        .run(
            &FnModel::new("box", Device::Cpu, |x: &Tensor| {
                x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)
            }),
            &common::cat(40, 40, 32),
            &Task::Dn { sigma: 50.0 },
            Roi::new(8, 8, 8),
        )
        .unwrap();
    cem::map::save(&map, dir).unwrap();
}

/// Replaces the effect of the first non-ROI row of `cem.csv` by `value`; returns the line.
fn set_effect(dir: &Path, value: &str) -> usize {
    let path = dir.join("cem.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let i = lines
        .iter()
        .position(|l| l.ends_with(",none") || l.ends_with(",positive") || l.ends_with(",negative"))
        .unwrap();
    let mut f: Vec<&str> = lines[i].split(',').collect();
    f[2] = value;
    lines[i] = f.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    i + 1
}

#[test]
fn stored_nan_and_minus_inf_effects_are_refused_with_file_and_line() {
    for value in ["NaN", "-inf", "inf"] {
        let tmp = tempfile::tempdir().unwrap();
        saved_map(tmp.path());
        let line = set_effect(tmp.path(), value);
        let err = cem::map::load(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("cem.csv") && err.contains(&format!("line {line}")),
            "{value}: {err}"
        );
        // tables refuse too
        let err = cem::stats::MapSet::load(&[tmp.path().to_path_buf()])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("cem.csv"), "{value}: {err}");
    }
    // the ROI's +inf is legitimate
    let tmp = tempfile::tempdir().unwrap();
    saved_map(tmp.path());
    let map = cem::map::load(tmp.path()).unwrap();
    assert!(map.cells.iter().any(|c| c.effect_db == f64::INFINITY));
}

#[test]
fn an_unknown_format_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    saved_map(tmp.path());
    let path = tmp.path().join("cem.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"format\": 2,", "\"format\": 7,")).unwrap();
    let err = cem::map::load(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("cem.json") && err.contains("unknown \"format\" version 7"),
        "{err}"
    );
}

#[test]
fn cem_plot_says_which_panels_are_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    saved_map(&dir);
    let out = tmp.path().join("p.png");
    let o = Command::new(env!("CARGO_BIN_EXE_cem"))
        .arg("plot")
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("has no input.png or output.png: those panels are left out"),
        "{err}"
    );
    // the title is not clipped: the figure is wider than the lone map tile
    let fig = cem::image::load_rgb(&out).unwrap();
    assert!(fig.width() > 16 * 2 + 256 + 16 + 200, "{}", fig.width());
}

#[test]
fn a_models_own_torchscript_error_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("fixed.pt");
    // traced with a fixed view: any other size fails inside the interpreter
    FnModel::new("fixed", Device::Cpu, |x: &Tensor| x.view([1, 3, 16, 16]))
        .save_traced(
            &Tensor::rand([1, 3, 16, 16], (Kind::Float, Device::Cpu)),
            &path,
        )
        .unwrap();
    let ts = TorchScript::load(&path, Device::Cpu).unwrap();
    let err = ts
        .forward(&Tensor::rand([1, 3, 24, 20], (Kind::Float, Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("is invalid for input of size"), "{err}");
}

#[test]
fn a_zero_training_crop_is_named() {
    use cem::train::{TrainConfig, TrainTask};
    use cem::zoo::{Arch, NetConfig};
    let task = TrainTask::parse("dn", 4, 50.0).unwrap();
    let mut config = TrainConfig::new(NetConfig::new(Arch::parse("dncnn").unwrap(), 1), task);
    config.crop = 0;
    let tmp = tempfile::tempdir().unwrap();
    let err = cem::train::train(&config, tmp.path(), None, Device::Cpu, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid crop = 0") && err.contains("at least 1 pixel"),
        "{err}"
    );
}

#[test]
fn a_library_with_images_smaller_than_the_block_is_refused_with_counts() {
    let tmp = tempfile::tempdir().unwrap();
    save_rgb(&common::cat(0, 0, 64), tmp.path().join("big.png")).unwrap();
    for i in 0..5 {
        save_rgb(
            &common::cat(0, 0, 6),
            tmp.path().join(format!("small{i}.png")),
        )
        .unwrap();
    }
    let err = Library::open(tmp.path(), 8, 0).unwrap_err().to_string();
    assert!(
        err.contains("5 of 6") && err.contains("smaller than the 8x8 block") && err.contains("6x6"),
        "{err}"
    );
}

#[test]
fn a_scale_for_a_task_without_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(["map", "--model", "shipped:dncnn-s-dn50", "--image"])
        .arg(tmp.path().join("none.png"))
        .args(["--task", "dn", "--scale", "3", "--roi", "0,0,8", "--out"])
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("--scale 3 only applies to --task sr"), "{err}");
}

// ---- issue 16, section 3, and issue 17's `cem train` lock ----

/// Runs `cem` with `args` and extra environment; returns (exit code, stdout, stderr).
fn cem_with_env(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A small PyTorch checkpoint written by the project's Python torch.
fn checkpoint(path: &Path) {
    let run = Command::new(cem::zoo::python())
        .args([
            "-c",
            "import sys, torch; torch.save({'w': torch.arange(6.).reshape(2, 3)}, sys.argv[1])",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn convert_weights_never_replaces_its_input_nor_an_existing_output_unasked() {
    let tmp = tempfile::tempdir().unwrap();
    let pth = tmp.path().join("X.pth");
    checkpoint(&pth);
    let original = std::fs::read(&pth).unwrap();
    let convert = |args: &[&Path], extra: &[&str]| {
        let mut all: Vec<&std::ffi::OsStr> = vec!["convert-weights".as_ref()];
        all.extend(args.iter().map(|p| p.as_os_str()));
        all.extend(extra.iter().map(std::ffi::OsStr::new));
        cem_with_env(&all, &[])
    };
    // the same file, however spelled: refused, the checkpoint intact
    let same_spellings = [
        pth.clone(),
        tmp.path().join(".").join("X.pth"),
        tmp.path().join("sub").join("..").join("X.pth"),
    ];
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    let link = tmp.path().join("link.pth");
    std::os::unix::fs::symlink(&pth, &link).unwrap();
    for out in same_spellings.iter().chain([&link]) {
        for extra in [&[][..], &["--force"][..]] {
            let (code, _, err) = convert(&[&pth, out], extra);
            assert_eq!(code, 1, "{}: {err}", out.display());
            assert!(
                err.contains("is the checkpoint") && err.contains("itself"),
                "{}: {err}",
                out.display()
            );
            assert_eq!(std::fs::read(&pth).unwrap(), original);
        }
    }
    // a new output: written, and nothing temporary left beside it
    let out = tmp.path().join("x.safetensors");
    let (code, stdout, err) = convert(&[&pth, &out], &[]);
    assert_eq!(code, 0, "{stdout}{err}");
    let tensors = Tensor::read_safetensors(&out).unwrap();
    assert_eq!(tensors.len(), 1);
    assert_eq!(tensors[0].1.size(), vec![2, 3]);
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
    // an existing output: refused without --force, replaced with it
    std::fs::write(&out, b"old").unwrap();
    let (code, _, err) = convert(&[&pth, &out], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
    let (code, _, err) = convert(&[&pth, &out], &["--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(Tensor::read_safetensors(&out).is_ok());
    // a failed conversion leaves the old output as it was and no temporary file
    let bad = tmp.path().join("bad.pth");
    std::fs::write(&bad, b"not a checkpoint").unwrap();
    std::fs::write(&out, b"old").unwrap();
    let (code, _, _) = convert(&[&bad, &out], &["--force"]);
    assert_eq!(code, 1);
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
}

/// A 5x5 box filter as TorchScript, and a 64x64 ground truth.
fn box_files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let model = dir.join("box.pt");
    common::save_box_model(&model);
    let image = dir.join("hr.png");
    save_rgb(&common::cat(0, 0, 64), &image).unwrap();
    (model, image)
}

#[test]
fn an_input_too_large_for_the_free_memory_stops_before_running_and_the_batch_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let (model, image) = box_files(tmp.path());
    let map = |limit: &str, out: &Path| {
        cem_with_env(
            &[
                "map".as_ref(),
                "--model".as_ref(),
                model.as_os_str(),
                "--image".as_ref(),
                image.as_os_str(),
                "--task".as_ref(),
                "dn".as_ref(),
                "--roi".as_ref(),
                "24,24,16".as_ref(),
                "--strategy".as_ref(),
                "c1f2".as_ref(),
                "--no-locality".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            &[("CEM_MEMORY_LIMIT", limit)],
        )
    };
    // 64x64 through a model taken as 64 channels wide on the CPU:
    // 4 B x 4,096 px x (6 + 192 + 576) = 12.1 MiB per input; 70% of 1 MiB holds none
    let out = tmp.path().join("small");
    let (code, _, err) = map("1M", &out);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err,
        "error: out of memory on cpu: one 64x64 input through box needs about 12.1 MiB \
         but 1.0 MiB is free; crop the image to the region around the ROI (or use a \
         smaller image), or a device with more memory\n"
    );
    assert!(!out.join("cem.json").exists());
    // 70% of 40 MiB = 28 MiB holds two: the batch is lowered and the user told
    let out = tmp.path().join("two");
    let (code, stdout, err) = map("40M", &out);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(
        err.contains(
            "batch: 2 interventions per model call (about 12.1 MiB each, 40.0 MiB free on cpu)"
        ),
        "{err}"
    );
    assert_eq!(cem::map::load(&out).unwrap().info.batch_size, 2);
    // a cap that is not a size is named
    let (code, _, err) = map("lots", &tmp.path().join("bad"));
    assert_eq!(code, 1);
    assert!(err.contains("CEM_MEMORY_LIMIT = lots"), "{err}");
}

/// A model whose forward asks libtorch for 64 TiB when its batch is larger than `fits`.
fn greedy(fits: i64) -> impl Model {
    FnModel::new("greedy", Device::Cpu, move |x: &Tensor| {
        if x.size()[0] > fits {
            let _ = Tensor::zeros([1i64 << 44], (Kind::Float, Device::Cpu));
        }
        x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)
    })
}

#[test]
fn libtorch_running_out_of_memory_is_a_typed_error_not_a_panic() {
    let x = Tensor::rand([4, 3, 8, 8], (Kind::Float, Device::Cpu));
    let err = forward_checked(&greedy(1), &x, 1).unwrap_err();
    assert!(
        matches!(&err, Error::OutOfMemory { device, .. } if device == "cpu"),
        "{err:?}"
    );
    assert!(err.to_string().contains("can't allocate memory"), "{err}");
    // the engine lowers its batch on that error (by its type) and finishes the map
    let map = common::quiet_cem()
        .coarse(1)
        .fine(2)
        .batch_size(8)
        .locality(false)
        .run(
            &greedy(2),
            &common::cat(0, 0, 32),
            &Task::Dn { sigma: 50.0 },
            Roi::new(8, 8, 8),
        )
        .unwrap();
    assert_eq!(map.info.batch_size, 2);
}

#[test]
fn a_map_with_no_cell_outside_the_roi_says_so() {
    let model = FnModel::new("box", Device::Cpu, |x: &Tensor| {
        x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)
    });
    let run = |side: u32, roi: Roi| {
        common::quiet_cem()
            .coarse(1)
            .fine(2)
            .run(
                &model,
                &common::cat(0, 0, side),
                &Task::Dn { sigma: 50.0 },
                roi,
            )
            .unwrap()
            .map
    };
    // the ROI is the whole 8x8 image: one cell, the ROI's own
    let empty = run(8, Roi::new(0, 0, 8));
    assert_eq!(empty.cells.len(), 1);
    assert_eq!(empty.measured_range(), None);
    let line = empty.table1_line();
    assert!(
        line.contains("no cell outside the ROI to measure") && !line.contains("inf,"),
        "{line}"
    );
    // in tables: "(no cell)" for a row of such maps, and a row with one measured map
    // averages that map's range only
    let full = run(32, Roi::new(8, 8, 8));
    let (lo, hi) = full.measured_range().unwrap();
    let mut other = empty.clone();
    other.info.model = "other".into();
    let set = MapSet::from_maps(vec![
        ("a".into(), empty.clone()),
        ("b".into(), full.clone()),
        ("c".into(), other),
    ]);
    let rows = set.table1_rows().unwrap();
    let of = |m: &str| rows.iter().find(|r| r.model == m).unwrap().clone();
    assert_eq!(of("other").range_db, None);
    assert_eq!(of("box").range_db, Some((lo, hi)));
    assert_eq!(of("box").maps, 2);
    let text = set.table1().unwrap().to_text();
    assert!(
        text.contains("(no cell)") && !text.contains("inf,"),
        "{text}"
    );
    assert!(text.contains("no cell outside the ROI"), "{text}");
    let frame = set.frame().unwrap();
    assert_eq!(frame.column("min_effect_db").unwrap().null_count(), 2);
}

#[test]
fn a_second_trainer_into_the_same_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let held = cem::map::FolderLock::acquire(&out).unwrap();
    let (code, stdout, err) = cem_with_env(
        &[
            "train".as_ref(),
            "--arch".as_ref(),
            "dncnn".as_ref(),
            "--task".as_ref(),
            "dn".as_ref(),
            "--feats".as_ref(),
            "4".as_ref(),
            "--blocks".as_ref(),
            "2".as_ref(),
            "--steps".as_ref(),
            "1".as_ref(),
            "--batch".as_ref(),
            "1".as_ref(),
            "--crop".as_ref(),
            "16".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stdout}{err}");
    assert!(
        err.contains("is already in use by another cem run")
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(!out.join(cem::train::WEIGHTS_NAME).exists());
    drop(held);
}
