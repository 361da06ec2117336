//! The trainer: a few steps lower the loss; a run resumes from its saved step.

use cem::train::{train, TrainConfig, TrainTask, STATE_NAME, WEIGHTS_NAME};
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

#[test]
fn a_few_steps_lower_the_loss() {
    let dir = tempfile::tempdir().unwrap();
    let report = train(&tiny("dn", 1), dir.path(), None, Device::Cpu, false).unwrap();
    assert!(report.finished);
    assert_eq!(report.history.len(), 2);
    let (first, last) = (&report.history[0], &report.history[1]);
    assert!(
        last.loss < first.loss,
        "loss {} -> {}",
        first.loss,
        last.loss
    );
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
