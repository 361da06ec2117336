//! Table III's strategies: the inference share and similarity of `cem table table3`
//! from hand-made maps, and the adaptive strategy on glass-box models.

use cem::map::{self, CausalEffectMap, MapInfo, StageStats};
use cem::prelude::*;
use cem::stats::MapSet;

const INF: f64 = f64::INFINITY;

/// A 3x3 map (cell 0 the ROI) of model M on image i.png with ROI PSNR `o`.
fn map3(
    strategy: &str,
    seed: u64,
    o: f64,
    effects: [f64; 9],
    stages: &[(&str, usize)],
) -> CausalEffectMap {
    let mut info = MapInfo::new("M", "dn", "i.png", Roi::new(0, 0, 1), 1);
    info.strategy = strategy.into();
    info.seed = seed;
    info.original_psnr = o;
    info.library = "builtin".into();
    for &(name, n) in stages {
        info.stages.insert(
            name.into(),
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
                &[("locality", 20), ("full", 2500)],
            ),
        ),
        (
            "full-s1",
            map3(
                "Full500",
                1,
                31.0,
                [INF, 2.0, z, z, z, z, z, z, z],
                &[("full", 4000)],
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
                &[("locality", 20), ("coarse", 24), ("fine", 100)],
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
                &[("coarse", 24), ("fine", 150)],
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
                &[("locality", 20), ("coarse", 24), ("fine", 50)],
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
                &[("locality", 20), ("adaptive", 100)],
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
                &[("adaptive", 100)],
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
