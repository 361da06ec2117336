//! The wired glass-box scene (tests/engine.rs, tests/sampling.rs): a model whose only
//! non-ROI causes are two far cells, with effects of known sign.

use cem::map::CellKind;
use cem::prelude::*;

/// The scene's ROI (output pixels of the 64x64 image).
pub const ROI: Roi = Roi {
    x: 24,
    y: 24,
    size: 16,
};

/// The 64x64 ground truth: a crop of the cat photo with cells A (0, 0) and B (7, 7)
/// painted white.
pub fn truth() -> RgbImage {
    let mut hr = super::cat(100, 60, 64);
    for (r, c) in [(0u32, 0u32), (7, 7)] {
        for y in r * 8..r * 8 + 8 {
            for x in c * 8..c * 8 + 8 {
                hr.put_pixel(x, y, ::image::Rgb([255, 255, 255]));
            }
        }
    }
    hr
}

/// The mean (in [0, 1]) of 8x8 cell `(r, c)` of `hr` degraded by `task` (seed 0): the
/// model input's content there.
pub fn input_cell_mean(hr: &RgbImage, task: &Task, r: u32, c: u32) -> f64 {
    let input = task.degradation(0).unwrap().degrade(hr).unwrap();
    let crop = cem::image::crop(&input, c * 8, r * 8, 8, 8).unwrap();
    crop.as_raw().iter().map(|&v| v as f64 / 255.0).sum::<f64>() / 192.0
}

/// out = x, plus a shift of 0.3 (mean(A) - a0) on the left half of the ROI and of
/// 0.3 (mean(B) - b0) on its right half. The halves keep the two effects apart.
pub fn model(a0: f64, b0: f64) -> impl Model {
    let half = |from: u32| {
        let mut m = vec![0f32; 64 * 64];
        for y in ROI.y..ROI.y + ROI.size {
            for x in from..from + ROI.size / 2 {
                m[(y * 64 + x) as usize] = 1.0;
            }
        }
        Tensor::from_slice(&m).view([1, 1, 64, 64])
    };
    let (left, right) = (half(ROI.x), half(ROI.x + ROI.size / 2));
    FnModel::new("wired", Device::Cpu, move |x: &Tensor| {
        let cell_mean = |r: i64, c: i64| {
            x.narrow(2, r * 8, 8).narrow(3, c * 8, 8).mean_dim(
                [1i64, 2, 3].as_slice(),
                true,
                Kind::Float,
            )
        };
        x + &left * ((cell_mean(0, 0) - a0) * 0.3) + &right * ((cell_mean(7, 7) - b0) * 0.3)
    })
}

/// The scene as the tests use it: the ground truth, DN sigma 50, and the model with A's
/// input content "right" (its own mean: a positive effect) and B's "wrong" (0.4: a
/// negative effect).
pub fn scene() -> (RgbImage, Task, impl Model) {
    let (hr, task) = (truth(), Task::Dn { sigma: 50.0 });
    let a0 = input_cell_mean(&hr, &task, 0, 0);
    (hr, task, model(a0, 0.4))
}

/// Asserts the scene's classification: A positive, B negative, every other cell outside
/// the ROI exactly 0, after `samples` draws when given.
pub fn assert_signs(map: &cem::map::CausalEffectMap, samples: Option<u32>) {
    for cell in &map.cells {
        match (cell.row, cell.col) {
            (0, 0) => assert_eq!(cell.kind, CellKind::Positive, "A: {cell:?}"),
            (7, 7) => assert_eq!(cell.kind, CellKind::Negative, "B: {cell:?}"),
            _ if cell.kind == CellKind::Roi => {}
            _ => {
                assert_eq!(cell.effect_db, 0.0, "{cell:?}");
                if let Some(n) = samples {
                    assert_eq!(cell.samples, n, "{cell:?}");
                }
            }
        }
    }
}
