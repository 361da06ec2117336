//! The result of a run ([`MapRun`]): what it holds, its folder, the files of older
//! versions, its arrays for NumPy, and that nothing runs the model twice for one map.

mod common;

use cem::map::{MapRun, RunStage, HR_NAME, INPUT_NAME, NPY_NAME, OUTPUT_NAME};
use cem::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const ROI: Roi = Roi {
    x: 24,
    y: 24,
    size: 16,
};

/// A 7x7 box filter that counts the images it is given (a batch of n counts n).
fn counting_box(count: Arc<AtomicUsize>) -> impl Model {
    FnModel::new("box7", Device::Cpu, move |x: &Tensor| {
        count.fetch_add(x.size()[0] as usize, Ordering::SeqCst);
        x.avg_pool2d([7, 7], [1, 1], [3, 3], false, false, None::<i64>)
    })
}

fn truth() -> RgbImage {
    common::cat(100, 60, 64)
}

fn quick() -> Cem {
    common::quiet_cem().coarse(2).fine(6)
}

#[test]
fn a_run_holds_its_images_and_runs_the_model_once_per_reported_inference() {
    let count = Arc::new(AtomicUsize::new(0));
    let model = counting_box(count.clone());
    let hr = truth();
    let task = Task::Dn { sigma: 50.0 };
    let run = quick().seed(4).run(&model, &hr, &task, ROI).unwrap();

    // every inference is in the record: the stages, the locality check, and the
    // one original inference that gives O and the output
    let locality = run.record().stage(RunStage::Locality).unwrap().inferences;
    let coarse = run.record().stage(RunStage::Coarse).unwrap().inferences;
    let fine = run.record().stage(RunStage::Fine).unwrap().inferences;
    assert!(locality > 0 && coarse > 0 && fine > 0);
    assert_eq!(run.inferences(), locality + coarse + fine);
    assert_eq!(count.load(Ordering::SeqCst), run.inferences() + 1);
    assert!(run.record().locality.as_ref().unwrap().local);

    // the images are what the map was measured on
    let input = task.degradation(4).unwrap().degrade(&hr).unwrap();
    assert_eq!(run.input.as_ref(), Some(&input));
    assert_eq!(run.hr.as_ref(), Some(&hr));
    let output = run.output.as_ref().unwrap();
    assert_eq!(
        roi_psnr(output, &hr, ROI).unwrap().to_bits(),
        run.info.original_psnr.to_bits(),
        "the output is the u8 image the ROI PSNR measured"
    );
    assert!(run.missing_images().is_empty());
}

#[test]
fn the_folder_round_trips_and_holds_every_file() {
    let model = counting_box(Arc::new(AtomicUsize::new(0)));
    let run = quick()
        .trace([(0, 0), (3, 5)])
        .run(&model, &truth(), &Task::Dn { sigma: 30.0 }, ROI)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    run.save(dir.path()).unwrap();
    for name in [
        "cem.csv",
        "cem.json",
        NPY_NAME,
        INPUT_NAME,
        OUTPUT_NAME,
        HR_NAME,
    ] {
        assert!(dir.path().join(name).is_file(), "{name} missing");
    }
    let back = MapRun::load(dir.path()).unwrap();
    assert_eq!(back, run);
    assert_eq!(back.input.as_ref().unwrap().dimensions(), (64, 64));
    assert_eq!(back.info.traces.len(), 2);
    assert_eq!(back.info.traces[1].psnr_db.len(), 6);

    // the record is typed in the file too: no free-form `extra`
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("cem.json")).unwrap())
            .unwrap();
    assert_eq!(json["format"], 2);
    assert!(json.get("extra").is_none());
    assert_eq!(json["locality"]["local"], true);
    // C = 2 for each cell of the locality crop
    let coarse = run.info.stage(RunStage::Coarse).unwrap().inferences;
    assert!(coarse < 60 * 2 && coarse.is_multiple_of(2));
    assert_eq!(json["stages"]["coarse"]["inferences"], coarse);
    assert_eq!(json["traces"][0]["row"], 0);

    // an image of the wrong size is refused, naming it
    save_rgb(&common::cat(0, 0, 32), dir.path().join(INPUT_NAME)).unwrap();
    let err = MapRun::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("input.png") && err.contains("32x32") && err.contains("64x64"),
        "{err}"
    );
    // a folder with the map alone loads, its images missing
    for name in [INPUT_NAME, OUTPUT_NAME, HR_NAME] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    let bare = MapRun::load(dir.path()).unwrap();
    assert_eq!(bare.map, run.map);
    assert_eq!(bare.missing_images(), ["input.png", "output.png"]);
    assert_eq!(bare.hr, None);
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/map-v1")
        .join(name)
}

