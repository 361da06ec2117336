//! The engine's overhead: a map's wall time against the same number of pure model
//! forward passes at the same batch size (`cem bench`).

use crate::degrade::Task;
use crate::engine::Cem;
use crate::error::Result;
use crate::image::{to_tensor, Roi};
use crate::model::{forward_checked, Model};
use ::image::RgbImage;
use serde::Serialize;
use std::time::Instant;
use tch::{Device, Tensor};

/// What [`bench`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Model name.
    pub model: String,
    /// Device name.
    pub device: String,
    /// Strategy label.
    pub strategy: String,
    /// The task's degradation as the map records it (e.g. `{"name": "dn", "sigma": 25, ...}`).
    pub degradation: serde_json::Value,
    /// Interventions (= model inferences) in the map.
    pub inferences: usize,
    /// Batch size the map used, and the baseline too.
    pub batch_size: usize,
    /// Wall time of the whole map in seconds (degradation, original inference,
    /// patch preparation, assembly, inference, measurement), best of the repeats.
    pub map_seconds: f64,
    /// Wall time of the same number of forward passes at the same batch size, on a
    /// batch already on the device, nothing else, best of the repeats.
    pub forward_seconds: f64,
    /// `map_seconds / forward_seconds`.
    pub ratio: f64,
    /// Every (map, forward) pair measured, in order.
    pub runs: Vec<(f64, f64)>,
    /// Median over the pairs of `map / forward`: robust to a machine whose speed
    /// drifts between pairs.
    pub median_pair_ratio: f64,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {} ({}, {}): {} inferences at batch {}: map {:.2} s, pure forward {:.2} s, ratio {:.3} (best of {}; median of pair ratios {:.3})",
            self.model,
            self.device,
            self.strategy,
            self.degradation,
            self.inferences,
            self.batch_size,
            self.map_seconds,
            self.forward_seconds,
            self.ratio,
            self.runs.len(),
            self.median_pair_ratio
        )
    }
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Times `n` forward passes in batches of `batch` on a batch resident on the device.
fn time_forward(
    model: &dyn Model,
    input: &RgbImage,
    scale: u32,
    n: usize,
    batch: usize,
) -> Result<f64> {
    let device = model.device();
    let one = to_tensor(input, device);
    let full = one.repeat([batch as i64, 1, 1, 1]);
    let rest = n % batch;
    let tail = (rest > 0).then(|| one.repeat([rest as i64, 1, 1, 1]));
    // warm-up (kernel selection, allocator)
    let _warm: Tensor = forward_checked(model, &full, scale)?;
    sync(device);
    let start = Instant::now();
    for _ in 0..n / batch {
        let _out: Tensor = model.forward(&full)?;
    }
    if let Some(t) = &tail {
        let _out: Tensor = model.forward(t)?;
    }
    sync(device);
    Ok(start.elapsed().as_secs_f64())
}

/// Runs `cem` (progress off) and the same number of pure forward passes, alternating,
/// `repeats` times; reports the best time of each, which filters out the noise of a
/// shared machine.
pub fn bench(
    cem: &Cem,
    model: &dyn Model,
    hr: &RgbImage,
    task: &Task,
    roi: Roi,
    repeats: usize,
) -> Result<BenchReport> {
    let degradation = task.degradation(0)?;
    let input = degradation.degrade(hr)?;
    let scale = degradation.scale();
    // warm the model and the built-in library cache outside the timed region
    let _warm: Tensor = forward_checked(model, &to_tensor(&input, model.device()), scale)?;
    // locality off: this measures the engine's overhead per inference, on whole inputs
    let cem = cem.clone().progress(false).locality(false);
    let probe = cem
        .clone()
        .strategy(crate::engine::Strategy::Full { t: 1 })
        .block(hr.width());
    let _ = probe.run(model, hr, task, Roi::new(0, 0, 1));
    let mut runs = Vec::new();
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        let map = cem.run(model, hr, task, roi)?;
        sync(model.device());
        let map_seconds = start.elapsed().as_secs_f64();
        let forward = time_forward(model, &input, scale, map.inferences(), map.info.batch_size)?;
        runs.push((map_seconds, forward));
        last = Some(map);
    }
    let map = last.expect("at least one run");
    let best = |f: fn(&(f64, f64)) -> f64| runs.iter().map(f).fold(f64::INFINITY, f64::min);
    let (map_seconds, forward_seconds) = (best(|r| r.0), best(|r| r.1));
    let mut pair: Vec<f64> = runs.iter().map(|r| r.0 / r.1).collect();
    pair.sort_by(f64::total_cmp);
    let median_pair_ratio = if pair.len() % 2 == 1 {
        pair[pair.len() / 2]
    } else {
        (pair[pair.len() / 2 - 1] + pair[pair.len() / 2]) / 2.0
    };
    Ok(BenchReport {
        model: model.name(),
        device: map.info.device.clone(),
        strategy: map.info.strategy.clone(),
        degradation: map.info.degradation.clone(),
        inferences: map.inferences(),
        batch_size: map.info.batch_size,
        map_seconds,
        forward_seconds,
        ratio: map_seconds / forward_seconds,
        runs,
        median_pair_ratio,
    })
}
