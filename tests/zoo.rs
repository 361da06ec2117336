//! Native networks: shapes, PyTorch weight loading against the reference architectures,
//! the real DnCNN's fixture PSNR, TorchScript export.

mod common;

use cem::prelude::*;
use cem::zoo::{Arch, NetConfig, Network};

fn tiny(arch: Arch, scale: i64) -> NetConfig {
    let feats = if matches!(arch, Arch::SwinIr | Arch::SwinIrMix) {
        12
    } else {
        16
    };
    NetConfig::new(arch, scale).feats(feats).blocks(2).groups(2)
}

#[test]
fn every_architecture_has_the_right_output_shape() {
    tch::manual_seed(0);
    for arch in Arch::ALL {
        let scales: &[i64] = if arch.scale_one_only() {
            &[1]
        } else {
            &[1, 2, 3, 4]
        };
        for &scale in scales {
            let net = Network::new(tiny(arch, scale), Device::Cpu).unwrap();
            let x = Tensor::rand([2, 3, 32, 32], (Kind::Float, Device::Cpu));
            let y = net.forward(&x).unwrap();
            assert_eq!(
                y.size(),
                [2, 3, 32 * scale, 32 * scale],
                "{arch:?} x{scale}"
            );
            assert!(net.parameters() > 0);
        }
    }
    let err = Network::new(NetConfig::new(Arch::Dncnn, 4), Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("scale"), "{err}");
    let err = Network::new(NetConfig::new(Arch::Rcan, 4).feats(20), Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("multiple of 16"), "{err}");
    assert!(Arch::parse("swin").is_err());
    let err = Network::new(NetConfig::new(Arch::SwinIr, 4).feats(64), Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("multiple of 6"), "{err}");
    assert_eq!(Arch::parse("RCAN-AP16").unwrap(), Arch::RcanAp16);
}

/// `NAME.pth` in the native network turns `input` of `NAME_io.safetensors` into its
/// `output` to 1e-4.
fn check_reference(name: &str, config: NetConfig) {
    let Some(shared) = common::shared(name) else {
        return;
    };
    let dir = shared.join("reference/architectures");
    let net = Network::load(config, dir.join(format!("{name}.pth")), Device::Cpu).unwrap();
    let io = Tensor::read_safetensors(dir.join(format!("{name}_io.safetensors"))).unwrap();
    let get = |k: &str| io.iter().find(|(n, _)| n == k).unwrap().1.shallow_clone();
    let y = net.forward(&get("input")).unwrap();
    let want = get("output");
    assert_eq!(y.size(), want.size(), "{name}");
    let diff = (y - want).abs().max().double_value(&[]);
    eprintln!("{name}: max abs difference {diff:.2e}");
    assert!(diff < 1e-4, "{name}: max abs difference {diff}");
}

#[test]
fn srcnn_matches_the_reference() {
    check_reference("srcnn_x4", NetConfig::new(Arch::Srcnn, 4));
}

#[test]
fn msrresnet_matches_the_reference() {
    check_reference("msrresnet_x4", NetConfig::new(Arch::SrResNet, 4));
}

#[test]
fn edsr_baseline_matches_the_reference() {
    check_reference("edsr_baseline_x4", NetConfig::new(Arch::Edsr, 4));
}

#[test]
fn rcan_matches_the_reference() {
    check_reference(
        "rcan_g2b4_x4",
        NetConfig::new(Arch::Rcan, 4).groups(2).blocks(4),
    );
}

#[test]
fn rcan_ap16_matches_the_reference() {
    check_reference(
        "rcan_ap16_g2b4_x4",
        NetConfig::new(Arch::RcanAp16, 4).groups(2).blocks(4),
    );
}

#[test]
fn swinir_light_matches_the_reference() {
    check_reference("swinir_light_x4", NetConfig::new(Arch::SwinIr, 4));
}

#[test]
fn srresnet_mix_matches_the_reference() {
    check_reference("srresnet_mix", NetConfig::new(Arch::SrResNetMix, 1));
}

#[test]
fn rcan_mix_matches_the_reference() {
    check_reference(
        "rcan_mix_g2b4",
        NetConfig::new(Arch::RcanMix, 1).groups(2).blocks(4),
    );
}

#[test]
fn swinir_mix_matches_the_reference() {
    check_reference(
        "swinir_mix_d2x2_e60",
        NetConfig::new(Arch::SwinIrMix, 1)
            .feats(60)
            .groups(2)
            .blocks(2),
    );
}

