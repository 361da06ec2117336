//! The tasks for general models: `sr-up` and the four MIO degradations (blur, jpeg,
//! haze, lowlight), glass-box, and MIO training samples.

mod common;

use cem::degrade::resample::{cv2_inter_cubic, pil_bicubic};
use cem::degrade::{region, BicubicUpsampled, InputPatch};
use cem::prelude::*;
use cem::train::{mio, Photos, TrainTask};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::process::Command;

const ROI: Roi = Roi {
    x: 24,
    y: 24,
    size: 16,
};

fn truth() -> RgbImage {
    common::cat(100, 60, 64)
}

/// Every new task, with settings that exercise each path (a halo narrower and one
/// wider than a cell, lowlight with noise).
fn tasks() -> Vec<Task> {
    vec![
        Task::SrUp { scale: 4 },
        Task::SrUp { scale: 2 },
        Task::Blur {
            kernel: 7,
            sigma: 1.5,
        },
        Task::Blur {
            kernel: 21,
            sigma: 3.0,
        },
        Task::Jpeg { quality: 30 },
        Task::Haze {
            airlight: 0.9,
            beta: 1.8,
        },
        Task::Lowlight {
            gamma: 2.0,
            scale: 1.0,
            sigma: 0.0,
        },
        Task::Lowlight {
            gamma: 1.5,
            scale: 0.6,
            sigma: 8.0,
        },
    ]
}

/// The definition: paste the clean patch into the clean image and degrade the whole
/// image again (for sr-up: the patch's INTER_CUBIC downscale written into the LR,
/// and the whole LR upsampled again).
fn whole_image_reference(
    task: &Task,
    d: &dyn Degradation,
    hr: &RgbImage,
    patch: &RgbImage,
    at: PatchSite,
) -> RgbImage {
    match *task {
        Task::SrUp { scale } => {
            let (w, h) = hr.dimensions();
            let mut lr = pil_bicubic(hr, w / scale, h / scale);
            let b = patch.width() / scale;
            let small = cv2_inter_cubic(patch, b, b);
            image::imageops::replace(
                &mut lr,
                &small,
                (at.x / scale) as i64,
                (at.y / scale) as i64,
            );
            pil_bicubic(&lr, w, h)
        }
        _ => d.degrade(&region::paste(hr, patch, at).unwrap()).unwrap(),
    }
}

fn write(input: &RgbImage, p: &InputPatch) -> RgbImage {
    let mut out = input.clone();
    image::imageops::replace(&mut out, &p.pixels, p.x as i64, p.y as i64);
    out
}

#[test]
fn an_intervention_region_is_the_whole_image_degraded_again_bit_for_bit() {
    let hr = common::cat(40, 30, 48);
    let lib = common::coffee_library();
    for task in tasks() {
        let d = task.degradation(11).unwrap();
        assert_eq!(d.scale(), 1, "{task:?}");
        let input = d.degrade(&hr).unwrap();
        assert_eq!(input.dimensions(), hr.dimensions());
        let side = (8 + 2 * d.halo()).min(48);
        // corners, edges and the middle; the halo is clamped inside the image
        for (i, (x, y)) in [(0, 0), (40, 0), (16, 24), (40, 40), (0, 32), (24, 8)]
            .into_iter()
            .enumerate()
        {
            let patch = &lib.patches()[i * 37].pixels;
            let at = PatchSite {
                x,
                y,
                image_width: 48,
                image_height: 48,
            };
            let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
            let p = d.degrade_region(&hr, patch, at, &mut rng).unwrap();
            assert_eq!(p.pixels.dimensions(), (side, side), "{task:?}");
            let expected = whole_image_reference(&task, d.as_ref(), &hr, patch, at);
            assert_ne!(expected, input, "{task:?}: the patch changes something");
            assert!(
                write(&input, &p) == expected,
                "{task:?} at ({x}, {y}): the region path differs from the whole image"
            );
        }
    }
}