#[test]
fn folders_of_format_1_still_load() {
    let checked = MapRun::load(fixture("checked")).unwrap();
    let info = checked.record();
    assert_eq!(info.model, "dncnn-s-dn50");
    assert_eq!(info.model_spec.as_deref(), Some("shipped:dncnn-s-dn50"));
    let loc = info.locality.as_ref().expect("the v1 locality record");
    assert!(!loc.local);
    assert_eq!(loc.inferences, 3);
    assert_eq!(info.stage(RunStage::Locality).unwrap().inferences, 3);
    assert_eq!(info.traces.len(), 1);
    assert_eq!((info.traces[0].row, info.traces[0].col), (0, 0));
    assert_eq!(info.traces[0].psnr_db.len(), 4);
    assert_eq!((checked.rows, checked.cols), (4, 4));
    assert!(checked.missing_images().is_empty());
    assert_eq!(checked.inferences(), 85);

    let off = MapRun::load(fixture("off")).unwrap();
    assert_eq!(off.info.locality, None);
    assert!(off.info.traces.is_empty());
    assert_eq!(off.effects(), checked.effects());

    // written again, it is format 2 and reads back the same
    let dir = tempfile::tempdir().unwrap();
    checked.save(dir.path()).unwrap();
    let again = MapRun::load(dir.path()).unwrap();
    assert_eq!(again.map.cells, checked.map.cells);
    assert_eq!(again.info.locality, checked.info.locality);
    assert_eq!(again.info.traces, checked.info.traces);
    assert_eq!(again.info.format, 2);
}

/// The project's Python, or `None` with a message.
fn python(test: &str) -> Option<PathBuf> {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if py.is_file() {
        Some(py)
    } else {
        eprintln!("SKIPPED {test}: no .venv/bin/python (run setup.sh to make the virtualenv)");
        None
    }
}

#[test]
fn cem_npy_loads_in_numpy_as_the_effect_grid() {
    let Some(py) = python("cem_npy_loads_in_numpy_as_the_effect_grid") else {
        return;
    };
    let model = counting_box(Arc::new(AtomicUsize::new(0)));
    let run = quick()
        .run(&model, &truth(), &Task::Dn { sigma: 50.0 }, ROI)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    run.save(dir.path()).unwrap();
    let script = "import json, sys, numpy as np\n\
        a = np.load(sys.argv[1])\n\
        print(json.dumps({'dtype': str(a.dtype), 'shape': list(a.shape), \
        'values': [v if np.isfinite(v) else 'inf' for v in a.ravel().tolist()]}))";
    let out = Command::new(py)
        .args(["-c", script])
        .arg(dir.path().join(NPY_NAME))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["dtype"], "float64");
    assert_eq!(got["shape"], serde_json::json!([8, 8]));
    let effects = run.effects();
    assert_eq!(effects.dim(), (8, 8));
    for (v, e) in got["values"].as_array().unwrap().iter().zip(effects.iter()) {
        match v.as_f64() {
            Some(x) => assert_eq!(x.to_bits(), e.to_bits()),
            None => assert_eq!(*e, f64::INFINITY),
        }
    }
    assert_eq!(effects.iter().filter(|e| e.is_infinite()).count(), 4);
}

#[test]
fn cem_map_runs_the_model_once_per_reported_inference() {
    // a scripted model that prints the batch it gets: the count comes from the
    // `cem map` process itself
    let test = "cem_map_runs_the_model_once_per_reported_inference";
    let Some(py) = python(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("counting.pt");
    let script = "import sys, torch\n\
        class Counting(torch.nn.Module):\n\
        \x20   def forward(self, x: torch.Tensor) -> torch.Tensor:\n\
        \x20       print('CEM-TEST-INFERENCES', x.shape[0])\n\
        \x20       return torch.nn.functional.avg_pool2d(x, 5, 1, 2, count_include_pad=False)\n\
        torch.jit.script(Counting()).save(sys.argv[1])\n";
    let made = Command::new(py)
        .args(["-c", script])
        .arg(&model)
        .output()
        .unwrap();
    if !made.status.success() {
        eprintln!(
            "SKIPPED {test}: the virtualenv could not script a model: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        return;
    }
    let hr = truth();
    let image = dir.path().join("hr.png");
    save_rgb(&hr, &image).unwrap();
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(["map", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(&image)
        .args(["--task", "dn", "--roi", "24,24,16", "--strategy", "c2f6"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let counted: usize = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("CEM-TEST-INFERENCES "))
        .map(|n| n.trim().parse::<usize>().unwrap())
        .sum();
    let saved = MapRun::load(&out).unwrap();
    assert!(saved.info.stage(RunStage::Locality).unwrap().inferences > 0);
    assert_eq!(counted, saved.inferences() + 1, "{stdout}");
    assert!(saved.missing_images().is_empty());
    assert_eq!(
        roi_psnr(saved.output.as_ref().unwrap(), &hr, ROI)
            .unwrap()
            .to_bits(),
        saved.info.original_psnr.to_bits()
    );
}

#[test]
fn a_missing_map_folder_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-map");
    let err = MapRun::load(&missing).unwrap_err().to_string();
    assert!(
        err.contains("no-such-map") && err.contains("no such folder"),
        "{err}"
    );
}
