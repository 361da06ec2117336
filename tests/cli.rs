//! `cem map` end to end, on a TorchScript model the test makes.

mod common;

use cem::prelude::*;
use std::process::Command;

#[test]
fn cem_map_writes_the_files_and_prints_the_table_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("box.pt");
    common::save_box_model(&model);
    let hr = cem::image::crop(&cem::demo::demo_image().unwrap(), 64, 64, 64, 64).unwrap();
    let image = dir.path().join("hr.png");
    save_rgb(&hr, &image).unwrap();
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(["map", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(&image)
        .args([
            "--task",
            "dn",
            "--roi",
            "24,24,16",
            "--strategy",
            "c2f10",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("positive") && stdout.contains("ROI 24,24,16"),
        "{stdout}"
    );
    let map = cem::map::load(&out).unwrap();
    assert_eq!(map.info.strategy, "C2F10");
    assert_eq!(map.info.seed, 3);
    assert_eq!(map.cells.len(), 64);
    assert!(!out.join("cem.partial.json").exists());

    // a bad ROI is a clear error and a non-zero exit
    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(["map", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(&image)
        .args(["--task", "dn", "--roi", "60,60,16", "--out"])
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr)
        .contains("ROI x=60 y=60 size=16 lies outside the 64x64 image"));
}

#[test]
fn cem_map_runs_a_native_architecture_from_its_weights() {
    use cem::zoo::{Arch, NetConfig, Network};
    tch::manual_seed(5);
    let dir = tempfile::tempdir().unwrap();
    let config = NetConfig::new(Arch::SrResNetMix, 1).feats(16).blocks(2);
    let net = Network::new(config, Device::Cpu).unwrap();
    let weights = dir.path().join("tiny_mix.safetensors");
    net.save_weights(&weights).unwrap();
    let hr = cem::image::crop(&cem::demo::demo_image().unwrap(), 64, 64, 64, 64).unwrap();
    let image = dir.path().join("hr.png");
    save_rgb(&hr, &image).unwrap();
    let map_with = |extra: &[&str], out: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_cem"))
            .args(["map", "--arch", "srresnet_mix", "--weights"])
            .arg(&weights)
            .arg("--image")
            .arg(&image)
            .args(["--roi", "24,24,16", "--strategy", "c2f10", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = dir.path().join("out");
    let run = map_with(&["--task", "dn", "--feats", "16", "--blocks", "2"], &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let map = cem::map::load(&out).unwrap();
    assert_eq!(map.info.model, "tiny_mix");
    assert_eq!(map.cells.len(), 64);
    // the map's original output is this network's, with these weights
    let input = load_rgb(out.join(cem::map::INPUT_NAME)).unwrap();
    let output = forward_checked(&net, &to_tensor(&input, Device::Cpu), 1).unwrap();
    let psnr = roi_psnr(&tensor_to_rgb(&output).unwrap(), &hr, map.info.roi).unwrap();
    assert!((psnr - map.info.original_psnr).abs() < 1e-9, "{psnr}");

    // the wrong size, the wrong scale and a missing --weights are clear errors
    let stderr = |extra: &[&str], name: &str| {
        let run = map_with(extra, &dir.path().join(name));
        assert!(!run.status.success());
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    let err = stderr(&["--task", "dn"], "big");
    assert!(
        err.contains("do not fit") && err.contains("tiny_mix"),
        "{err}"
    );
    let err = stderr(&["--task", "sr", "--feats", "16", "--blocks", "2"], "sr");
    assert!(err.contains("srresnet_mix restores at scale 1"), "{err}");
    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(["map", "--arch", "srresnet_mix", "--image"])
        .arg(&image)
        .args(["--task", "dn", "--roi", "24,24,16", "--out"])
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--weights"));
}

/// Runs `cem` with `args`; returns (exit code, stdout, stderr).
fn cem(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(args)
        .output()
        .unwrap();
    (
        run.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&run.stdout).into_owned(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

macro_rules! os {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new($a)),*][..] };
}

/// A 5x5 box filter as a TorchScript file and a small ground truth, in `dir`.
fn box_model_and_image(dir: &std::path::Path, side: u32) -> (String, String) {
    let model = dir.join("box.pt");
    common::save_box_model(&model);
    let hr = cem::image::crop(&cem::demo::demo_image().unwrap(), 64, 64, side, side).unwrap();
    let image = dir.join("hr.png");
    save_rgb(&hr, &image).unwrap();
    (
        model.to_string_lossy().into_owned(),
        image.to_string_lossy().into_owned(),
    )
}

#[test]
fn a_typo_in_a_choice_is_refused_by_clap_with_the_valid_values() {
    let (code, _, err) = cem(os![
        "map", "--model", "m.pt", "--image", "x.png", "--task", "dx", "--roi", "0,0,8", "--out",
        "o"
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("invalid value 'dx' for '--task <TASK>'")
            && err.contains("[possible values: sr, dn, dr, sr-up, blur, jpeg, haze, lowlight]"),
        "{err}"
    );
    // a task's settings still parse, and bad ones are refused by name
    let (code, _, err) = cem(os![
        "map",
        "--model",
        "m.pt",
        "--image",
        "x.png",
        "--task",
        "jpeg:quality=abc",
        "--roi",
        "0,0,8",
        "--out",
        "o"
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("jpeg:quality=abc") && err.contains("quality"),
        "{err}"
    );
    // a negative noise level is refused as a value by name, not taken for an option
    let (code, _, err) = cem(os![
        "map", "--model", "m.pt", "--image", "x.png", "--task", "dn", "--sigma", "-5", "--roi",
        "0,0,8", "--out", "o"
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("'-5': the noise level must be a finite number >= 0")
            && err.contains("--sigma"),
        "{err}"
    );
    // a layout typo: the values, and clap's suggestion
    let (code, _, err) = cem(os![
        "plot",
        "some/maps",
        "--layout",
        "gird",
        "--out",
        "f.png"
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("invalid value 'gird' for '--layout <LAYOUT>'")
            && err.contains("[possible values: panel, grid, compare, pies, lam-vs-cem, traces]")
            && err.contains("'grid'"),
        "{err}"
    );
    // the other choices are clap's too
    for (args, listed) in [
        (
            os!["table", "table4", "some/maps"],
            "[possible values: table1, table2, table3, maps]",
        ),
        (
            os!["train", "--arch", "swin", "--task", "dn", "--out", "o"],
            "swinir",
        ),
        (
            os![
                "train",
                "--arch",
                "dncnn",
                "--task",
                "dn",
                "--schedule",
                "linear",
                "--out",
                "o"
            ],
            "[possible values: cosine, step]",
        ),
        (
            os!["degrade", "--task", "dn", "--image", "x.png", "--out", "o.png", "--rng", "mt"],
            "[possible values: chacha, numpy]",
        ),
        (
            os!["bench", "--device", "tpu"],
            "[possible values: cpu, cuda, cuda:N, auto]",
        ),
        (os!["demo", "--task", "dr"], "[possible values: dn, sr]"),
    ] {
        let (code, _, err) = cem(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(listed), "{args:?}: {err}");
    }
    // a zero batch is refused before anything runs
    let (code, _, err) = cem(os!["bench", "--batch-size", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--batch-size"), "{err}");
}

#[test]
fn bench_takes_the_task_like_map() {
    let dir = tempfile::tempdir().unwrap();
    let (model, image) = box_model_and_image(dir.path(), 32);
    let json = dir.path().join("bench.json");
    let bench = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = os![
            "bench",
            "--model",
            &model,
            "--image",
            &image,
            "--roi",
            "8,8,8",
            "--strategy",
            "c1f1",
            "--repeat",
            "1",
            "--json"
        ]
        .to_vec();
        args.push(json.as_os_str());
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        cem(&args)
    };
    // the noise level given is the one measured (it was fixed at 50)
    let (code, out, err) = bench(&["--task", "dn", "--sigma", "25"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["degradation"]["name"], "dn");
    assert_eq!(report["degradation"]["sigma"], 25.0);
    assert_eq!(report["model"], "box");
    // --scale is for SR only
    let (code, _, err) = bench(&["--task", "dn", "--scale", "2"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: --scale 2 only applies to --task sr or sr-up, not --task dn; remove it\n"
    );
    // and honoured for SR: the scale-1 box model is checked against x2
    let (code, _, err) = bench(&["--task", "sr", "--scale", "2"]);
    assert_eq!(code, 1);
    assert!(err.contains("scale 2"), "{err}");
    // a parametrised task
    let (code, out, err) = bench(&["--task", "jpeg:quality=30"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["degradation"]["name"], "jpeg", "{report}");
}

#[test]
fn the_cli_prints_each_error_text_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_, image) = box_model_and_image(dir.path(), 32);
    let missing = dir.path().join("missing.pt");
    let out = dir.path().join("m");
    let (code, _, err) = cem(os![
        "map",
        "--model",
        missing.as_os_str(),
        "--image",
        &image,
        "--task",
        "dn",
        "--roi",
        "8,8,8",
        "--out",
        out.as_os_str()
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "error: cannot open model file {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    // an output below a plain file: the folder it needs cannot be made
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let (code, _, err) = cem(os![
        "degrade",
        "--task",
        "dn",
        "--image",
        &image,
        "--out",
        file.join("in.png").as_os_str()
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "error: cannot write results to {}: File exists (os error 17)\n",
            file.display()
        )
    );
    // an existing file that cannot be written (not for root, who may write anything)
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        let mut perms = std::fs::metadata(&locked).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
        std::fs::set_permissions(&locked, perms).unwrap();
        let out = locked.join("in.png");
        let (code, _, err) = cem(os![
            "degrade",
            "--task",
            "dn",
            "--image",
            &image,
            "--out",
            out.as_os_str()
        ]);
        assert_eq!(code, 1);
        assert_eq!(
            err,
            format!(
                "error: cannot write image {}: Permission denied (os error 13)\n",
                out.display()
            )
        );
    }
}

#[test]
fn adaptive_settings_are_refused_by_name_for_other_strategies_and_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let out = out.to_str().unwrap();
    let base = [
        "map", "--model", "m.pt", "--image", "x.png", "--task", "dn", "--roi", "0,0,8",
    ];
    let run = |extra: &[&str]| {
        let tail = ["--out", out];
        let args: Vec<&std::ffi::OsStr> = base
            .iter()
            .chain(extra)
            .chain(tail.iter())
            .copied()
            .map(std::ffi::OsStr::new)
            .collect();
        cem(&args)
    };
    let (code, _, err) = run(&["--strategy", "c3f50", "--target", "0.05"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("--target 0.05 applies to --strategy adaptive, not --strategy C3F50"),
        "{err}"
    );
    let (code, _, err) = run(&["--strategy", "adaptive-cv", "--target", "1.5"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("adaptive target") && err.contains("1.5"),
        "{err}"
    );
}