#[test]
fn jpeg_regions_match_at_partial_blocks_and_blocks_are_independent() {
    // 60 x 52: partial blocks on the right and bottom edges
    let hr = common::cat(10, 10, 60);
    let hr = cem::image::crop(&hr, 0, 0, 60, 52).unwrap();
    let d = Task::Jpeg { quality: 20 }.degradation(0).unwrap();
    let input = d.degrade(&hr).unwrap();
    let lib = common::coffee_library();
    for (x, y) in [(52, 44), (48, 40), (4, 12), (20, 16)] {
        let at = PatchSite {
            x,
            y,
            image_width: 60,
            image_height: 52,
        };
        let patch = &lib.patches()[(x + y) as usize].pixels;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let p = d.degrade_region(&hr, patch, at, &mut rng).unwrap();
        let expected = d.degrade(&region::paste(&hr, patch, at).unwrap()).unwrap();
        assert!(write(&input, &p) == expected, "at ({x}, {y})");
        // only the 8x8 blocks the cell touches change
        for (px, py, pixel) in expected.enumerate_pixels() {
            let last = |c: u32| c + 7; // the cell's last pixel
            let touched = |c: u32, p: u32| p / 8 >= c / 8 && p / 8 <= last(c) / 8;
            if !(touched(x, px) && touched(y, py)) {
                assert_eq!(
                    pixel,
                    input.get_pixel(px, py),
                    "({px}, {py}) for ({x}, {y})"
                );
            }
        }
    }
}

fn quiet() -> Cem {
    common::quiet_cem().seed(3)
}

/// The window one intervention on cell `i` of the 8 x 8 grid writes.
fn window(d: &dyn Degradation, i: u32) -> (u32, u32, u32, u32) {
    region::halo_window(((i % 8) * 8, (i / 8) * 8), 8, d.halo(), (64, 64))
}

fn overlaps((x, y, w, h): (u32, u32, u32, u32), grow: u32) -> bool {
    let (x0, y0) = (x.saturating_sub(grow), y.saturating_sub(grow));
    let (x1, y1) = (x + w + grow, y + h + grow);
    x0 < ROI.x + ROI.size && ROI.x < x1 && y0 < ROI.y + ROI.size && ROI.y < y1
}

#[test]
fn identity_model_gives_the_expected_map_for_every_task() {
    let hr = truth();
    let id = FnModel::new("identity", Device::Cpu, |x: &Tensor| x.shallow_clone());
    for task in tasks() {
        let d = task.degradation(3).unwrap();
        let map = quiet().run(&id, &hr, &task, ROI).unwrap();
        let input = d.degrade(&hr).unwrap();
        assert_eq!(
            map.info.original_psnr,
            roi_psnr(&input, &hr, ROI).unwrap(),
            "{task:?}"
        );
        let mut reached = 0;
        for c in &map.cells {
            let i = c.row * 8 + c.col;
            if c.kind == CellKind::Roi {
                continue;
            }
            let w = window(d.as_ref(), i);
            // JPEG: 8-aligned cells touch only their own block, whatever the halo
            let jpeg = matches!(task, Task::Jpeg { .. });
            if !overlaps(w, 0) || jpeg || d.halo() == 0 {
                assert_eq!(c.effect_db, 0.0, "{task:?} cell {i}");
                assert_eq!(c.kind, CellKind::None, "{task:?} cell {i}");
            } else if c.effect_db != 0.0 {
                reached += 1;
            }
        }
        // the identity passes the halo into the ROI: the 12 bordering cells matter
        if d.halo() > 0 && !matches!(task, Task::Jpeg { .. }) {
            assert!(reached >= 10, "{task:?}: {reached} cells reach the ROI");
        }
    }
}

