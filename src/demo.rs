//! The embedded defaults of `cem demo`: a shipped photo, the built-in library and the
//! small trained models in `data/models`, so the main job runs with nothing downloaded.

use crate::degrade::Task;
use crate::engine::Cem;
use crate::error::Result;
use crate::image::{crop, Roi};
use crate::library::builtin_photo;
use crate::map::{CausalEffectMap, MapRun};
use crate::model::{FnModel, Model};
use ::image::RgbImage;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// The demo's ground truth: the 256x256 crop at (160, 40) of the embedded astronaut
/// photo (public domain), a region with hair, face and fabric texture.
pub fn demo_image() -> Result<RgbImage> {
    crop(&builtin_photo("astronaut.png")?, 160, 40, 256, 256)
}

/// The demo's ROI, the paper's: x=96, y=152, side 32.
pub fn demo_roi() -> Roi {
    Roi::paper_demo()
}

/// A small denoiser built from fixed weights: the classic adaptive Wiener (Lee)
/// filter for Gaussian noise of sigma 50. Local mean and variance come from a 7x7
/// Gaussian window (sigma 2); each pixel keeps the fraction `max(0, var - n) / var`
/// of its deviation from the local mean, `n` the noise variance. Receptive radius
/// 6 px. Fixed weights with known behaviour and ~50 us per 256x256 inference: the
/// default of `cem bench` and of quick examples. `cem demo` runs a trained network,
/// [`demo_network`].
pub fn demo_model(device: Device) -> impl Model {
    let g: Vec<f32> = (-3..=3)
        .map(|i: i32| (-(i * i) as f32 / (2.0 * 2.0 * 2.0)).exp())
        .collect();
    let sum: f32 = g.iter().sum();
    let g: Vec<f32> = g.iter().map(|v| v / sum).collect();
    let k2: Vec<f32> = g
        .iter()
        .flat_map(|a| g.iter().map(move |b| a * b))
        .collect();
    let kernel = Tensor::from_slice(&k2)
        .view([1, 1, 7, 7])
        .repeat([3, 1, 1, 1])
        .to_device(device);
    let noise_var = (50.0f64 / 255.0).powi(2);
    FnModel::new("demo-wiener7", device, move |x: &Tensor| {
        let blur = |t: &Tensor| {
            t.reflection_pad2d([3, 3, 3, 3]).conv2d(
                &kernel,
                None::<&Tensor>,
                [1, 1],
                [0, 0],
                [1, 1],
                3,
            )
        };
        let mean = blur(x);
        let var = (blur(&x.square()) - mean.square())
            .mean_dim(1, true, Kind::Float)
            .clamp_min(1e-8);
        let gain = ((&var - noise_var) / &var).clamp(0.0, 1.0);
        &mean + (x - &mean) * gain
    })
}

/// The shipped network for a demo task: `dncnn-s-dn50` for DN (sigma 50),
/// `srresnet-s-x4` for SR x4 (see `data/models/README.md`).
pub fn demo_network(task: &Task, device: Device) -> Result<crate::zoo::Network> {
    match task {
        Task::Dn { sigma } if *sigma == 50.0 => crate::zoo::shipped("dncnn-s-dn50", device),
        Task::Sr { scale: 4 } => crate::zoo::shipped("srresnet-s-x4", device),
        other => Err(crate::Error::invalid(
            "demo task",
            format!("{other:?}"),
            "the shipped models cover DN sigma 50 and SR x4",
        )),
    }
}

/// Runs the demo: DN (sigma 50) with the shipped DnCNN, or SR x4 with the shipped
/// SRResNet, on [`demo_image`], C3F50 with the built-in library, seed 0. Writes the
/// result folder `out` ([`MapRun::save`]: `cem.csv`, `cem.json`, `cem.npy`,
/// `input.png`, `output.png`, `hr.png`), keeping a checkpoint there while it runs.
pub fn run_demo(out: &Path, task: Task, progress: bool) -> Result<MapRun> {
    let hr = demo_image()?;
    let model = demo_network(&task, Device::Cpu)?;
    std::fs::create_dir_all(out).map_err(|e| crate::Error::io(out, e))?;
    let run = Cem::coarse_to_fine()
        .seed(0)
        .progress(progress)
        .image_name("astronaut-crop")
        .checkpoint(out.join("cem.partial.json"))
        .run(&model, &hr, &task, demo_roi())?;
    run.save(out)?;
    Ok(run)
}

/// One line on how a map was evaluated: on a locality crop (with its margin) or on
/// the whole input, from the map's record.
pub fn locality_line(map: &CausalEffectMap) -> String {
    match &map.info.locality {
        Some(loc) => match (loc.crop, loc.margin_px) {
            (Some(c), Some(m)) => format!(
                "locality: local, margin {m} input px; interventions ran on the {}x{} input crop at ({}, {}) (checked with {} inferences, {:.1} s)",
                c.width, c.height, c.x, c.y, loc.inferences, loc.seconds
            ),
            _ => format!(
                "locality: global (no crop smaller than the image passed); whole-image inference (checked with {} inferences, {:.1} s)",
                loc.inferences, loc.seconds
            ),
        },
        None => "locality: off; whole-image inference".to_string(),
    }
}
