//! Multiple-in-one (MIO) training samples: the seven tasks of Kong et al. (2024),
//! equally mixed, each sample's settings drawn from the authors' ranges.
//!
//! Per sample, one task with probability 1/7 each, all at network scale 1:
//!
//! | task       | settings drawn per sample (MIO data script)                       |
//! |------------|-------------------------------------------------------------------|
//! | `sr-up`    | the trainer's SR scale (MIO: x4), upsampled back                   |
//! | `blur`     | kernel side from {7, 9, ..., 21}, sigma from U(1, 3)               |
//! | `dn`       | sigma from U(15, 50), rounded to an integer level                  |
//! | `jpeg`     | quality from U(30, 70), rounded                                    |
//! | `dr`       | `cem`'s synthetic "medium" rain (the authors use their own streaks) |
//! | `haze`     | airlight from U(0.8, 1), beta from U(0.5, 2.5), seeded depth field  |
//! | `lowlight` | gamma from U(1, 3)                                                 |
//!
//! ```
//! use cem::train::mio;
//! let task = mio::sample_task(4, 7);
//! assert!(mio::TASKS.contains(&task.name()));
//! ```

use crate::degrade::Task;
use crate::error::Result;
use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The seven task names, in the order [`sample_task`] numbers them.
pub const TASKS: [&str; 7] = ["sr-up", "blur", "dn", "jpeg", "dr", "haze", "lowlight"];

/// The task (with settings) of the MIO sample seeded by `seed`; `scale` is the SR
/// samples' scale.
pub fn sample_task(scale: u32, seed: u64) -> Task {
    let (index, mut rng) = draw(seed);
    settings(index, scale, &mut rng)
}

/// The task `TASKS[index]` with its settings drawn from `seed` as [`sample_task`] draws
/// them: the validation's way of giving every task the same number of crops.
///
/// ```
/// use cem::train::mio;
/// for (i, name) in mio::TASKS.iter().enumerate() {
///     assert_eq!(mio::task_of(i, 4, 11).unwrap().name(), *name);
/// }
/// assert!(mio::task_of(7, 4, 11).is_err());
/// ```
pub fn task_of(index: usize, scale: u32, seed: u64) -> Result<Task> {
    if index >= TASKS.len() {
        return Err(crate::error::Error::invalid(
            "MIO task index",
            index,
            format!("must be below {}", TASKS.len()),
        ));
    }
    let (_drawn, mut rng) = draw(seed);
    Ok(settings(index, scale, &mut rng))
}

/// The task number `seed` draws, and the generator its settings are then drawn from.
fn draw(seed: u64) -> (usize, ChaCha8Rng) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x006d_696f);
    // an i32 draw, as from the first version on (a usize draw would give other tasks)
    let index = rng.gen_range(0..TASKS.len() as i32) as usize;
    (index, rng)
}

/// Task number `index` with the settings drawn from `rng`.
fn settings(index: usize, scale: u32, rng: &mut ChaCha8Rng) -> Task {
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    match index {
        0 => Task::SrUp { scale },
        1 => Task::Blur {
            kernel: 2 * rng.gen_range(3..=10) + 1,
            sigma: round2(rng.gen_range(1.0..3.0)),
        },
        2 => Task::Dn {
            sigma: rng.gen_range(15.0f64..50.0).round(),
        },
        3 => Task::Jpeg {
            quality: rng.gen_range(30.0f64..70.0).round() as u8,
        },
        4 => Task::Dr,
        5 => Task::Haze {
            airlight: round2(rng.gen_range(0.8..1.0)),
            beta: round2(rng.gen_range(0.5..2.5)),
        },
        _ => Task::Lowlight {
            gamma: round2(rng.gen_range(1.0..3.0)),
            scale: 1.0,
            sigma: 0.0,
        },
    }
}

/// The network input (full size) of the MIO sample for ground truth `hr`.
pub fn degrade(hr: &RgbImage, scale: u32, seed: u64) -> Result<RgbImage> {
    sample_task(scale, seed).degradation(seed)?.degrade(hr)
}
