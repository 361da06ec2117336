//! Checks against the authors' pipeline, using the fixtures in ../shared/reference
//! (made with PIL, OpenCV and PyTorch 2.11). Each skips with a message when
//! ../shared is absent.

mod common;

use cem::degrade::resample::{cv2_inter_cubic, pil_bicubic};
use cem::prelude::*;

#[test]
fn pil_bicubic_matches_pillow_fixtures() {
    let Some(shared) = common::shared("pil_bicubic_matches_pillow_fixtures") else {
        return;
    };
    for n in 1..=3 {
        let hr = load_rgb(shared.join(format!("data/test-images/demo_{n}.png"))).unwrap();
        let want = load_rgb(shared.join(format!("reference/fixtures/demo_{n}_x4_pil_bicubic.png")))
            .unwrap();
        let got = pil_bicubic(&hr, 64, 64);
        let diffs: Vec<i32> = got
            .as_raw()
            .iter()
            .zip(want.as_raw())
            .map(|(&a, &b)| (a as i32 - b as i32).abs())
            .collect();
        let max = diffs.iter().max().copied().unwrap();
        let differing = diffs.iter().filter(|&&d| d > 0).count();
        eprintln!(
            "demo_{n}: {differing} of {} values differ, max {max}",
            diffs.len()
        );
        assert!(max <= 1, "demo_{n}: max difference {max}");
        // and through the SR degradation
        assert_eq!(Bicubic::new(4).unwrap().degrade(&hr).unwrap(), got);
    }
}

#[test]
fn cv2_inter_cubic_matches_opencv_patches() {
    let Some(shared) = common::shared("cv2_inter_cubic_matches_opencv_patches") else {
        return;
    };
    let csv = std::fs::read_to_string(
        shared.join("reference/fixtures/patches_first200_cv2_intercubic_2x2.csv"),
    )
    .unwrap();
    let dir = shared.join("data/patches-div2k-8");
    let mut rows = 0;
    let mut differing = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let want: Vec<u8> = f[1..].iter().map(|v| v.parse().unwrap()).collect();
        let patch = load_rgb(dir.join(f[0])).unwrap();
        let got = cv2_inter_cubic(&patch, 2, 2);
        // CSV order: r00,g00,b00,r01,... with 01 = row 0, column 1 (row-major, as the raw buffer)
        differing += got
            .as_raw()
            .iter()
            .zip(&want)
            .filter(|(a, b)| a != b)
            .count();
        rows += 1;
    }
    assert_eq!(rows, 200);
    assert_eq!(differing, 0, "{differing} values of 2400 differ");
}

#[test]
fn gradient_reproduces_sharpness_in_file_names() {
    let Some(shared) = common::shared("gradient_reproduces_sharpness_in_file_names") else {
        return;
    };
    let lib = Library::from_patch_folder(shared.join("data/patches-div2k-8")).unwrap();
    assert_eq!(lib.len(), 10_000);
    let mut matching = 0;
    for p in lib.patches() {
        let n = cem::library::sharpness_from_name(&p.name).expect("authors' file name");
        if p.gradient.round() == n {
            matching += 1;
        }
    }
    eprintln!("G reproduces sharpness-N for {matching} of 10000 patches");
    assert!(matching >= 9_900, "only {matching} of 10000 match");
}

#[test]
fn pretrained_dncnn_reproduces_reference_psnr() {
    let Some(shared) = common::shared("pretrained_dncnn_reproduces_reference_psnr") else {
        return;
    };
    let model = TorchScript::load(
        shared.join("data/models/dncnn_color_blind.torchscript.pt"),
        Device::Cpu,
    )
    .unwrap();
    let noisy = load_rgb(shared.join("reference/fixtures/demo_2_dn_sigma50_seed0.png")).unwrap();
    let gt = load_rgb(shared.join("data/test-images/demo_2.png")).unwrap();
    let want = load_rgb(shared.join("reference/fixtures/demo_2_dn_dncnn_output.png")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("reference/fixtures/demo_2_dn_expected.json"))
            .unwrap(),
    )
    .unwrap();
    let out = forward_checked(&model, &to_tensor(&noisy, Device::Cpu), 1).unwrap();
    let out = tensor_to_rgb(&out).unwrap();
    let psnr = roi_psnr(&out, &gt, Roi::paper_demo()).unwrap();
    let want_psnr = expected["psnr_roi_dncnn_output_vs_gt"].as_f64().unwrap();
    eprintln!("DnCNN ROI PSNR {psnr:.6} dB (reference {want_psnr:.6})");
    assert!((psnr - want_psnr).abs() < 1e-3);
    let full = cem::image::psnr(&out, &gt).unwrap();
    assert!((full - expected["psnr_full_dncnn_output_vs_gt"].as_f64().unwrap()).abs() < 1e-3);
    let differing = out
        .as_raw()
        .iter()
        .zip(want.as_raw())
        .filter(|(a, b)| a != b)
        .count();
    eprintln!("{differing} u8 values differ from the reference output");
}
