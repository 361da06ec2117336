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