#[test]
fn mixed_architectures_are_scale_one_and_parse_by_name() {
    for arch in [Arch::SrResNetMix, Arch::RcanMix, Arch::SwinIrMix] {
        assert_eq!(Arch::parse(arch.name()).unwrap(), arch);
        let err = Network::new(tiny(arch, 4), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("scale 1") && err.contains(arch.name()),
            "{err}"
        );
    }
    assert_eq!(Arch::parse("SRResNet_MIO").unwrap(), Arch::SrResNetMix);
    assert_eq!(Arch::parse("swinir-mio").unwrap(), Arch::SwinIrMix);
    let err = Network::new(NetConfig::new(Arch::RcanMix, 1).feats(40), Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("multiple of 16"), "{err}");
    // the authors' sizes
    let c = NetConfig::new(Arch::SwinIrMix, 1);
    assert_eq!((c.feats, c.groups, c.blocks), (180, 6, 6));
    let c = NetConfig::new(Arch::RcanMix, 1);
    assert_eq!((c.feats, c.groups, c.blocks), (64, 10, 16));
}

#[test]
fn swinir_mix_has_no_residual_from_the_input() {
    // zero weights everywhere: the official SwinIR at scale 1 returns its input
    // (x + conv_last(...)), SwinIR_mix returns only the DIV2K mean
    tch::manual_seed(4);
    let x = Tensor::rand([1, 3, 16, 16], (Kind::Float, Device::Cpu));
    let zeroed = |arch| {
        let net = Network::new(tiny(arch, 1), Device::Cpu).unwrap();
        tch::no_grad(|| {
            for (_, mut v) in net.var_store().variables() {
                let _ = v.zero_();
            }
        });
        net.forward(&x).unwrap()
    };
    let plain = zeroed(Arch::SwinIr);
    assert!((plain - &x).abs().max().double_value(&[]) < 1e-6);
    let mix = zeroed(Arch::SwinIrMix);
    let mean = Tensor::from_slice(&[0.4488f32, 0.4371, 0.4040]).view([1, 3, 1, 1]);
    assert!((mix - mean).abs().max().double_value(&[]) < 1e-6);
}

#[test]
fn swinir_pads_inputs_that_are_not_window_multiples() {
    tch::manual_seed(3);
    let net = Network::new(tiny(Arch::SwinIr, 2), Device::Cpu).unwrap();
    let x = Tensor::rand([1, 3, 20, 28], (Kind::Float, Device::Cpu));
    assert_eq!(net.forward(&x).unwrap().size(), [1, 3, 40, 56]);
}

#[test]
fn native_dncnn_from_the_legacy_pth_reproduces_the_fixture() {
    let Some(shared) = common::shared("native_dncnn_from_the_legacy_pth_reproduces_the_fixture")
    else {
        return;
    };
    let net = Network::load(
        NetConfig::new(Arch::Dncnn, 1),
        shared.join("data/models/dncnn_color_blind.pth"),
        Device::Cpu,
    )
    .unwrap();
    let noisy = load_rgb(shared.join("reference/fixtures/demo_2_dn_sigma50_seed0.png")).unwrap();
    let gt = load_rgb(shared.join("data/test-images/demo_2.png")).unwrap();
    let out =
        tensor_to_rgb(&forward_checked(&net, &to_tensor(&noisy, Device::Cpu), 1).unwrap()).unwrap();
    let psnr = roi_psnr(&out, &gt, Roi::paper_demo()).unwrap();
    eprintln!("native DnCNN ROI PSNR {psnr:.6} dB (reference 24.0414)");
    assert!((psnr - 24.0414).abs() < 1e-3, "{psnr}");
}

