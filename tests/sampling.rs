//! Table III's strategies: the inference share and similarity of `cem table table3`
//! from hand-made maps, and the adaptive strategy on glass-box models.

use cem::map::{self, CausalEffectMap, MapInfo, RunStage, StageStats};
use cem::prelude::*;
use cem::stats::MapSet;

const INF: f64 = f64::INFINITY;

/// A 3x3 map (cell 0 the ROI) of model M on image i.png with ROI PSNR `o`.
fn map3(
    strategy: &str,
    seed: u64,
    o: f64,
    effects: [f64; 9],
    stages: &[(RunStage, usize)],
) -> CausalEffectMap {
    let mut info = MapInfo::new("M", "dn", "i.png", Roi::new(0, 0, 1), 1);
    info.strategy = strategy.into();
    info.seed = seed;
    info.original_psnr = o;
    info.library = "builtin".into();
    for &(name, n) in stages {
        info.stages.insert(
            name,
            StageStats {
                inferences: n,
                seconds: 1.0,
            },
        );
    }
    CausalEffectMap::from_effects(3, 3, &effects, info).unwrap()
}

#[test]
fn table3_counts_interventions_over_t_per_cell_outside_the_roi_against_the_same_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let z = 0.0;
    let maps = [
        // two full maps of two inputs (another noise seed: another O); the first ran on
        // a locality crop (5 cells x 500), the paper's denominator is 8 cells x 500
        (
            "full-s0",
            map3(
                "Full500",
                0,
                30.0,
                [INF, 1.0, -1.0, 0.5, 0.5, z, z, z, z],
                &[(RunStage::Locality, 20), (RunStage::Full, 2500)],
            ),
        ),
        (
            "full-s1",
            map3(
                "Full500",
                1,
                31.0,
                [INF, 2.0, z, z, z, z, z, z, z],
                &[(RunStage::Full, 4000)],
            ),
        ),
        // seed 0, input 0: misses 0.5 of 3 -> S 83.33 %; 124 of 4000 -> 3.1 %
        (
            "c-s0",
            map3(
                "C3F50",
                0,
                30.0,
                [INF, 1.0, -1.0, 0.5, z, z, z, z, z],
                &[
                    (RunStage::Locality, 20),
                    (RunStage::Coarse, 24),
                    (RunStage::Fine, 100),
                ],
            ),
        ),
        // seed 2 on input 0 (a supplied --input): full map of seed 0; 174 -> 4.35 %
        (
            "c-s2",
            map3(
                "C3F50",
                2,
                30.0,
                [INF, 1.0, -0.5, 0.5, 0.5, z, z, z, z],
                &[(RunStage::Coarse, 24), (RunStage::Fine, 150)],
            ),
        ),
        // seed 1, input 1: against full-s1 (S 75 %; against full-s0 it would be 16.7 %);
        // 74 -> 1.85 %
        (
            "c-s1",
            map3(
                "C3F50",
                1,
                31.0,
                [INF, 1.5, z, z, z, z, z, z, z],
                &[
                    (RunStage::Locality, 20),
                    (RunStage::Coarse, 24),
                    (RunStage::Fine, 50),
                ],
            ),
        ),
        // exact, 100 interventions -> 2.5 %
        (
            "a-s0",
            map3(
                "Adaptive-B100",
                0,
                30.0,
                [INF, 1.0, -1.0, 0.5, 0.5, z, z, z, z],
                &[(RunStage::Locality, 20), (RunStage::Adaptive, 100)],
            ),
        ),
        // an input no full map was made of: left out, named
        (
            "a-s3",
            map3(
                "Adaptive-B100",
                3,
                32.0,
                [INF, 1.0, z, z, z, z, z, z, z],
                &[(RunStage::Adaptive, 100)],
            ),
        ),
    ];
    for (name, m) in &maps {
        map::save(m, d.join(name)).unwrap();
    }
    let t = MapSet::load(&[d]).unwrap().table3().unwrap();
    assert_eq!(
        t.to_tsv(),
        "Strategies\tInferences (%)\tSimilarity Score (%)\n\
         Adaptive-B100\t2.5\t100.00\n\
         C3F50\t3.1\t80.56\n"
    );
    assert!(t.notes.iter().any(|n| n.contains("a-s3")), "{:?}", t.notes);
    assert!(!t.notes.iter().any(|n| n.contains("c-s1")), "{:?}", t.notes);
}