#[test]
fn cells_beyond_the_halo_plus_the_receptive_field_have_exactly_zero_effect() {
    let hr = truth();
    let k = 3u32;
    let model = FnModel::new("box7", Device::Cpu, move |x: &Tensor| {
        x.avg_pool2d([7, 7], [1, 1], [3, 3], false, false, None::<i64>)
    });
    for task in [
        Task::SrUp { scale: 4 },
        Task::Blur {
            kernel: 7,
            sigma: 1.5,
        },
        Task::Jpeg { quality: 30 },
        Task::Haze {
            airlight: 0.9,
            beta: 1.8,
        },
        Task::Lowlight {
            gamma: 1.5,
            scale: 0.6,
            sigma: 8.0,
        },
    ] {
        let d = task.degradation(3).unwrap();
        let whole = quiet()
            .locality(false)
            .run(&model, &hr, &task, ROI)
            .unwrap();
        let local = quiet().run(&model, &hr, &task, ROI).unwrap();
        let mut near = 0;
        for (c, l) in whole.cells.iter().zip(&local.cells) {
            let i = c.row * 8 + c.col;
            if c.kind == CellKind::Roi {
                continue;
            }
            if !overlaps(window(d.as_ref(), i), k) {
                assert_eq!(c.effect_db, 0.0, "{task:?} cell {i}");
                assert_eq!(l.effect_db, 0.0, "{task:?} cell {i} (locality crop)");
            } else if c.effect_db != 0.0 {
                near += 1;
            }
            // the locality crop (halo clipped at its edge) gives the same effects
            assert!(
                (c.effect_db - l.effect_db).abs() < 1e-9,
                "{task:?} cell {i}: {} vs {}",
                c.effect_db,
                l.effect_db
            );
        }
        // at least the 8 cells sharing an edge with the ROI (corners may stay under tol)
        assert!(near >= 8, "{task:?}: {near} cells within reach matter");
        let loc = local
            .info
            .locality
            .as_ref()
            .expect("the locality check ran");
        assert!(loc.local, "{task:?}: {loc:?}");
    }
}

