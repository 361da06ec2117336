//! The trainer: a few steps lower the loss; a run resumes from its saved step.

use cem::train::{train, Loss, TrainConfig, TrainReport, TrainTask, STATE_NAME, WEIGHTS_NAME};
use cem::zoo::{Arch, NetConfig};
use tch::Device;

fn tiny(task: &str, scale: u32) -> TrainConfig {
    let task = TrainTask::parse(task, scale, 50.0).unwrap();
    let net = NetConfig::new(
        if task.net_scale() == 1 {
            Arch::Dncnn
        } else {
            Arch::SrResNet
        },
        task.net_scale() as i64,
    )
    .feats(8)
    .blocks(3);
    let mut c = TrainConfig::new(net, task);
    c.steps = 40;
    c.batch = 4;
    c.crop = 32;
    c.lr = 2e-3;
    c.val_every = 20;
    c.checkpoint_every = 20;
    c.val_crops = 2;
    c
}

/// The last validation point's mean training loss is below the first's.
fn assert_loss_fell(report: &TrainReport) {
    let (first, last) = (&report.history[0], &report.history[1]);
    assert!(
        last.loss < first.loss,
        "loss {} -> {}",
        first.loss,
        last.loss
    );
}

#[test]
fn a_few_steps_lower_the_loss() {
    let dir = tempfile::tempdir().unwrap();
    let report = train(&tiny("dn", 1), dir.path(), None, Device::Cpu, false).unwrap();
    assert!(report.finished);
    assert_eq!(report.history.len(), 2);
    assert_loss_fell(&report);
    assert!(report.baseline_psnr.is_finite());
    assert!(dir.path().join(WEIGHTS_NAME).is_file() && dir.path().join(STATE_NAME).is_file());
}

#[test]
fn resumes_from_the_saved_step_and_refuses_other_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny("sr", 2);
    c.steps = 20;
    let first = train(&c, dir.path(), None, Device::Cpu, false).unwrap();
    assert_eq!(first.step, 20);
    c.steps = 40;
    let resumed = train(&c, dir.path(), None, Device::Cpu, false).unwrap();
    assert_eq!(resumed.step, 40);
    let steps: Vec<usize> = resumed.history.iter().map(|p| p.step).collect();
    assert_eq!(steps, [20, 40], "the first 20 steps were not run again");
    assert!(resumed.seconds >= first.seconds);

    let mut other = c.clone();
    other.lr = 1e-4;
    let err = train(&other, dir.path(), None, Device::Cpu, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("other settings"), "{err}");
    let mut other = c.clone();
    other.loss = Loss::Psnr;
    let err = train(&other, dir.path(), None, Device::Cpu, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("other settings"), "another loss: {err}");
}

#[test]
fn the_psnr_loss_trains_towards_a_higher_psnr_and_old_records_read_as_l1() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny("dn", 1);
    c.loss = Loss::Psnr;
    let report = train(&c, dir.path(), None, Device::Cpu, false).unwrap();
    // the loss is minus the mean training PSNR (dB): it falls as the PSNR rises
    assert_loss_fell(&report);
    let last = &report.history[1];
    assert!(
        (-60.0..-5.0).contains(&last.loss),
        "minus a PSNR in dB: {}",
        last.loss
    );
    // a record written before the loss was a setting is an L1 run
    let state = dir.path().join(STATE_NAME);
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(json["config"]["loss"], "psnr");
    json["config"].as_object_mut().unwrap().remove("loss");
    let old: cem::train::TrainReport = serde_json::from_value(json).unwrap();
    assert_eq!(old.config.loss, Loss::L1);
}

#[test]
fn mixed_and_bad_settings() {
    let mixed = TrainTask::parse("mixed", 4, 50.0).unwrap();
    assert_eq!(mixed.net_scale(), 1);
    let hr = cem::library::builtin_photo("coffee.png").unwrap();
    let hr = image::imageops::crop_imm(&hr, 0, 0, 32, 32).to_image();
    for seed in 0..6 {
        let x = mixed.degrade(&hr, seed).unwrap();
        assert_eq!(x.dimensions(), (32, 32), "every mixed sample is full size");
    }
    let mut c = tiny("sr", 4);
    c.crop = 30;
    let err = train(
        &c,
        tempfile::tempdir().unwrap().path(),
        None,
        Device::Cpu,
        false,
    )
    .unwrap_err();
    assert!(err.to_string().contains("30"), "{err}");
    let mut c = tiny("dn", 1);
    c.net.scale = 2;
    assert!(train(
        &c,
        tempfile::tempdir().unwrap().path(),
        None,
        Device::Cpu,
        false
    )
    .is_err());
}