mod common;

#[test]
fn table3_pairs_maps_with_their_reference_by_library_folder_however_the_path_was_spelled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let z = 0.0;
    let with_library = |mut m: CausalEffectMap, library: &str, size: usize| {
        m.info.library = library.into();
        m.info.library_size = size;
        m
    };
    let full = map3(
        "Full500",
        0,
        30.0,
        [INF, 1.0, -1.0, z, z, z, z, z, z],
        &[(RunStage::Full, 4000)],
    );
    let c3 = || {
        map3(
            "C3F50",
            0,
            30.0,
            [INF, 1.0, -0.5, z, z, z, z, z, z],
            &[(RunStage::Coarse, 24)],
        )
    };
    let maps = [
        (
            "full",
            with_library(full, "../shared/data/patches-div2k-8", 10_000),
        ),
        // the same folder as a study records it: paired (S 75 %)
        (
            "study",
            with_library(c3(), "studies/../../shared/data/patches-div2k-8/", 10_000),
        ),
        // another folder, or the same name with other patches: left out
        (
            "other",
            with_library(c3(), "../shared/data/patches-photos-8", 10_000),
        ),
        (
            "resized",
            with_library(c3(), "/elsewhere/patches-div2k-8", 500),
        ),
    ];
    for (name, m) in &maps {
        map::save(m, d.join(name)).unwrap();
    }
    let t = MapSet::load(&[d]).unwrap().table3().unwrap();
    assert_eq!(
        t.to_tsv(),
        "Strategies\tInferences (%)\tSimilarity Score (%)\nC3F50\t0.6\t75.00\n"
    );
    let left_out = t.notes.iter().find(|n| n.starts_with("Left out")).unwrap();
    assert!(
        left_out.contains("other") && left_out.contains("resized"),
        "{left_out}"
    );
    assert!(!left_out.contains("study"), "{left_out}");
}

use cem::engine::{Adaptive, Strategy};
use cem::map::{CellKind, Stage};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A 64x64 textured ground truth.
fn truth() -> RgbImage {
    common::cat(100, 60, 64)
}

const ROI: Roi = common::wired::ROI;

/// The adaptive strategy with the small coffee library, no progress bar, batches of 16,
/// on the whole input.
fn adaptive(plan: Adaptive) -> Cem {
    common::quiet_cem()
        .strategy(Strategy::Adaptive(plan))
        .locality(false)
}

/// Output = mean of the 7x7 input window: cells further than 3 pixels from the ROI
/// cannot matter.
fn box7() -> impl Model {
    FnModel::new("box7", Device::Cpu, |x: &Tensor| {
        x.avg_pool2d([7, 7], [1, 1], [3, 3], false, false, None::<i64>)
    })
}

/// Distance in pixels between 8x8 cell `(r, c)` and the ROI (max over both axes).
fn cell_distance(r: u32, c: u32) -> u32 {
    let gap = |lo: u32, roi_lo: u32, roi_len: u32| {
        if lo + 8 <= roi_lo {
            roi_lo - (lo + 8) + 1
        } else if lo >= roi_lo + roi_len {
            lo - (roi_lo + roi_len) + 1
        } else {
            0
        }
    };
    gap(r * 8, ROI.y, ROI.size).max(gap(c * 8, ROI.x, ROI.size))
}

