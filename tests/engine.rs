//! The engine on glass-box models whose causal structure is known in advance.

mod common;

use cem::map::{classify, CellKind, RunStage, Stage};
use cem::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A 64x64 ground truth with texture: a crop of the embedded cat photo.
fn truth() -> RgbImage {
    common::cat(100, 60, 64)
}

const ROI: Roi = common::wired::ROI;

/// Whole-image evaluation: these tests check the strategies themselves (the
/// locality crop has its own tests in tests/locality.rs).
fn base() -> Cem {
    common::quiet_cem().locality(false)
}

/// Distance in pixels between cell `(r, c)` (8x8) and the ROI, per axis (max of both).
fn cell_distance(r: u32, c: u32) -> u32 {
    let gap = |lo: u32, roi_lo: u32, roi_len: u32| {
        let hi = lo + 8;
        if hi <= roi_lo {
            roi_lo - hi + 1
        } else if lo >= roi_lo + roi_len {
            lo - (roi_lo + roi_len) + 1
        } else {
            0
        }
    };
    gap(r * 8, ROI.y, ROI.size).max(gap(c * 8, ROI.x, ROI.size))
}

#[test]
fn local_model_leaves_far_cells_at_exactly_zero() {
    // output pixel = mean of the 7x7 input window around it: radius k = 3
    let k = 3;
    let model = FnModel::new("box7", Device::Cpu, move |x: &Tensor| {
        x.avg_pool2d([7, 7], [1, 1], [k, k], false, false, None::<i64>)
    });
    let map = base()
        .run(&model, &truth(), &Task::Dn { sigma: 50.0 }, ROI)
        .unwrap();
    assert_eq!((map.rows, map.cols), (8, 8));
    let mut near_nonzero = 0;
    for cell in &map.cells {
        let d = cell_distance(cell.row, cell.col);
        if d == 0 {
            assert_eq!(cell.kind, CellKind::Roi);
        } else if d > k as u32 {
            assert_eq!(
                cell.effect_db, 0.0,
                "cell {},{} at distance {d}",
                cell.row, cell.col
            );
            assert_eq!(
                cell.stage,
                Stage::Coarse,
                "far cells join U after the coarse stage"
            );
            assert_eq!(cell.samples, 3);
        } else if cell.effect_db != 0.0 {
            near_nonzero += 1;
        }
    }
    // the 12 cells bordering the 2x2 ROI block are within reach and do matter
    assert!(
        near_nonzero >= 10,
        "{near_nonzero} near cells with an effect"
    );
    assert_eq!(map.info.stages[&RunStage::Coarse].inferences, 60 * 3);
    assert_eq!(
        map.info.stages[&RunStage::Fine].inferences,
        near_nonzero * 50
    );
}

#[test]
fn a_wired_far_cell_has_the_constructed_sign_and_no_other_cell_matters() {
    // A's original content is "right" (shift 0 with it, a darker patch shifts the ROI:
    // positive effect); B's is "wrong" (shift +0.3 (mean - 0.4) with it, natural
    // patches remove most of it: negative effect).
    let (hr, task, model) = common::wired::scene();
    let map = base().run(&model, &hr, &task, ROI).unwrap();
    common::wired::assert_signs(&map, None);
    let c = map.counts();
    assert_eq!((c.roi, c.positive, c.negative, c.none), (4, 5, 1, 58));
}

#[test]
fn identity_denoiser_has_no_effect_outside_the_roi() {
    let model = FnModel::new("identity", Device::Cpu, |x: &Tensor| x.shallow_clone());
    let hr = truth();
    let task = Task::Dn { sigma: 50.0 };
    let map = base().seed(5).run(&model, &hr, &task, ROI).unwrap();
    let noisy = task.degradation(5).unwrap().degrade(&hr).unwrap();
    // O is the noisy input's own ROI PSNR, from the patch noise of the input alone
    assert_eq!(map.info.original_psnr, roi_psnr(&noisy, &hr, ROI).unwrap());
    assert!(map
        .cells
        .iter()
        .all(|c| c.kind == CellKind::Roi || c.kind == CellKind::None));
    assert_eq!(map.info.stages[&RunStage::Fine].inferences, 0);
    assert_eq!(map.range(), (0.0, 0.0));
}

fn smooth_model() -> impl Model {
    FnModel::new("box9", Device::Cpu, |x: &Tensor| {
        x.avg_pool2d([9, 9], [1, 1], [4, 4], false, false, None::<i64>)
    })
}

