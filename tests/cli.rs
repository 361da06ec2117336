//! `cem map` end to end, on a TorchScript model the test makes.

use cem::prelude::*;
use std::process::Command;

#[test]
fn cem_map_writes_the_files_and_prints_the_table_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("box.pt");
    FnModel::new("box", Device::Cpu, |x: &Tensor| {
        x.avg_pool2d([5, 5], [1, 1], [2, 2], false, false, None::<i64>)
    })
    .save_traced(
        &Tensor::rand([1, 3, 64, 64], (Kind::Float, Device::Cpu)),
        &model,
    )
    .unwrap();
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