#[test]
fn adaptive_leaves_far_cells_at_exactly_zero_after_screening() {
    let map = adaptive(Adaptive::default())
        .run(&box7(), &truth(), &Task::Dn { sigma: 50.0 }, ROI)
        .unwrap();
    let mut near = 0;
    for cell in &map.cells {
        let d = cell_distance(cell.row, cell.col);
        if d == 0 {
            assert_eq!(cell.kind, CellKind::Roi);
        } else if d > 3 {
            assert_eq!(
                (cell.effect_db, cell.samples, cell.stage),
                (0.0, 3, Stage::Coarse),
                "{cell:?}"
            );
        } else if cell.effect_db != 0.0 {
            near += 1;
            assert_eq!(cell.stage, Stage::Fine);
            assert!(cell.samples >= 8, "{cell:?}");
        }
    }
    assert!(near >= 10, "{near} near cells with an effect");
    let spent = map.info.stages[&RunStage::Adaptive].inferences;
    let samples: u32 = map.cells.iter().map(|c| c.samples).sum();
    assert_eq!(spent, samples as usize, "every draw is in a cell's mean");
    assert_eq!(map.info.strategy, "Adaptive");
}

#[test]
fn adaptive_finds_the_wired_cells_with_the_constructed_signs() {
    // A's content is "right" (positive effect), B's "wrong" (negative effect)
    let (hr, task, model) = common::wired::scene();
    let map = adaptive(Adaptive::default())
        .run(&model, &hr, &task, ROI)
        .unwrap();
    // every other cell: 0 after Eq. 3's three screening draws
    common::wired::assert_signs(&map, Some(3));
    let c = map.counts();
    assert_eq!((c.roi, c.positive, c.negative, c.none), (4, 5, 1, 58));
    // the two wired cells' draws are in cem.csv's samples column
    let dir = tempfile::tempdir().unwrap();
    cem::map::save(&map, dir.path()).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("cem.csv")).unwrap();
    let a = csv.lines().find(|l| l.starts_with("0,0,")).unwrap();
    let samples: u32 = a.split(',').nth(3).unwrap().parse().unwrap();
    assert_eq!(samples, map.cells[0].samples);
    assert!(samples >= 8, "{a}");
}

#[test]
fn quick_screening_and_loss_aware_allocation_keep_the_wired_signs_and_batch_independence() {
    let (hr, task, model) = common::wired::scene();
    let plan = Adaptive::default()
        .control(true)
        .quick(true)
        .loss_aware(true);
    let map = adaptive(plan).run(&model, &hr, &task, ROI).unwrap();
    // quick screening: two zero effects close a cell (Eq. 3 takes three)
    common::wired::assert_signs(&map, Some(2));
    assert_eq!(map.info.strategy, "Adaptive-CV-Q-L");
    let plain = adaptive(Adaptive::default().control(true))
        .run(&model, &hr, &task, ROI)
        .unwrap();
    let spent = |m: &CausalEffectMap| m.info.stages[&RunStage::Adaptive].inferences;
    assert!(
        spent(&map) < spent(&plain),
        "{} vs {}",
        spent(&map),
        spent(&plain)
    );
    let b5 = adaptive(plan)
        .batch_size(5)
        .run(&model, &hr, &task, ROI)
        .unwrap();
    assert_eq!(map.cells, b5.cells);
}