#[test]
fn full_pipeline_and_coarse_to_fine_agree_and_seeds_are_reproducible() {
    let hr = truth();
    let task = Task::Dn { sigma: 50.0 };
    let model = smooth_model();
    let full = base()
        .strategy(Strategy::Full { t: 200 })
        .run(&model, &hr, &task, ROI)
        .unwrap();
    let c2f = base().run(&model, &hr, &task, ROI).unwrap();
    let s = c2f.similarity(&full).unwrap();
    eprintln!("S(C3F50, Full200) = {s:.2}%");
    // The paper reports 82.6 % on SR networks against T=500; on this smooth local
    // model the only error left is sampling noise of 50 vs 200 draws.
    assert!(s > 80.0, "similarity {s}");
    let again = base().run(&model, &hr, &task, ROI).unwrap();
    assert_eq!(c2f.cells, again.cells, "same seed, same map");
    let other = base().seed(1).run(&model, &hr, &task, ROI).unwrap();
    assert_ne!(c2f.cells, other.cells, "another seed, another map");
    // batch size does not change the map
    let b3 = base().batch_size(3).run(&model, &hr, &task, ROI).unwrap();
    assert_eq!(c2f.cells, b3.cells);
}

#[test]
fn sr_maps_use_the_input_grid() {
    // nearest-neighbour x2 "SR": each output pixel depends on one input pixel
    let model = FnModel::new("nearest2", Device::Cpu, |x: &Tensor| {
        x.upsample_nearest2d([x.size()[2] * 2, x.size()[3] * 2], None, None)
    });
    let map = base()
        .run(&model, &truth(), &Task::Sr { scale: 2 }, ROI)
        .unwrap();
    assert_eq!(map.info.scale, 2);
    assert!(map
        .cells
        .iter()
        .all(|c| c.kind == CellKind::Roi || c.effect_db == 0.0));
    assert_eq!(map.counts().roi, 4);
}

#[test]
fn classification_and_counting_rules_by_hand() {
    let effects = [f64::INFINITY, 0.005, -0.004, 0.02, -0.5, 0.0, 1.2, -0.01];
    let got = classify(&effects, 0.01);
    let kinds: Vec<CellKind> = got.iter().map(|g| g.1).collect();
    use CellKind::*;
    assert_eq!(
        kinds,
        vec![Roi, None, None, Positive, Negative, None, Positive, Negative]
    );
    assert_eq!(got[1].0, 0.0);
    // S = 100 (1 - |a - b|_1 / |b|_1), ROI excluded
    let a = [f64::INFINITY, 1.0, -1.0, 0.0];
    let b = [f64::INFINITY, 2.0, -1.0, 1.0];
    let s = cem::map::similarity(&a, &b).unwrap();
    assert!((s - 100.0 * (1.0 - 2.0 / 4.0)).abs() < 1e-12);
}

#[test]
fn counts_and_range_of_a_map() {
    let model = FnModel::new("box7", Device::Cpu, |x: &Tensor| {
        x.avg_pool2d([7, 7], [1, 1], [3, 3], false, false, None::<i64>)
    });
    let map = base()
        .run(&model, &truth(), &Task::Dn { sigma: 50.0 }, ROI)
        .unwrap();
    let c = map.counts();
    let pos = map.cells.iter().filter(|c| c.effect_db > 0.0).count(); // includes +inf ROI
    let neg = map.cells.iter().filter(|c| c.effect_db < 0.0).count();
    assert_eq!(
        (c.positive, c.negative, c.none, c.total),
        (pos, neg, 64 - pos - neg, 64)
    );
    assert!((c.positive_pct() + c.negative_pct() + c.none_pct() - 100.0).abs() < 1e-9);
    let finite: Vec<f64> = map
        .cells
        .iter()
        .map(|c| c.effect_db)
        .filter(|e| e.is_finite())
        .collect();
    let lo = finite.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(map.range(), (lo, hi));
    assert!(map.table1_line().contains("ROI 24,24,16"));
}

