//! Tables I-III from hand-made result files, with the expected aggregates worked out
//! by hand here, and the paper's own Table I numbers round-tripped to its layout.

use cem::map::{self, CausalEffectMap, MapInfo, StageStats};
use cem::prelude::*;
use cem::stats::MapSet;
use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const INF: f64 = f64::INFINITY;

fn info(model: &str, task: &str, image: &str, rows: u32) -> MapInfo {
    let mut info = MapInfo::new(model, task, image, Roi::new(0, 0, 1), 1);
    info.width = rows;
    info.height = rows;
    info.strategy = "C3F50".into();
    info.library = "/data/patches-div2k-8".into();
    info
}

fn save(dir: &Path, name: &str, map: &CausalEffectMap) -> PathBuf {
    let path = dir.join(name);
    map::save(map, &path).unwrap();
    path
}

fn grid2(model: &str, task: &str, image: &str, effects: [f64; 4]) -> CausalEffectMap {
    CausalEffectMap::from_effects(2, 2, &effects, info(model, task, image, 2)).unwrap()
}

/// A 100x100 map whose shares are exactly `positive`, `negative` (in 0.01 %) with the
/// given range; cell 0 is the ROI and counts as positive, as in the paper.
fn paper_map(
    model: &str,
    task: &str,
    positive: usize,
    negative: usize,
    lo: f64,
    hi: f64,
) -> CausalEffectMap {
    let mut e = vec![0.0; 10_000];
    e[0] = INF;
    for (i, v) in e.iter_mut().enumerate().skip(1).take(positive - 1) {
        *v = if i == 1 { hi } else { hi / 2.0 };
    }
    for (i, v) in e.iter_mut().enumerate().skip(positive).take(negative) {
        *v = if i == positive { lo } else { lo / 2.0 };
    }
    CausalEffectMap::from_effects(100, 100, &e, info(model, task, "img.png", 100)).unwrap()
}

#[test]
fn table1_means_over_images_and_orders_by_affected_share() {
    let dir = tempfile::tempdir().unwrap();
    // model A, SR, two images: shares (50, 25, 25) and (75, 0, 25); ranges
    // (-0.2, 0.5) and (0.0, 0.3) -> means (62.5, 12.5, 25), range (-0.1, 0.4)
    save(
        dir.path(),
        "a1",
        &grid2("A", "sr", "i1", [INF, 0.5, -0.2, 0.0]),
    );
    save(
        dir.path(),
        "a2",
        &grid2("A", "sr", "i2", [INF, 0.3, 0.1, 0.0]),
    );
    // model B, SR: (50, 50, 0), range (-1, 0.25); affected 100 % > A's 75 %
    save(
        dir.path(),
        "b1",
        &grid2("B", "sr", "i1", [INF, -1.0, -0.5, 0.25]),
    );
    // model A, DN: (25, 0, 75), range (0, 0)
    save(
        dir.path(),
        "a-dn",
        &grid2("A", "dn", "i1", [INF, 0.0, 0.0, 0.0]),
    );

    let maps = MapSet::load(&[dir.path()]).unwrap();
    assert_eq!(maps.len(), 4);
    let t = maps.table1().unwrap();
    assert_eq!(
        t.to_tsv(),
        "Models\tPositive (%)\tNegative (%)\tNone (%)\tRange (dB)\n\
         Super-Resolution (SR)\n\
         B\t50.00\t50.00\t0.00\t(-1.00, 0.25)\n\
         A\t62.50\t12.50\t25.00\t(-0.10, 0.40)\n\
         Denoising (DN)\n\
         A\t25.00\t0.00\t75.00\t(0.00, 0.00)\n"
    );
    let f = t.frame();
    assert_eq!(f.height(), 3);
    let maps_col: Vec<u32> = f
        .column("maps")
        .unwrap()
        .u32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(maps_col, vec![1, 2, 1]);
    let lo: Vec<f64> = f
        .column("range_min_db")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert!((lo[1] - -0.1).abs() < 1e-12, "{lo:?}");
    let md = t.to_markdown();
    assert!(
        md.contains("| **Super-Resolution (SR)** |  |  |  |  |"),
        "{md}"
    );
    assert!(
        md.contains("| A | 62.50 | 12.50 | 25.00 | (-0.10, 0.40) |"),
        "{md}"
    );
    let html = t.to_html();
    assert!(html.contains("<td colspan=\"5\""), "{html}");
}