#[test]
fn adaptive_maps_do_not_depend_on_batch_size_or_the_locality_crop() {
    let (hr, task) = (truth(), Task::Dn { sigma: 50.0 });
    let plan = Adaptive::default().round(24);
    let a = adaptive(plan).run(&box7(), &hr, &task, ROI).unwrap();
    for b in [1, 5, 64] {
        let other = adaptive(plan)
            .batch_size(b)
            .run(&box7(), &hr, &task, ROI)
            .unwrap();
        assert_eq!(a.cells, other.cells, "batch size {b}");
    }
    let cropped = adaptive(plan)
        .locality(true)
        .run(&box7(), &hr, &task, ROI)
        .unwrap();
    assert!(
        cropped.info.stages[&RunStage::Adaptive].inferences
            < a.info.stages[&RunStage::Adaptive].inferences
    );
    for (x, y) in cropped.cells.iter().zip(&a.cells) {
        if x.stage == Stage::Skipped {
            assert_eq!((x.effect_db, y.effect_db), (0.0, 0.0));
        } else {
            assert_eq!(x, y);
        }
    }
    let other_seed = adaptive(plan)
        .seed(1)
        .run(&box7(), &hr, &task, ROI)
        .unwrap();
    assert_ne!(a.cells, other_seed.cells);
    // common random numbers across cells: another map, as independent of the batch size
    let iid = plan.common(true);
    let i16 = adaptive(iid).run(&box7(), &hr, &task, ROI).unwrap();
    let i5 = adaptive(iid)
        .batch_size(5)
        .run(&box7(), &hr, &task, ROI)
        .unwrap();
    assert_eq!(i16.cells, i5.cells);
    assert_ne!(i16.cells, a.cells);
    assert_eq!(i16.info.strategy, "Adaptive-CRN");
}

#[test]
fn adaptive_screening_draws_are_the_coarse_stage_draws_of_the_same_seed() {
    const TOL: f64 = 0.15;
    // Eq. 3's round is shared with C3F50: the same cells close, from the same three
    // draws (their standard errors agree to the bit), and only the sensitive cells differ
    let (hr, task) = (truth(), Task::Dn { sigma: 50.0 });
    let c2f = common::quiet_cem()
        .strategy(Strategy::c3f50())
        .locality(false)
        .seed(3)
        .tol(TOL)
        .run(&box7(), &hr, &task, ROI)
        .unwrap();
    for plan in [Adaptive::default(), Adaptive::default().control(true)] {
        let a = adaptive(plan)
            .seed(3)
            .tol(TOL)
            .run(&box7(), &hr, &task, ROI)
            .unwrap();
        let mut noisy = 0;
        for (x, y) in a.cells.iter().zip(&c2f.cells) {
            assert_eq!(
                x.stage == Stage::Coarse,
                y.stage == Stage::Coarse,
                "{x:?} {y:?}"
            );
            if x.stage == Stage::Coarse {
                assert_eq!((x.samples, x.std_err), (y.samples, y.std_err), "{x:?}");
                noisy += (x.std_err > 0.0) as usize;
            }
        }
        // cells at the corners of the box's reach move the ROI less than tol: their
        // draws differ from one another
        assert!(noisy >= 2, "{noisy} screened-out cells with varying draws");
    }
    // a relative budget (adaptive:60%) is 60 % of this very C3F50 map's interventions:
    // the same screen finds the same sensitive cells, and a tight target spends it all
    let c2f_cost = c2f.inferences() as f64; // no locality check here
    let shared = adaptive(Adaptive::default().share(0.6).target(0.001))
        .seed(3)
        .tol(TOL)
        .run(&box7(), &hr, &task, ROI)
        .unwrap();
    assert_eq!(
        shared.info.stages[&RunStage::Adaptive].inferences,
        (0.6 * c2f_cost).floor() as usize,
        "C3F50 spent {c2f_cost}"
    );
    // common draws screen with their own common stream
    let crn = adaptive(Adaptive::default().common(true))
        .seed(3)
        .tol(TOL)
        .run(&box7(), &hr, &task, ROI)
        .unwrap();
    let differs = crn
        .cells
        .iter()
        .zip(&c2f.cells)
        .any(|(x, y)| x.stage == Stage::Coarse && x.std_err != y.std_err);
    assert!(differs);
}