#[test]
fn result_files_round_trip_and_have_the_promised_columns() {
    let dir = tempfile::tempdir().unwrap();
    let map = base()
        .run(&smooth_model(), &truth(), &Task::Dn { sigma: 50.0 }, ROI)
        .unwrap();
    cem::map::save(&map, dir.path()).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("cem.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("row,col,effect_db,samples,std_err,kind"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 64);
    assert!(rows
        .iter()
        .all(|r| ["roi", "positive", "negative", "none"].contains(&r.rsplit(',').next().unwrap())));
    let back = cem::map::load(dir.path()).unwrap();
    assert_eq!(back, map.map);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("cem.json")).unwrap())
            .unwrap();
    assert_eq!(json["strategy"], "C3F50");
    assert_eq!(json["seed"], 0);
    assert!(json["summary"]["positive_pct"].as_f64().unwrap() > 0.0);
    // a corrupt CSV is a clear error
    std::fs::write(
        dir.path().join("cem.csv"),
        "row,col,effect_db,samples,std_err,kind\n0,0,x,1,0,none\n",
    )
    .unwrap();
    let err = cem::map::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn bad_inputs_reach_the_engine_as_clear_errors() {
    let hr = truth();
    let task = Task::Dn { sigma: 50.0 };
    let id = FnModel::new("identity", Device::Cpu, |x: &Tensor| x.shallow_clone());
    let err = base()
        .run(&id, &hr, &task, Roi::new(60, 0, 16))
        .unwrap_err();
    assert!(matches!(err, Error::RoiOutsideImage { x: 60, .. }), "{err}");
    let err = base().block(6).run(&id, &hr, &task, ROI).unwrap_err();
    assert!(err.to_string().contains("block size 6"), "{err}");
    let shrink = FnModel::new("shrink", Device::Cpu, |x: &Tensor| x.narrow(3, 0, 32));
    let err = base().run(&shrink, &hr, &task, ROI).unwrap_err();
    assert!(matches!(err, Error::ModelOutputShape { .. }), "{err}");
    let err = base().coarse(0).run(&id, &hr, &task, ROI).unwrap_err();
    assert!(err.to_string().contains("coarse"), "{err}");
    let err = base()
        .run(&id, &hr, &Task::Sr { scale: 3 }, ROI)
        .unwrap_err();
    assert!(matches!(err, Error::BlockDoesNotDivide { .. }), "{err}");
}

#[test]
fn settings_that_do_not_apply_are_refused_naming_them() {
    let hr = truth();
    let task = Task::Dn { sigma: 50.0 };
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let id = FnModel::new("identity", Device::Cpu, move |x: &Tensor| {
        seen.fetch_add(1, Ordering::SeqCst);
        x.shallow_clone()
    });
    let refused = |cem: Cem, setting: &str| {
        let err = cem.run(&id, &hr, &task, ROI).unwrap_err().to_string();
        assert!(
            err.contains(&format!("invalid {setting} =")),
            "{setting}: {err}"
        );
    };
    refused(Cem::full(10).coarse(3), "coarse");
    refused(Cem::full(10).fine(20), "fine");
    refused(
        Cem::full(10).fine_sampling(Sampling::Uniform),
        "fine sampling",
    );
    refused(
        Cem::full(10).coarse_sampling(Sampling::Density),
        "coarse sampling",
    );
    refused(
        Cem::coarse_to_fine().full_sampling(Sampling::Density),
        "full sampling",
    );
    // C set before the strategy changed to the full pipeline is refused too
    refused(
        Cem::coarse_to_fine()
            .coarse(2)
            .strategy(Strategy::Full { t: 5 }),
        "coarse",
    );
    refused(
        Cem::coarse_to_fine().locality(false).locality_checks(4),
        "locality checks",
    );
    refused(
        Cem::coarse_to_fine().locality(false).size_multiple(8),
        "size multiple",
    );
    refused(
        Cem::coarse_to_fine().input(hr.clone()).rng(RngKind::Numpy),
        "rng",
    );
    let err = Cem::full(10)
        .coarse(3)
        .run(&id, &hr, &task, ROI)
        .unwrap_err();
    assert!(
        err.to_string().contains("not Full10") && err.to_string().contains("Cem::coarse_to_fine()"),
        "{err}"
    );
    // refused before any inference
    assert_eq!(count.load(Ordering::SeqCst), 0);

    // what applies is taken: C and F override the strategy's, in the label and the run
    let map = base().coarse(2).fine(4).run(&id, &hr, &task, ROI).unwrap();
    assert_eq!(map.info.strategy, "C2F4");
    assert_eq!(map.info.stages[&RunStage::Coarse].inferences, 60 * 2);
    let full = base()
        .strategy(Strategy::Full { t: 3 })
        .full_sampling(Sampling::Uniform)
        .run(&id, &hr, &task, ROI)
        .unwrap();
    assert_eq!(full.info.stages[&RunStage::Full].inferences, 60 * 3);
    // U is uniform over gradient ranges (Table III); uniform over patches is not U
    assert_eq!(
        base()
            .fine_sampling(Sampling::Ranges { width: 128 })
            .label(),
        "C3F50-U"
    );
    assert_eq!(base().fine_sampling(Sampling::Uniform).label(), "C3F50");
}