#[test]
fn a_halo_wider_than_a_cell_runs_on_the_whole_input() {
    let model = FnModel::new("identity", Device::Cpu, |x: &Tensor| x.shallow_clone());
    let task = Task::Blur {
        kernel: 21,
        sigma: 3.0,
    };
    let map = quiet().run(&model, &truth(), &task, ROI).unwrap();
    assert_eq!(map.info.locality, None);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let e = Task::parse("deblur", 4, 50.0).unwrap_err().to_string();
    assert!(e.contains("deblur") && e.contains("jpeg"), "{e}");
    let e = Task::parse("jpeg:quality=0", 4, 50.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("quality") && e.contains("= 0"), "{e}");
    assert!(cem::degrade::Jpeg::new(0).is_err());
    let e = Task::parse("blur:kernel=8", 4, 50.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("kernel") && e.contains('8'), "{e}");
    let e = Task::parse("haze:fog=1", 4, 50.0).unwrap_err().to_string();
    assert!(e.contains("fog"), "{e}");
    // an image the SR scale does not divide
    let odd = RgbImage::new(62, 64);
    let e = BicubicUpsampled::new(4)
        .unwrap()
        .degrade(&odd)
        .unwrap_err()
        .to_string();
    assert!(e.contains("62"), "{e}");
    // a halo degradation asked for a bare patch
    let d = Task::Blur {
        kernel: 7,
        sigma: 1.0,
    }
    .degradation(0)
    .unwrap();
    let site = PatchSite {
        x: 0,
        y: 0,
        image_width: 64,
        image_height: 64,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let e = d
        .degrade_patch(&RgbImage::new(8, 8), site, &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("blur") && e.contains("degrade_region"), "{e}");
    // a patch site outside the ground truth
    let site = PatchSite { x: 60, ..site };
    let e = d
        .degrade_region(&truth(), &RgbImage::new(8, 8), site, &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("60"), "{e}");
    // the CLI names the bad task
    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args([
            "map",
            "--model",
            "none.pt",
            "--image",
            "none.png",
            "--task",
            "jpeg:quality=0",
        ])
        .args(["--roi", "0,0,8", "--out", "/nonexistent/never"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && err.contains("quality"), "{err}");
}

#[test]
fn mio_samples_cover_the_seven_tasks_equally_at_full_size() {
    let hr = common::cat(0, 0, 32);
    let mut counts = std::collections::BTreeMap::new();
    for seed in 0..350u64 {
        let task = mio::sample_task(4, seed);
        *counts.entry(task.name()).or_insert(0) += 1;
        if seed < 28 {
            let x = mio::degrade(&hr, 4, seed).unwrap();
            assert_eq!(x.dimensions(), (32, 32), "{task:?}");
        }
    }
    assert_eq!(counts.len(), 7, "{counts:?}");
    for name in mio::TASKS {
        let n = counts[name];
        assert!((30..=70).contains(&n), "{name}: {n} of 350");
    }
    let task = TrainTask::parse("mio", 4, 50.0).unwrap();
    assert_eq!((task.net_scale(), task.name()), (1, "mio"));
    let photos = Photos::builtin_train().unwrap();
    let (x, y) = photos.batch(&task, 14, 32, 5, Device::Cpu).unwrap();
    assert_eq!(x.size(), vec![14, 3, 32, 32]);
    assert_eq!(y.size(), x.size());
    // task_of gives sample_task's settings when asked for the task sample_task drew
    for seed in 0..350u64 {
        let drawn = mio::sample_task(4, seed);
        let index = mio::TASKS.iter().position(|n| *n == drawn.name()).unwrap();
        assert_eq!(mio::task_of(index, 4, seed).unwrap(), drawn, "seed {seed}");
    }
}

#[test]
fn mio_validation_gives_every_task_its_own_crops_in_order() {
    let task = TrainTask::parse("mio", 4, 50.0).unwrap();
    let photos = Photos::builtin_validation().unwrap();
    let (x, y) = photos
        .validation_batch(&task, 2, 32, 9, Device::Cpu)
        .unwrap();
    assert_eq!(x.size(), vec![14, 3, 32, 32]);
    let mean = |t: &Tensor, i: i64| t.get(i).mean(tch::Kind::Float).double_value(&[]);
    let diff = |i: i64| {
        (x.get(i) - y.get(i))
            .abs()
            .mean(tch::Kind::Float)
            .double_value(&[])
    };
    for i in 0..14 {
        // every crop is degraded (no task leaves its input unchanged)
        assert!(diff(i) > 1e-3, "crop {i}: {}", diff(i));
    }
    // crops 12-13: low light (gamma > 1) darkens; crops 10-11: haze lightens
    for i in [12, 13] {
        assert!(mean(&x, i) < mean(&y, i), "crop {i}");
    }
    for i in [10, 11] {
        assert!(mean(&x, i) > mean(&y, i), "crop {i}");
    }
    // single tasks keep the plain batch
    let dn = TrainTask::parse("dn", 4, 50.0).unwrap();
    let (a, _) = photos.validation_batch(&dn, 3, 32, 9, Device::Cpu).unwrap();
    let (b, _) = photos.batch(&dn, 3, 32, 9, Device::Cpu).unwrap();
    assert!(a.equal(&b));
}

#[test]
fn cem_map_runs_sr_up_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("box.pt");
    common::save_box_model(&model);
    let image = dir.path().join("hr.png");
    save_rgb(&truth(), &image).unwrap();
    let out = dir.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(["map", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(&image)
        .args([
            "--task",
            "sr-up",
            "--scale",
            "2",
            "--roi",
            "24,24,16",
            "--strategy",
            "c2f10",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let map = cem::map::load(&out).unwrap();
    assert_eq!((map.info.task.as_str(), map.info.scale), ("sr-up", 1));
    // --scale is the downscale factor of sr-up (the model itself runs at scale 1)
    assert_eq!(map.info.degradation["scale"], 2);
    assert!(map.cells.iter().any(|c| c.effect_db != 0.0));
    let input = load_rgb(out.join(cem::map::INPUT_NAME)).unwrap();
    assert_eq!(
        input,
        BicubicUpsampled::new(2).unwrap().degrade(&truth()).unwrap()
    );
}