#[test]
fn the_papers_table1_numbers_come_out_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    // saved in an order unlike the paper's, to check the sorting
    save(
        dir.path(),
        "1-dncnn",
        &paper_map("DnCNN", "dn", 580, 8, -0.01, 0.16),
    );
    save(
        dir.path(),
        "2-rcan",
        &paper_map("RCAN", "sr", 3107, 2138, -0.31, 1.17),
    );
    save(
        dir.path(),
        "3-xrestormer",
        &paper_map("X-Restormer", "sr", 3827, 2789, -0.21, 1.22),
    );
    let t = MapSet::load(&[dir.path()]).unwrap().table1().unwrap();
    // typed from the paper's Table I (its sub-header rows carry no numbers)
    let paper = "Models\tPositive (%)\tNegative (%)\tNone (%)\tRange (dB)
Super-Resolution (SR)
X-Restormer\t38.27\t27.89\t33.84\t(-0.21, 1.22)
RCAN\t31.07\t21.38\t47.55\t(-0.31, 1.17)
Denoising (DN)
DnCNN\t5.80\t0.08\t94.12\t(-0.01, 0.16)
";
    assert_eq!(t.to_tsv(), paper);
}

#[test]
fn table2_puts_libraries_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    for (lib, shift) in [("/x/div2k", 0.0), ("/y/flickr2k", 0.1)] {
        for (model, e) in [
            ("SwinIR", [INF, 0.2 + shift, -0.3, 0.0]),
            ("SRResNet", [INF, 0.0, 0.0, 0.4 + shift]),
        ] {
            let mut m = grid2(model, "sr", "i1", e);
            m.info.library = lib.into();
            save(dir.path(), &format!("{model}-{}", shift * 10.0), &m);
        }
    }
    let t = MapSet::load(&[dir.path()]).unwrap().table2().unwrap();
    assert_eq!(
        t.to_tsv(),
        "Datasets\tModels\tPositive (%)\tNegative (%)\tNone (%)\tRange (dB)\n\
         div2k\tSwinIR\t50.00\t25.00\t25.00\t(-0.30, 0.20)\n\
         \tSRResNet\t50.00\t0.00\t50.00\t(0.00, 0.40)\n\
         flickr2k\tSwinIR\t50.00\t25.00\t25.00\t(-0.30, 0.30)\n\
         \tSRResNet\t50.00\t0.00\t50.00\t(0.00, 0.50)\n"
    );
    let libs: Vec<&str> = t
        .frame()
        .column("library")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(libs, ["div2k", "div2k", "flickr2k", "flickr2k"]);
}

fn with_inferences(mut m: CausalEffectMap, strategy: &str, seed: u64, n: usize) -> CausalEffectMap {
    m.info.strategy = strategy.into();
    m.info.seed = seed;
    m.info.stages.insert(
        cem::map::RunStage::Full,
        StageStats {
            inferences: n,
            seconds: 1.0,
        },
    );
    m
}

#[test]
fn table3_compares_each_strategy_with_its_full_map() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // image 1: full [1, -0.5, 0.5] (norm 2); C3F50 misses 0.5 -> S 75 %; C3F10 off
    // by 0.5 twice -> S 50 %; inferences 49 and 13 of 3 cells x T = 200
    save(
        d,
        "i1-full",
        &with_inferences(
            grid2("M", "sr", "i1", [INF, 1.0, -0.5, 0.5]),
            "Full200",
            0,
            1000,
        ),
    );
    save(
        d,
        "i1-c3f50",
        &with_inferences(
            grid2("M", "sr", "i1", [INF, 1.0, -0.5, 0.0]),
            "C3F50",
            0,
            49,
        ),
    );
    save(
        d,
        "i1-c3f10",
        &with_inferences(grid2("M", "sr", "i1", [INF, 0.5, 0.0, 0.5]), "C3F10", 1, 13),
    );
    // image 2: full [2, 0, 0], C3F50 [1, 0, 0] -> S 50 %, 29 of 600
    save(
        d,
        "i2-full",
        &with_inferences(
            grid2("M", "sr", "i2", [INF, 2.0, 0.0, 0.0]),
            "Full200",
            0,
            1000,
        ),
    );
    save(
        d,
        "i2-c3f50",
        &with_inferences(grid2("M", "sr", "i2", [INF, 1.0, 0.0, 0.0]), "C3F50", 0, 29),
    );
    // another model without a full map: left out, named in the notes
    save(
        d,
        "other",
        &with_inferences(grid2("N", "sr", "i1", [INF, 1.0, 0.0, 0.0]), "C3F50", 0, 40),
    );

    let t = MapSet::load(&[d]).unwrap().table3().unwrap();
    assert_eq!(
        t.to_tsv(),
        "Strategies\tInferences (%)\tSimilarity Score (%)\n\
         C3F10\t2.2\t50.00\n\
         C3F50\t6.5\t62.50\n"
    );
    assert!(t.notes.iter().any(|n| n.contains("other")), "{:?}", t.notes);
    let maps: Vec<u32> = t
        .frame()
        .column("maps")
        .unwrap()
        .cast(&DataType::UInt32)
        .unwrap()
        .u32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(maps, vec![1, 2]);
}