#[test]
fn per_run_inputs_are_kept_apart_from_the_method() {
    let hr = truth();
    let task = Task::Dn { sigma: 50.0 };
    let model = smooth_model();
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        image_name: Some("cat-crop".into()),
        checkpoint: Some(dir.path().join("ckpt.json")),
        progress: false,
        ..RunOptions::default()
    };
    let one_line = Cem::coarse_to_fine()
        .library(common::coffee_library())
        .batch_size(16)
        .locality(false)
        .options(options.clone())
        .run(&model, &hr, &task, ROI)
        .unwrap();
    assert_eq!(one_line.info.image, "cat-crop");
    // the same method with other per-run inputs makes the same map and settings
    let plain = base().run(&model, &hr, &task, ROI).unwrap();
    assert_eq!(one_line.cells, plain.cells);
    assert_eq!(one_line.info.settings, plain.info.settings);
    assert_eq!(one_line.info.strategy, plain.info.strategy);
    assert!(
        !dir.path().join("ckpt.json").exists(),
        "removed when complete"
    );
    let cem = base().options(options);
    assert_eq!(cem.run_options().image_name.as_deref(), Some("cat-crop"));
    assert!(!cem.run_options().progress);
}

/// A smooth model that returns NaN from its `fail_at`-th call on (0 = never).
fn flaky(fail_at: usize) -> impl Model {
    let calls = AtomicUsize::new(0);
    FnModel::new("box9", Device::Cpu, move |x: &Tensor| {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        let y = x.avg_pool2d([9, 9], [1, 1], [4, 4], false, false, None::<i64>);
        if fail_at > 0 && n >= fail_at {
            y * f64::NAN
        } else {
            y
        }
    })
}

#[test]
fn nan_mid_run_keeps_partial_results_and_a_resumed_run_ends_with_the_same_map() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("cem.partial.json");
    let hr = truth();
    let task = Task::Dn { sigma: 50.0 };
    let cem = base().checkpoint(&ckpt);
    // call 1 is the original image; calls 2..=6 are batches; the 7th returns NaN
    let err = cem.run(&flaky(7), &hr, &task, ROI).unwrap_err();
    assert!(matches!(err, Error::ModelOutputNotFinite { .. }), "{err}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ckpt).unwrap()).unwrap();
    let kept = saved["results"]["coarse"].as_array().unwrap().len();
    assert_eq!(kept, 5 * 16, "five whole batches kept");
    let resumed = cem.run(&flaky(0), &hr, &task, ROI).unwrap();
    assert!(!ckpt.exists(), "checkpoint removed when complete");
    let straight = base().run(&flaky(0), &hr, &task, ROI).unwrap();
    assert_eq!(resumed.cells, straight.cells);
    assert_eq!(resumed.info.stages[&RunStage::Coarse].inferences, 180);
}

#[test]
fn a_stop_request_interrupts_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("cem.partial.json");
    let hr = truth();
    let task = Task::Dn { sigma: 50.0 };
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let flag = Arc::new(AtomicBool::new(false));
    let setter = flag.clone();
    let stopping = FnModel::new("box9", Device::Cpu, move |x: &Tensor| {
        if counter.fetch_add(1, Ordering::SeqCst) == 3 {
            setter.store(true, Ordering::SeqCst); // as a Ctrl-C handler would
        }
        x.avg_pool2d([9, 9], [1, 1], [4, 4], false, false, None::<i64>)
    });
    let err = base()
        .checkpoint(&ckpt)
        .stop_flag(flag)
        .run(&stopping, &hr, &task, ROI)
        .unwrap_err();
    // the flag is seen after the batch in flight when it was set: 2 batches of 16
    assert!(
        matches!(
            err,
            Error::Interrupted {
                done: 32,
                total: 180,
                ..
            }
        ),
        "{err}"
    );
    assert!(ckpt.exists());
    let resumed = base()
        .checkpoint(&ckpt)
        .run(&smooth_model(), &hr, &task, ROI)
        .unwrap();
    let straight = base().run(&smooth_model(), &hr, &task, ROI).unwrap();
    assert_eq!(resumed.cells, straight.cells);
    assert!(!ckpt.exists(), "no checkpoint left after completion");
    // a checkpoint from other settings is refused, naming the file
    std::fs::write(
        &ckpt,
        serde_json::to_string(&serde_json::json!({
            "fingerprint": {"other": 1}, "original_psnr": null, "results": {}, "seconds": {}
        }))
        .unwrap(),
    )
    .unwrap();
    let err = base()
        .checkpoint(&ckpt)
        .run(&smooth_model(), &hr, &task, ROI)
        .unwrap_err();
    assert!(err.to_string().contains("cem.partial.json"), "{err}");
}
