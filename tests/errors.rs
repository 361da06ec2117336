//! Every bad input gets a clear error naming the bad value.

use cem::prelude::*;

#[test]
fn missing_and_corrupt_images() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.png");
    let err = load_rgb(&missing).unwrap_err();
    assert!(
        matches!(err, Error::Image { .. }) && err.to_string().contains("nope.png"),
        "{err}"
    );
    let corrupt = dir.path().join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nthis is not a png").unwrap();
    let err = load_rgb(&corrupt).unwrap_err();
    assert!(err.to_string().contains("corrupt.png"), "{err}");
}

#[test]
fn non_torchscript_and_missing_models() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("weights.pth");
    std::fs::write(&fake, b"not a torchscript archive").unwrap();
    let err = TorchScript::load(&fake, Device::Cpu).err().unwrap();
    assert!(matches!(err, Error::NotTorchScript { .. }), "{err}");
    assert!(
        err.to_string().contains("weights.pth") && err.to_string().contains("torch.jit"),
        "{err}"
    );
    let err = TorchScript::load(dir.path().join("missing.pt"), Device::Cpu)
        .err()
        .unwrap();
    assert!(err.to_string().contains("missing.pt"), "{err}");
}

#[test]
fn traced_closures_load_back_as_torchscript() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blur.pt");
    let f = FnModel::new("blur", Device::Cpu, |x: &Tensor| {
        x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)
    });
    let example = Tensor::rand([1, 3, 16, 16], (Kind::Float, Device::Cpu));
    f.save_traced(&example, &path).unwrap();
    let ts = TorchScript::load(&path, Device::Cpu).unwrap();
    assert_eq!(ts.name(), "blur");
    // traced graphs accept other sizes and batches
    let x = Tensor::rand([2, 3, 24, 20], (Kind::Float, Device::Cpu));
    let a = forward_checked(&ts, &x, 1).unwrap();
    let b = forward_checked(&f, &x, 1).unwrap();
    assert_eq!(a.size(), vec![2, 3, 24, 20]);
    assert!(f64::try_from((a - b).abs().max()).unwrap() < 1e-6);
}

#[test]
fn bad_settings_and_names() {
    assert!(matches!(Task::parse("deblur", 4, 50.0), Err(Error::UnknownTask(t)) if t == "deblur"));
    let err = Roi::parse("96,152").unwrap_err();
    assert!(err.to_string().contains("96,152"), "{err}");
    let err = parse_device("tpu:0").unwrap_err();
    assert!(err.to_string().contains("tpu:0"), "{err}");
    let err = GaussianNoise::new(-1.0, 0).unwrap_err();
    assert!(err.to_string().contains("-1"), "{err}");
    let err = Library::from_patch_folder("/definitely/not/here").unwrap_err();
    assert!(err.to_string().contains("/definitely/not/here"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = Library::from_patch_folder(empty.path()).unwrap_err();
    assert!(err.to_string().contains("no png"), "{err}");
}

#[test]
fn a_library_of_the_wrong_patch_size_is_refused() {
    let img = cem::library::builtin_photo("rocket.jpg").unwrap();
    let lib = Library::from_images(&[("rocket".into(), img)], 10, 16, 0).unwrap();
    let hr = cem::demo::demo_image().unwrap();
    let id = FnModel::new("id", Device::Cpu, |x: &Tensor| x.shallow_clone());
    let err = Cem::coarse_to_fine()
        .library(lib)
        .progress(false)
        .run(&id, &hr, &Task::Dn { sigma: 50.0 }, Roi::paper_demo())
        .unwrap_err();
    assert!(err.to_string().contains("16x16"), "{err}");
}