#[test]
fn table3_orders_rows_by_their_printed_values_then_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // T = 2000: 6000 inferences for 3 cells; 390 is 6.50 %, 391 is 6.52 %, both print 6.5
    let full = grid2("M", "sr", "i1", [INF, 1.0, -0.5, 0.5]);
    save(d, "full", &with_inferences(full, "Full2000", 0, 10_000));
    // S 75 %
    let close = grid2("M", "sr", "i1", [INF, 1.0, -0.5, 0.0]);
    save(d, "b", &with_inferences(close.clone(), "B", 0, 390));
    // S 50 %, one inference more
    let far = grid2("M", "sr", "i1", [INF, 0.5, 0.0, 0.5]);
    save(d, "a", &with_inferences(far, "A", 0, 391));
    // the same as B under another name
    save(d, "c", &with_inferences(close, "C", 0, 390));
    let t = MapSet::load(&[d]).unwrap().table3().unwrap();
    assert_eq!(
        t.to_tsv(),
        "Strategies\tInferences (%)\tSimilarity Score (%)\n\
         A\t6.5\t50.00\n\
         B\t6.5\t75.00\n\
         C\t6.5\t75.00\n"
    );
    let column = t.frame().column("strategy").unwrap().str().unwrap().clone();
    let names: Vec<&str> = column.iter().flatten().collect();
    assert_eq!(names, ["A", "B", "C"], "the frame in the table's order");
}

#[test]
fn frames_read_back_every_map_and_cell() {
    let dir = tempfile::tempdir().unwrap();
    save(
        dir.path(),
        "m1",
        &grid2("A", "sr", "i1", [INF, 0.5, -0.2, 0.0]),
    );
    save(
        dir.path(),
        "deeper/m2",
        &grid2("B", "dn", "i2", [0.0, INF, 0.0, 0.1]),
    );
    let maps =
        MapSet::load(&[dir.path().join("*"), dir.path().join("deeper/m2/cem.json")]).unwrap();
    assert_eq!(maps.len(), 2);
    let f = maps.frame().unwrap();
    let models: Vec<&str> = f
        .column("model")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(models, ["B", "A"]); // sorted by path: "deeper/m2" < "m1"
    let neg: Vec<f64> = f
        .column("negative_pct")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(neg, [0.0, 25.0]);

    let cells = maps.cells().unwrap().collect().unwrap();
    assert_eq!(cells.height(), 8);
    let effects: Vec<f64> = cells
        .column("effect_db")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(
        effects.iter().filter(|e| **e == INF).count(),
        2,
        "ROI cells read back as +inf"
    );
    let worst = maps
        .cells()
        .unwrap()
        .group_by([col("model")])
        .agg([col("effect_db").min()])
        .sort(["model"], Default::default())
        .collect()
        .unwrap();
    let w: Vec<f64> = worst
        .column("effect_db")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(w, [-0.2, 0.0]);
}

#[test]
fn bad_result_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = save(
        dir.path(),
        "good",
        &grid2("A", "sr", "i1", [INF, 0.5, -0.2, 0.0]),
    );
    std::fs::create_dir_all(dir.path().join("bad")).unwrap();
    std::fs::write(dir.path().join("bad/cem.json"), "{ not json").unwrap();
    let err = MapSet::load(&[dir.path()]).err().unwrap().to_string();
    assert!(err.contains("bad/cem.json"), "{err}");
    // the good one still loads on its own
    assert_eq!(MapSet::load(&[good]).unwrap().len(), 1);
}

#[test]
fn cem_table_command_prints_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    save(
        dir.path(),
        "x",
        &paper_map("X-Restormer", "sr", 3827, 2789, -0.21, 1.22),
    );
    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(["table", "table1"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("Super-Resolution (SR)"), "{stdout}");
    assert!(
        stdout.contains("38.27") && stdout.contains("(-0.21, 1.22)"),
        "{stdout}"
    );

    for (kind, file) in [
        ("table1", "t1.md"),
        ("maps", "maps.csv"),
        ("maps", "maps.parquet"),
    ] {
        let out = dir.path().join(file);
        let run = Command::new(env!("CARGO_BIN_EXE_cem"))
            .args(["table", kind])
            .arg(dir.path().join("x"))
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(out.is_file());
    }
    let md = std::fs::read_to_string(dir.path().join("t1.md")).unwrap();
    assert!(
        md.contains("| X-Restormer | 38.27 | 27.89 | 33.84 | (-0.21, 1.22) |"),
        "{md}"
    );
    let csv = std::fs::read_to_string(dir.path().join("maps.csv")).unwrap();
    assert!(csv.starts_with("path,model,task,image,library"), "{csv}");

    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(["table", "table1"])
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("missing"));
}