#[test]
fn weights_that_do_not_fit_are_named_and_round_trip_otherwise() {
    tch::manual_seed(1);
    let dir = tempfile::tempdir().unwrap();
    let a = Network::new(tiny(Arch::SrResNet, 2), Device::Cpu).unwrap();
    let path = dir.path().join("a.safetensors");
    a.save_weights(&path).unwrap();
    let b = Network::load(tiny(Arch::SrResNet, 2), &path, Device::Cpu).unwrap();
    let x = Tensor::rand([1, 3, 16, 16], (Kind::Float, Device::Cpu));
    let same = (a.forward(&x).unwrap() - b.forward(&x).unwrap())
        .abs()
        .max()
        .double_value(&[]);
    assert_eq!(same, 0.0);
    assert_eq!(b.name(), "a");

    let err = Network::load(tiny(Arch::Edsr, 2), &path, Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing") && err.contains("unexpected") && err.contains("a.safetensors"),
        "{err}"
    );
    let err = Network::load(tiny(Arch::SrResNet, 2).feats(32), &path, Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrong shape"), "{err}");
    let err = Network::load(
        tiny(Arch::SrResNet, 2),
        dir.path().join("none.safetensors"),
        Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("none.safetensors"), "{err}");
    std::fs::write(dir.path().join("bad.safetensors"), b"not safetensors").unwrap();
    let err = Network::load(
        tiny(Arch::SrResNet, 2),
        dir.path().join("bad.safetensors"),
        Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
}

#[test]
fn exported_torchscript_runs_the_same() {
    tch::manual_seed(2);
    let mut net = Network::new(tiny(Arch::Rcan, 2), Device::Cpu).unwrap();
    assert_torchscript_export_runs_the_same(&mut net, "rcan.pt");
}

/// Exports `net` to `file` in a temporary folder, loads it back as TorchScript and
/// checks that both give the same output on a random 32x32 input.
fn assert_torchscript_export_runs_the_same(net: &mut Network, file: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    net.export_torchscript(&path, 32).unwrap();
    let ts = TorchScript::load(&path, Device::Cpu).unwrap();
    let x = Tensor::rand([1, 3, 32, 32], (Kind::Float, Device::Cpu));
    let d = (net.forward(&x).unwrap() - ts.forward(&x).unwrap())
        .abs()
        .max()
        .double_value(&[]);
    assert!(d < 1e-5, "{d}");
}

#[test]
fn a_shipped_model_with_dashes_in_its_name_exports_to_torchscript_that_loads() {
    let mut net = cem::zoo::shipped("dncnn-s-dn50", Device::Cpu).unwrap();
    assert_torchscript_export_runs_the_same(&mut net, "dncnn-s-dn50.pt");
}

#[test]
fn shipped_models_beat_doing_nothing_on_the_held_out_photo() {
    let hr = cem::demo::demo_image().unwrap(); // astronaut.png: held out from training
    for (name, task) in [
        ("dncnn-s-dn50", Task::Dn { sigma: 50.0 }),
        ("srresnet-s-x4", Task::Sr { scale: 4 }),
    ] {
        let net = cem::zoo::shipped(name, Device::Cpu).unwrap();
        assert_eq!(net.name(), name);
        let input = task.degradation(0).unwrap().degrade(&hr).unwrap();
        let scale = task.degradation(0).unwrap().scale();
        let out = forward_checked(&net, &to_tensor(&input, Device::Cpu), scale).unwrap();
        let got = cem::image::psnr(&tensor_to_rgb(&out).unwrap(), &hr).unwrap();
        let nothing = if scale == 1 {
            cem::image::psnr(&input, &hr).unwrap()
        } else {
            let up = cem::degrade::resample::pil_bicubic(&input, hr.width(), hr.height());
            cem::image::psnr(&up, &hr).unwrap()
        };
        eprintln!("{name}: {got:.2} dB vs {nothing:.2} dB doing nothing");
        assert!(got > nothing + 1.0, "{name}: {got} vs {nothing}");
    }
    assert!(cem::zoo::shipped("nope", Device::Cpu).is_err());
}

#[test]
fn nested_legacy_and_dataparallel_checkpoints_load() {
    // a BasicSR-style checkpoint: {'params_ema': {'module.' + key: tensor}}, written by
    // the project's torch in the legacy (pre-zip) format
    tch::manual_seed(4);
    let dir = tempfile::tempdir().unwrap();
    let a = Network::new(tiny(Arch::Edsr, 2), Device::Cpu).unwrap();
    let st = dir.path().join("a.safetensors");
    a.save_weights(&st).unwrap();
    let pth = dir.path().join("nested.pth");
    let script = "import sys, torch, json, struct\n\
        raw = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]; head = json.loads(raw[8:8 + n])\n\
        sd = {}\n\
        for k, v in head.items():\n\
        \x20   if k == '__metadata__': continue\n\
        \x20   a, b = v['data_offsets']; buf = bytearray(raw[8 + n + a:8 + n + b])\n\
        \x20   sd['module.' + k] = torch.frombuffer(buf, dtype=torch.float32).reshape(v['shape']).clone()\n\
        torch.save({'params_ema': sd, 'iter': 7}, sys.argv[2], _use_new_zipfile_serialization=False)\n";
    let run = std::process::Command::new(cem::zoo::python())
        .args(["-c", script])
        .arg(&st)
        .arg(&pth)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let b = Network::load(tiny(Arch::Edsr, 2), &pth, Device::Cpu).unwrap();
    let x = Tensor::rand([1, 3, 16, 16], (Kind::Float, Device::Cpu));
    let d = (a.forward(&x).unwrap() - b.forward(&x).unwrap())
        .abs()
        .max()
        .double_value(&[]);
    assert_eq!(d, 0.0);
}
