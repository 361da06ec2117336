//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

pub mod wired;

/// `../shared` beside the checkout, or `None` (with a message) when it is absent.
pub fn shared(test: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("reference").is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED {test}: ../shared is absent (reference fixtures and data live there)");
        None
    }
}

/// A small intervention library: 400 8x8 crops (seed 0) of the embedded coffee photo.
pub fn coffee_library() -> std::sync::Arc<cem::library::Library> {
    let coffee = cem::library::builtin_photo("coffee.png").unwrap();
    std::sync::Arc::new(
        cem::library::Library::from_images(&[("coffee".into(), coffee)], 400, 8, 0).unwrap(),
    )
}

/// A `side`-square crop at `(x, y)` of the embedded cat photo: a textured ground truth.
pub fn cat(x: u32, y: u32, side: u32) -> cem::prelude::RgbImage {
    let cat = cem::library::builtin_photo("chelsea.png").unwrap();
    cem::image::crop(&cat, x, y, side, side).unwrap()
}

/// C3F50 with the small coffee library, no progress bar, batches of 16.
pub fn quiet_cem() -> cem::engine::Cem {
    cem::engine::Cem::coarse_to_fine()
        .library(coffee_library())
        .progress(false)
        .batch_size(16)
}

/// Saves a 5x5 box filter (stride 1, zero padding 2: output size = input size) as a
/// TorchScript file at `path`: a real model for the command-line tests.
pub fn save_box_model(path: &std::path::Path) {
    use cem::prelude::*;
    FnModel::new("box", Device::Cpu, |x: &Tensor| {
        x.avg_pool2d([5, 5], [1, 1], [2, 2], false, false, None::<i64>)
    })
    .save_traced(
        &Tensor::rand([1, 3, 32, 32], (Kind::Float, Device::Cpu)),
        path,
    )
    .unwrap();
}