#[test]
fn srcnns_doing_nothing_is_its_own_upsampler_and_finished_records_follow_it() {
    // the same validation crops for both: the task, crop size and seed decide them
    let mut bicubic = tiny("sr", 4);
    bicubic.steps = 1;
    let mut srcnn = bicubic.clone();
    srcnn.net = NetConfig::new(Arch::Srcnn, 4).feats(8);
    let dir = tempfile::tempdir().unwrap();
    let b = train(&bicubic, &dir.path().join("b"), None, Device::Cpu, false).unwrap();
    let s = train(&srcnn, &dir.path().join("s"), None, Device::Cpu, false).unwrap();
    // align_corners=True is off PIL-style bicubic by up to 1.5 px at the edges
    assert!(
        s.baseline_psnr < b.baseline_psnr - 0.1,
        "SRCNN's upsampler {:.3} dB vs bicubic {:.3} dB",
        s.baseline_psnr,
        b.baseline_psnr
    );
    // a finished run recorded with another baseline is brought up to date, nothing else
    let state = dir.path().join("s").join(STATE_NAME);
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    old["baseline_psnr"] = serde_json::json!(b.baseline_psnr);
    std::fs::write(&state, serde_json::to_vec_pretty(&old).unwrap()).unwrap();
    let again = train(&srcnn, &dir.path().join("s"), None, Device::Cpu, false).unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["baseline_psnr"].as_f64(), Some(s.baseline_psnr));
    assert_eq!((again.step, again.history.len()), (1, s.history.len()));
}

#[test]
fn the_psnr_loss_is_minus_the_mean_per_crop_psnr() {
    use tch::{Kind, Tensor};
    // two crops: errors 0.1 (MSE 1e-2, 20 dB) and 0.01 (MSE 1e-4, 40 dB)
    let target = Tensor::zeros([2, 3, 4, 4], (Kind::Float, Device::Cpu));
    let pred = Tensor::cat(
        &[
            Tensor::full([1, 3, 4, 4], 0.1, (Kind::Float, Device::Cpu)),
            Tensor::full([1, 3, 4, 4], 0.01, (Kind::Float, Device::Cpu)),
        ],
        0,
    );
    let psnr = Loss::Psnr.of(&pred, &target).double_value(&[]);
    assert!((psnr + 30.0).abs() < 1e-3, "{psnr}");
    let l1 = Loss::L1.of(&pred, &target).double_value(&[]);
    assert!((l1 - 0.055).abs() < 1e-6, "{l1}");
    assert_eq!((Loss::L1.name(), Loss::Psnr.name()), ("l1", "psnr"));
}

#[test]
fn a_warm_start_begins_from_the_given_weights_and_refuses_other_networks() {
    let first_dir = tempfile::tempdir().unwrap();
    let mut c = tiny("dn", 1);
    c.steps = 20;
    let first = train(&c, first_dir.path(), None, Device::Cpu, false).unwrap();
    let trained = first.history.last().unwrap().val_psnr;

    // one step at a vanishing rate: the validation is the first run's, from its weights
    let mut warm = c.clone();
    warm.steps = 1;
    warm.val_every = 1;
    warm.lr = 1e-12;
    warm.init = Some(first_dir.path().join(WEIGHTS_NAME).display().to_string());
    let dir = tempfile::tempdir().unwrap();
    let report = train(&warm, dir.path(), None, Device::Cpu, false).unwrap();
    let started = report.history[0].val_psnr;
    assert!(
        (started - trained).abs() < 1e-3,
        "warm {started} vs trained {trained}"
    );
    let text = std::fs::read_to_string(dir.path().join(STATE_NAME)).unwrap();
    assert!(
        text.contains("\"init\""),
        "the record names its start: {text}"
    );

    // the same without the start: the seed's random weights validate elsewhere
    let mut cold = warm.clone();
    cold.init = None;
    let cold = train(
        &cold,
        tempfile::tempdir().unwrap().path(),
        None,
        Device::Cpu,
        false,
    )
    .unwrap();
    assert!((cold.history[0].val_psnr - trained).abs() > 0.1, "{cold}");

    // another size, another architecture, a missing file: named errors, nothing written
    for init in ["shipped:dncnn-s-dn50", "/nonexistent/w.safetensors"] {
        let mut bad = warm.clone();
        bad.init = Some(init.to_string());
        let dir = tempfile::tempdir().unwrap();
        let err = train(&bad, dir.path(), None, Device::Cpu, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains(init) && err.contains("init"), "{err}");
        assert!(
            !dir.path().join(STATE_NAME).exists(),
            "a refused start writes no record"
        );
    }
}

