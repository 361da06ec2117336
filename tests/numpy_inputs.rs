//! The authors' exact inputs (`--rng numpy`): NumPy's legacy generator and Python's
//! `random` against the real ones (run through the project's `.venv/bin/python`, or
//! `$CEM_PYTHON`, when it has NumPy; skipped with a message otherwise; a few values
//! recorded from NumPy 2.4 are checked always), and the DN and DR fixtures in
//! ../shared/reference (skipped with a message when ../shared is absent).

mod common;

use cem::degrade::numpy_rng::{PyRandom, RandomState};
use cem::degrade::{Rain, RngKind, SuppliedRain};
use cem::prelude::*;
use std::path::PathBuf;
use std::process::Command;

/// Runs `script` with the venv's python and parses its stdout as JSON, or `None`
/// (with a message) when there is no python with NumPy.
fn python(test: &str, script: &str) -> Option<serde_json::Value> {
    let py = std::env::var_os("CEM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let out = Command::new(&py).arg("-c").arg(script).output();
    match out {
        Ok(o) if o.status.success() => Some(serde_json::from_slice(&o.stdout).unwrap()),
        Ok(o) => {
            eprintln!(
                "SKIPPED {test}: {} failed: {}",
                py.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: no {} ({e})", py.display());
            None
        }
    }
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn i64s(v: &serde_json::Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn random_state_matches_numpy_draw_for_draw() {
    // One interleaved sequence per seed, so that the state after every kind of draw
    // (including the cached second normal and rejected randint draws) is checked.
    let script = r#"
import json, numpy as np
out = {}
for seed in [0, 1, 2, 3, 12345, 4294967295]:
    np.random.seed(seed)
    r = {}
    r["sample"] = [float(np.random.random_sample()) for _ in range(3)]
    r["uniform"] = [float(np.random.uniform(0.6, 1.0)), float(np.random.uniform(0.005, 0.007))]
    r["normal"] = [float(np.random.normal(0, 50/255)) for _ in range(5)]
    r["randint"] = [int(np.random.randint(35, 46)) for _ in range(20)] + [int(np.random.randint(-30, 31)) for _ in range(20)]
    r["big"] = [int(np.random.randint(-2**40, 2**40)) for _ in range(4)]
    r["choice"] = [int(np.random.choice([3, 5, 7], p=[0.25, 0.5, 0.25])) for _ in range(20)]
    r["normal_after"] = [float(np.random.normal(1.5, 2.0)) for _ in range(3)]
    r["noise"] = [float(v) for v in np.random.uniform(0, 256, (3, 4)).ravel()]
    out[str(seed)] = r
print(json.dumps(out))
"#;
    let Some(want) = python("random_state_matches_numpy_draw_for_draw", script) else {
        return;
    };
    for seed in [0u32, 1, 2, 3, 12345, 4294967295] {
        let w = &want[seed.to_string()];
        let mut rs = RandomState::seed(seed);
        let sample: Vec<f64> = (0..3).map(|_| rs.random_sample()).collect();
        assert_eq!(sample, f64s(&w["sample"]), "seed {seed}");
        let uniform = vec![rs.uniform(0.6, 1.0), rs.uniform(0.005, 0.007)];
        assert_eq!(uniform, f64s(&w["uniform"]), "seed {seed}");
        let normal: Vec<f64> = (0..5).map(|_| rs.normal(0.0, 50.0 / 255.0)).collect();
        assert_eq!(normal, f64s(&w["normal"]), "seed {seed}");
        let mut randint: Vec<i64> = (0..20).map(|_| rs.randint(35, 46).unwrap()).collect();
        randint.extend((0..20).map(|_| rs.randint(-30, 31).unwrap()));
        assert_eq!(randint, i64s(&w["randint"]), "seed {seed}");
        let big: Vec<i64> = (0..4)
            .map(|_| rs.randint(-(1 << 40), 1 << 40).unwrap())
            .collect();
        assert_eq!(big, i64s(&w["big"]), "seed {seed}");
        let choice: Vec<i64> = (0..20)
            .map(|_| [3, 5, 7][rs.choice_p(&[0.25, 0.5, 0.25]).unwrap()])
            .collect();
        assert_eq!(choice, i64s(&w["choice"]), "seed {seed}");
        let after: Vec<f64> = (0..3).map(|_| rs.normal(1.5, 2.0)).collect();
        assert_eq!(after, f64s(&w["normal_after"]), "seed {seed}");
        let noise: Vec<f64> = (0..12).map(|_| rs.uniform(0.0, 256.0)).collect();
        assert_eq!(noise, f64s(&w["noise"]), "seed {seed}");
    }
}

/// Recorded from NumPy 2.4.6 with
/// `python -c "import numpy as np; np.random.seed(2);
///  print([np.random.random_sample(), np.random.normal(0, 50/255), np.random.normal(0, 50/255), np.random.normal(0, 50/255)]);
///  print([int(np.random.randint(35, 46)) for _ in range(8)], [int(np.random.randint(-2**40, 2**40)) for _ in range(2)]);
///  print([int(np.random.choice([3,5,7], p=[.25,.5,.25])) for _ in range(8)], np.random.uniform(0, 256))"`
#[test]
fn random_state_matches_recorded_numpy_values() {
    let mut rs = RandomState::seed(2);
    let s = 50.0 / 255.0;
    let got = [
        rs.random_sample(),
        rs.normal(0.0, s),
        rs.normal(0.0, s),
        rs.normal(0.0, s),
    ];
    assert_eq!(
        got,
        [
            0.43599490214200376,
            0.00893165492493547,
            -0.08526081434394972,
            -0.3830973352800397
        ]
    );
    let ints: Vec<i64> = (0..8).map(|_| rs.randint(35, 46).unwrap()).collect();
    assert_eq!(ints, [37, 36, 40, 45, 39, 39, 40, 42]);
    let big: Vec<i64> = (0..2)
        .map(|_| rs.randint(-(1 << 40), 1 << 40).unwrap())
        .collect();
    assert_eq!(big, [-259851701146, 19700143018]);
    let widths: Vec<i64> = (0..8)
        .map(|_| [3, 5, 7][rs.choice_p(&[0.25, 0.5, 0.25]).unwrap()])
        .collect();
    assert_eq!(widths, [3, 7, 7, 5, 7, 3, 5, 3]);
    assert_eq!(rs.uniform(0.0, 256.0), 109.5993158649317);
}

#[test]
fn py_random_matches_cpython() {
    let script = r#"
import json, random
out = {}
for seed in [0, 1, 2, 3, 2**40 + 5, -7]:
    random.seed(seed)
    r = {"random": [random.random() for _ in range(3)],
         "bits": [random.getrandbits(k) for k in [1, 5, 17, 32]],
         "choice": [random.choice(list(range(7))) for _ in range(10)],
         "medium": random.choice(["medium"]),
         "after": random.random()}
    out[str(seed)] = r
print(json.dumps(out))
"#;
    let Some(want) = python("py_random_matches_cpython", script) else {
        return;
    };
    for seed in [0i64, 1, 2, 3, (1 << 40) + 5, -7] {
        let w = &want[seed.to_string()];
        let mut r = PyRandom::seed(seed);
        let random: Vec<f64> = (0..3).map(|_| r.random()).collect();
        assert_eq!(random, f64s(&w["random"]), "seed {seed}");
        let bits: Vec<i64> = [1, 5, 17, 32]
            .iter()
            .map(|&k| r.getrandbits(k).unwrap() as i64)
            .collect();
        assert_eq!(bits, i64s(&w["bits"]), "seed {seed}");
        let seq: Vec<i64> = (0..7).collect();
        let choice: Vec<i64> = (0..10).map(|_| *r.choice(&seq).unwrap()).collect();
        assert_eq!(choice, i64s(&w["choice"]), "seed {seed}");
        assert_eq!(
            *r.choice(&["medium"]).unwrap(),
            w["medium"].as_str().unwrap()
        );
        assert_eq!(r.random(), w["after"].as_f64().unwrap(), "seed {seed}");
    }
}

#[test]
fn dn_input_reproduces_the_authors_fixture_bit_for_bit() {
    let Some(shared) = common::shared("dn_input_reproduces_the_authors_fixture_bit_for_bit") else {
        return;
    };
    let hr = load_rgb(shared.join("data/test-images/demo_2.png")).unwrap();
    let want = load_rgb(shared.join("reference/fixtures/demo_2_dn_sigma50_seed0.png")).unwrap();
    let dn = Task::Dn { sigma: 50.0 }
        .degradation_with(0, RngKind::Numpy, Some("demo_2.png"))
        .unwrap();
    let got = dn.degrade(&hr).unwrap();
    let differing = got
        .as_raw()
        .iter()
        .zip(want.as_raw())
        .filter(|(a, b)| a != b)
        .count();
    eprintln!(
        "DN demo_2: {differing} of {} values differ",
        want.as_raw().len()
    );
    assert_eq!(differing, 0);
    assert_eq!(dn.describe()["rng"], "numpy");
    // the default generator makes other noise
    let chacha = Task::Dn { sigma: 50.0 }.degradation(0).unwrap();
    assert_ne!(chacha.degrade(&hr).unwrap(), want);
}

/// Values that differ, and the largest difference.
fn compare(got: &[u8], want: &[u8]) -> (usize, i32) {
    assert_eq!(got.len(), want.len());
    let d: Vec<i32> = got
        .iter()
        .zip(want)
        .map(|(&a, &b)| (a as i32 - b as i32).abs())
        .collect();
    (
        d.iter().filter(|&&v| v > 0).count(),
        d.iter().copied().max().unwrap_or(0),
    )
}

#[test]
fn dr_inputs_reproduce_the_authors_fixtures() {
    let Some(shared) = common::shared("dr_inputs_reproduce_the_authors_fixtures") else {
        return;
    };
    let fixtures = shared.join("reference/fixtures");
    for n in 1..=3u64 {
        let name = format!("demo_{n}.png");
        let hr = load_rgb(shared.join("data/test-images").join(&name)).unwrap();
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures.join(format!("demo_{n}_dr_medium_seed{n}.json")))
                .unwrap(),
        )
        .unwrap();
        let rain = Rain::for_image(&name, 0, RngKind::Numpy).unwrap();
        let p = rain.params();
        // every drawn value, exactly
        assert_eq!(json["seed"].as_u64(), Some(n));
        assert_eq!(p.beta, json["beta"].as_f64().unwrap(), "demo_{n} beta");
        assert_eq!(
            p.amount,
            json["amount"].as_f64().unwrap(),
            "demo_{n} amount"
        );
        assert_eq!(p.width as u64, json["width"].as_u64().unwrap(), "demo_{n}");
        assert_eq!(
            p.length as u64,
            json["length"].as_u64().unwrap(),
            "demo_{n}"
        );
        assert_eq!(p.angle as i64, json["angle"].as_i64().unwrap(), "demo_{n}");
        // the layer and the rainy input: OpenCV filters the noise with its DFT, so
        // allow 1 level on at most 0.1 % of the values
        let want_layer =
            ::image::open(fixtures.join(format!("demo_{n}_dr_medium_seed{n}_layer.png")))
                .unwrap()
                .to_luma8();
        let layer = rain.layer(hr.width(), hr.height());
        let (ld, lmax) = compare(&layer.values, want_layer.as_raw());
        let want = load_rgb(fixtures.join(format!("demo_{n}_dr_medium_seed{n}.png"))).unwrap();
        let got = rain.degrade(&hr).unwrap();
        let (rd, rmax) = compare(got.as_raw(), want.as_raw());
        eprintln!(
            "DR demo_{n}: layer {ld} of {} values differ (max {lmax}); rainy input {rd} of {} (max {rmax})",
            layer.values.len(),
            want.as_raw().len()
        );
        assert!(
            lmax <= 1 && ld * 1000 <= layer.values.len(),
            "demo_{n} layer"
        );
        assert!(
            rmax <= 1 && rd * 1000 <= want.as_raw().len(),
            "demo_{n} input"
        );
        // the rain re-applied to a clean cell gives the fixture's rainy cell
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let at = PatchSite {
            x: 96,
            y: 152,
            image_width: hr.width(),
            image_height: hr.height(),
        };
        let clean = cem::image::crop(&hr, 96, 152, 8, 8).unwrap();
        let cell = rain.degrade_patch(&clean, at, &mut rng).unwrap();
        assert_eq!(cell, cem::image::crop(&got, 96, 152, 8, 8).unwrap());
        // the fixture's rainy input over its clean image carries exactly that rain
        let supplied = SuppliedRain::from_pair(&hr, &want).unwrap();
        let cell = supplied.degrade_patch(&clean, at, &mut rng).unwrap();
        assert_eq!(cell, cem::image::crop(&want, 96, 152, 8, 8).unwrap());
    }
}

#[test]
fn dr_seeds_come_from_the_file_name() {
    // NumPy: the first integer is the seed, a name without one is an error naming it
    let a = Rain::for_image("img_7_x4.png", 0, RngKind::Numpy).unwrap();
    assert_eq!(a.params(), Rain::medium_numpy(7).unwrap().params());
    let err = Rain::for_image("butterfly.png", 0, RngKind::Numpy).unwrap_err();
    assert!(err.to_string().contains("butterfly.png"), "{err}");
    let err = Task::Dr
        .degradation_with(0, RngKind::Numpy, Some("butterfly.png"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("butterfly.png"), "{err}");
    // ChaCha: same name and run seed, same rain; another image or run seed, another
    let layer = |name: &str, seed: u64| {
        Rain::for_image(name, seed, RngKind::ChaCha)
            .unwrap()
            .layer(48, 48)
            .values
            .clone()
    };
    assert_eq!(layer("demo_1.png", 0), layer("other_1.png", 0));
    assert_ne!(layer("demo_1.png", 0), layer("demo_2.png", 0));
    assert_ne!(layer("demo_1.png", 0), layer("demo_1.png", 1));
    assert_ne!(layer("cat.png", 0), layer("dog.png", 0));
}

#[test]
fn dr_with_a_supplied_input_uses_its_rain() {
    let hr = common::cat(40, 40, 32);
    let model = FnModel::new("identity", Device::Cpu, |x: &Tensor| x.shallow_clone());
    let roi = Roi::new(8, 8, 8);
    // a rainy input made elsewhere (another rain than the engine would draw)
    let rainy = Rain::medium(99).degrade(&hr).unwrap();
    let cem = common::quiet_cem().seed(3).input(rainy.clone());
    let d = cem.degradation(&Task::Dr, &hr).unwrap();
    assert_eq!(d.describe()["setting"], "supplied");
    assert_eq!(d.degrade(&hr).unwrap(), rainy);
    let map = cem.run(&model, &hr, &Task::Dr, roi).unwrap();
    assert_eq!(map.info.degradation["setting"], "supplied");
    // the identity model's original PSNR is the supplied input's
    let want = cem::image::roi_psnr(&rainy, &hr, roi).unwrap();
    assert!((map.info.original_psnr - want).abs() < 1e-9);
    // a generated rain with a supplied input is refused, naming the problem
    let err = cem
        .run_with(&model, &hr, &Rain::medium(3), roi)
        .unwrap_err();
    assert!(err.to_string().contains("supplied dr input"), "{err}");
    // a layer and beta work too
    let layer = Rain::medium(99).layer(32, 32);
    let layer_rgb = RgbImage::from_fn(32, 32, |x, y| {
        let v = layer.values[(y * 32 + x) as usize];
        ::image::Rgb([v, v, v])
    });
    let beta = Rain::medium(99).params().beta;
    let from_layer = SuppliedRain::from_layer(&layer_rgb, beta).unwrap();
    assert_eq!(from_layer.degrade(&hr).unwrap(), rainy);
}

fn cem_cmd(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn cem_degrade_writes_the_authors_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let hr = common::cat(10, 10, 48);
    let cat = dir.path().join("cat.png");
    save_rgb(&hr, &cat).unwrap();
    let out = dir.path().join("x.png");
    // DR with NumPy needs a number in the name: a clear error naming the file
    let (ok, text) = cem_cmd(&[
        "degrade".as_ref(),
        "--task".as_ref(),
        "dr".as_ref(),
        "--image".as_ref(),
        cat.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--rng".as_ref(),
        "numpy".as_ref(),
    ]);
    assert!(!ok && text.contains("cat.png"), "{text}");
    // an unknown task names it
    let (ok, text) = cem_cmd(&[
        "degrade".as_ref(),
        "--task".as_ref(),
        "dehaze-everything".as_ref(),
        "--image".as_ref(),
        cat.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(!ok && text.contains("dehaze-everything"), "{text}");
    // with a number: the authors' RainGenerator(7)
    let img7 = dir.path().join("img_7.png");
    save_rgb(&hr, &img7).unwrap();
    let (ok, text) = cem_cmd(&[
        "degrade".as_ref(),
        "--task".as_ref(),
        "dr".as_ref(),
        "--image".as_ref(),
        img7.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--rng".as_ref(),
        "numpy".as_ref(),
    ]);
    assert!(ok, "{text}");
    let want = Rain::medium_numpy(7).unwrap().degrade(&hr).unwrap();
    assert_eq!(load_rgb(&out).unwrap(), want);
    // and the default generator: another rain, the same for the same seed
    let (ok, text) = cem_cmd(&[
        "degrade".as_ref(),
        "--task".as_ref(),
        "dr".as_ref(),
        "--image".as_ref(),
        img7.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok, "{text}");
    let chacha = Rain::for_image("img_7.png", 0, RngKind::ChaCha)
        .unwrap()
        .degrade(&hr)
        .unwrap();
    assert_eq!(load_rgb(&out).unwrap(), chacha);
    assert_ne!(chacha, want);
    // DN with NumPy from the fixture, when ../shared is there
    let Some(shared) = common::shared("cem_degrade_writes_the_authors_inputs (DN fixture)") else {
        return;
    };
    let demo = shared.join("data/test-images/demo_2.png");
    let (ok, text) = cem_cmd(&[
        "degrade".as_ref(),
        "--task".as_ref(),
        "dn".as_ref(),
        "--image".as_ref(),
        demo.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--rng".as_ref(),
        "numpy".as_ref(),
    ]);
    assert!(ok, "{text}");
    let fixture = load_rgb(shared.join("reference/fixtures/demo_2_dn_sigma50_seed0.png")).unwrap();
    assert_eq!(load_rgb(&out).unwrap(), fixture);
}

#[test]
fn cem_map_records_the_generator_and_uses_a_supplied_rain() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("box.pt");
    FnModel::new("box", Device::Cpu, |x: &Tensor| {
        x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)
    })
    .save_traced(
        &Tensor::rand([1, 3, 48, 48], (Kind::Float, Device::Cpu)),
        &model,
    )
    .unwrap();
    let hr = common::cat(10, 10, 48);
    let image = dir.path().join("img_5.png");
    save_rgb(&hr, &image).unwrap();
    let run = |extra: &[&std::ffi::OsStr], out: &std::path::Path| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "map".as_ref(),
            "--model".as_ref(),
            model.as_os_str(),
            "--image".as_ref(),
            image.as_os_str(),
            "--task".as_ref(),
            "dr".as_ref(),
            "--roi".as_ref(),
            "16,16,16".as_ref(),
            "--strategy".as_ref(),
            "c2f4".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        args.extend_from_slice(extra);
        cem_cmd(&args)
    };
    let out = dir.path().join("numpy");
    let (ok, text) = run(&["--rng".as_ref(), "numpy".as_ref()], &out);
    assert!(ok, "{text}");
    let map = cem::map::load(&out).unwrap();
    assert_eq!(map.info.degradation["rng"], "numpy");
    assert_eq!(map.info.degradation["image_number"], 5);
    let want = Rain::medium_numpy(5).unwrap().degrade(&hr).unwrap();
    assert_eq!(load_rgb(out.join(cem::map::INPUT_NAME)).unwrap(), want);
    // the same rainy input supplied with --input: its rain (rainy - clean), the same
    // original PSNR (interventions differ only where the rain saturated)
    let rainy = dir.path().join("rainy.png");
    save_rgb(&want, &rainy).unwrap();
    let out2 = dir.path().join("supplied");
    let (ok, text) = run(&["--input".as_ref(), rainy.as_os_str()], &out2);
    assert!(ok, "{text}");
    let map2 = cem::map::load(&out2).unwrap();
    assert_eq!(map2.info.degradation["setting"], "supplied");
    assert_eq!(map2.info.original_psnr, map.info.original_psnr);
    // --rain-layer without --beta is refused by the parser
    let layer = dir.path().join("layer.png");
    save_rgb(&hr, &layer).unwrap();
    let (ok, text) = run(&["--rain-layer".as_ref(), layer.as_os_str()], &out2);
    assert!(!ok && text.contains("--beta"), "{text}");
}