#[test]
fn an_interrupted_adaptive_run_resumes_to_the_same_map() {
    // plain, and with control variates (whose features are recomputed on resume)
    // and with quick screening and the loss-aware allocation, and stratified
    for plan in [
        Adaptive::default(),
        Adaptive::default().control(true),
        Adaptive::default()
            .control(true)
            .quick(true)
            .loss_aware(true),
        // stratified: the strata of stored draws are recomputed on resume
        Adaptive::default()
            .stratified(true)
            .quick(true)
            .loss_aware(true),
    ] {
        resumes_to_the_same_map(plan);
    }
}

fn resumes_to_the_same_map(plan: Adaptive) {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("cem.partial.json");
    let (hr, task) = (truth(), Task::Dn { sigma: 50.0 });
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let flag = Arc::new(AtomicBool::new(false));
    let setter = flag.clone();
    // stop after the 14th model call: past screening (64 cells x 3 / 16 = 12 batches)
    let stopping = FnModel::new("box7", Device::Cpu, move |x: &Tensor| {
        if counter.fetch_add(1, Ordering::SeqCst) == 14 {
            setter.store(true, Ordering::SeqCst);
        }
        x.avg_pool2d([7, 7], [1, 1], [3, 3], false, false, None::<i64>)
    });
    let err = adaptive(plan)
        .checkpoint(&ckpt)
        .stop_flag(flag)
        .run(&stopping, &hr, &task, ROI)
        .unwrap_err();
    assert!(matches!(err, Error::Interrupted { .. }), "{err}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ckpt).unwrap()).unwrap();
    assert!(saved["results"]["adaptive"].as_array().unwrap().len() > 180);
    let resumed = adaptive(plan)
        .checkpoint(&ckpt)
        .run(&box7(), &hr, &task, ROI)
        .unwrap();
    assert!(!ckpt.exists());
    let straight = adaptive(plan).run(&box7(), &hr, &task, ROI).unwrap();
    assert_eq!(resumed.cells, straight.cells, "{}", plan.label());
    assert_eq!(
        resumed.info.stages[&RunStage::Adaptive].inferences,
        straight.info.stages[&RunStage::Adaptive].inferences
    );
}

#[test]
fn the_budget_bounds_the_run_and_a_budget_below_screening_is_refused() {
    let (hr, task) = (truth(), Task::Dn { sigma: 50.0 });
    let map = adaptive(Adaptive::default().budget(250).target(0.001))
        .run(&box7(), &hr, &task, ROI)
        .unwrap();
    assert_eq!(map.info.stages[&RunStage::Adaptive].inferences, 250);
    // a target other than the default is part of the label: another row of Table III
    assert_eq!(map.info.strategy, "Adaptive-B250-T0.1");
    // 60 cells x 3 screening draws = 180
    let err = adaptive(Adaptive::default().budget(179))
        .run(&box7(), &hr, &task, ROI)
        .unwrap_err()
        .to_string();
    assert!(err.contains("179") && err.contains("180"), "{err}");
}

#[test]
fn control_variates_tighten_the_wired_cells_and_keep_maps_independent_of_batching() {
    let (hr, task, model) = common::wired::scene();
    let plain = adaptive(Adaptive::default())
        .run(&model, &hr, &task, ROI)
        .unwrap();
    let cv = adaptive(Adaptive::default().control(true))
        .run(&model, &hr, &task, ROI)
        .unwrap();
    assert_eq!(cv.info.strategy, "Adaptive-CV");
    // the same classification: the wired cells with their signs, every other cell 0
    for (p, c) in plain.cells.iter().zip(&cv.cells) {
        assert_eq!(p.kind, c.kind, "{p:?} / {c:?}");
    }
    // the wired effects are smooth (quadratic through the PSNR) functions of the pasted
    // cell's mean, which the features measure: the regression removes much of the spread
    for i in [0usize, 63] {
        let (p, c) = (&plain.cells[i], &cv.cells[i]);
        assert!(
            c.std_err < 0.6 * p.std_err,
            "cell {i}: standard error {} with control variates, {} without",
            c.std_err,
            p.std_err
        );
        // both estimate the same expected effect
        assert!(
            (c.effect_db - p.effect_db).abs() < 3.0 * (p.std_err + c.std_err),
            "cell {i}: {} vs {}",
            c.effect_db,
            p.effect_db
        );
    }
    // ... and spend fewer draws to reach the same target
    let spent = |m: &CausalEffectMap| m.info.stages[&RunStage::Adaptive].inferences;
    assert!(
        spent(&cv) <= spent(&plain),
        "{} > {}",
        spent(&cv),
        spent(&plain)
    );
    let b5 = adaptive(Adaptive::default().control(true))
        .batch_size(5)
        .run(&model, &hr, &task, ROI)
        .unwrap();
    assert_eq!(b5.cells, cv.cells);
}

#[test]
fn stratified_draws_keep_the_wired_signs_tighten_them_and_do_not_depend_on_batching() {
    let (hr, task, model) = common::wired::scene();
    let plan = Adaptive::default()
        .stratified(true)
        .quick(true)
        .loss_aware(true);
    let strat = adaptive(plan).run(&model, &hr, &task, ROI).unwrap();
    assert_eq!(strat.info.strategy, "Adaptive-Q-L-S");
    // the wired cells with their signs, every other cell 0 after two zero draws
    common::wired::assert_signs(&strat, Some(2));
    // the wired effects follow the brightness of the pasted cell, which the strata
    // sort: at the same 64 draws a cell, the stratified mean's error is smaller
    let fixed = |p: Adaptive| {
        adaptive(p.min_draws(64).max_draws(64))
            .run(&model, &hr, &task, ROI)
            .unwrap()
    };
    let (plain, stratified) = (
        fixed(Adaptive::default()),
        fixed(Adaptive::default().stratified(true)),
    );
    for i in [0usize, 63] {
        let (p, s) = (&plain.cells[i], &stratified.cells[i]);
        assert_eq!((p.samples, s.samples), (64, 64));
        assert!(
            s.std_err < 0.7 * p.std_err,
            "cell {i}: standard error {} stratified, {} plain",
            s.std_err,
            p.std_err
        );
        assert!(
            (s.effect_db - p.effect_db).abs() < 3.0 * (p.std_err + s.std_err),
            "cell {i}: {} vs {}",
            s.effect_db,
            p.effect_db
        );
    }
    for b in [5, 64] {
        let other = adaptive(plan)
            .batch_size(b)
            .run(&model, &hr, &task, ROI)
            .unwrap();
        assert_eq!(other.cells, strat.cells, "batch size {b}");
    }
    // draws before stratification ends are the same as plain adaptive's: the screen
    for (p, s) in plain.cells.iter().zip(&strat.cells) {
        assert_eq!(
            p.stage == Stage::Coarse,
            s.stage == Stage::Coarse,
            "{p:?} {s:?}"
        );
    }
}

#[test]
fn stratified_draws_are_refused_with_control_variates_or_a_reweighted_library() {
    let (hr, task, model) = common::wired::scene();
    let both = adaptive(Adaptive::default().stratified(true).control(true))
        .run(&model, &hr, &task, ROI)
        .unwrap_err()
        .to_string();
    assert!(both.contains("-cv") && both.contains("-s"), "{both}");
    assert!("adaptive-cv-s"
        .parse::<cem::engine::StrategyChoice>()
        .is_ok());
    // D reweighted to another library's histogram no longer draws every patch with
    // probability 1/N: strata would change what the map estimates
    let mut lib = (*common::coffee_library()).clone();
    let gradients: Vec<f64> = lib.patches().iter().map(|p| p.gradient).collect();
    let skewed = cem::library::Density::uniform_over_ranges(&gradients, 16.0);
    lib.set_density(skewed);
    let err = adaptive(Adaptive::default().stratified(true))
        .library(lib)
        .run(&model, &hr, &task, ROI)
        .unwrap_err()
        .to_string();
    assert!(err.contains("1/N") && err.contains("Adaptive-S"), "{err}");
}