#[test]
fn the_record_names_its_photos_and_a_resume_on_other_photos_is_refused() {
    let photo = |name: &str, x: u32| {
        image::imageops::crop_imm(&cem::library::builtin_photo(name).unwrap(), x, 0, 64, 64)
            .to_image()
    };
    let (a, moved, b) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    for dir in [a.path(), moved.path()] {
        cem::image::save_rgb(&photo("coffee.png", 0), dir.join("one.png")).unwrap();
        cem::image::save_rgb(&photo("coffee.png", 64), dir.join("two.png")).unwrap();
    }
    cem::image::save_rgb(&photo("coffee.png", 0), b.path().join("one.png")).unwrap();
    cem::image::save_rgb(&photo("coffee.png", 128), b.path().join("two.png")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny("dn", 1);
    c.steps = 2;
    c.val_every = 2;
    c.checkpoint_every = 2;
    let first = train(&c, dir.path(), Some(a.path()), Device::Cpu, false).unwrap();
    let record = first.photos.clone().expect("the photos are recorded");
    assert_eq!(record.names, ["one.png", "two.png"]);
    assert_eq!(record.source, a.path().display().to_string());

    // the same photos in another folder: the run resumes
    c.steps = 4;
    let resumed = train(&c, dir.path(), Some(moved.path()), Device::Cpu, false).unwrap();
    assert_eq!(resumed.step, 4);
    assert_eq!(resumed.photos.unwrap().digest, record.digest);

    // one photo changed, or the embedded photos: refused by name, the record kept
    c.steps = 6;
    let kept = std::fs::read_to_string(dir.path().join(STATE_NAME)).unwrap();
    for other in [Some(b.path()), None] {
        let err = train(&c, dir.path(), other, Device::Cpu, false)
            .unwrap_err()
            .to_string();
        let named = other.map_or("embedded".to_string(), |p| p.display().to_string());
        assert!(
            err.contains("other photos") && err.contains(&named) && err.contains(&record.digest),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join(STATE_NAME)).unwrap(),
            kept
        );
    }
}

#[test]
fn a_finished_mio_record_is_measured_again_on_the_per_task_validation() {
    let mut c = tiny("mio", 4);
    c.steps = 2;
    c.val_every = 1;
    let dir = tempfile::tempdir().unwrap();
    let done = train(&c, dir.path(), None, Device::Cpu, false).unwrap();
    assert_eq!(done.history.len(), 2);
    // a record written with other validation crops: another baseline and last point
    let state = dir.path().join(STATE_NAME);
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    old["baseline_psnr"] = serde_json::json!(1.0);
    old["history"][0]["val_psnr"] = serde_json::json!(2.0);
    old["history"][1]["val_psnr"] = serde_json::json!(3.0);
    std::fs::write(&state, serde_json::to_vec_pretty(&old).unwrap()).unwrap();
    let again = train(&c, dir.path(), None, Device::Cpu, false).unwrap();
    let saved: TrainReport =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved, again);
    assert_eq!(saved.baseline_psnr, done.baseline_psnr);
    // the finished weights' point is measured again; the earlier one stays as recorded
    assert_eq!(saved.history[1].val_psnr, done.history[1].val_psnr);
    assert_eq!(saved.history[0].val_psnr, 2.0);
    assert_eq!(
        (saved.step, saved.history[1].loss),
        (2, done.history[1].loss)
    );
}
