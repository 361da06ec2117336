//! Black-box locality detection and cropped evaluation.

mod common;

use cem::engine::Locality;
use cem::map::Stage;
use cem::prelude::*;

fn truth() -> RgbImage {
    common::cat(40, 40, 96)
}

const ROI: Roi = Roi {
    x: 40,
    y: 40,
    size: 16,
};

fn base() -> Cem {
    common::quiet_cem()
}

/// Output pixel = mean of the (2r+1)^2 window around it: receptive radius r.
fn box_model(r: i64) -> impl Model {
    FnModel::new(format!("box{r}"), Device::Cpu, move |x: &Tensor| {
        x.avg_pool2d(
            [2 * r + 1, 2 * r + 1],
            [1, 1],
            [r, r],
            false,
            false,
            None::<i64>,
        )
    })
}

fn locality(map: &CausalEffectMap) -> Locality {
    map.info.locality.clone().expect("the locality check ran")
}

#[test]
fn a_known_radius_is_detected_to_the_block() {
    let task = Task::Dn { sigma: 50.0 };
    for (r, cells) in [(1, 1), (3, 1), (8, 1), (9, 2), (16, 2), (17, 3)] {
        let map = base()
            .fine(5)
            .run(&box_model(r), &truth(), &task, ROI)
            .unwrap();
        let loc = locality(&map);
        assert!(loc.local, "radius {r}: {loc:?}");
        assert_eq!(
            loc.margin_cells,
            Some(cells),
            "radius {r}: {:?}",
            loc.trials
        );
        let crop = loc.crop.unwrap();
        assert_eq!(
            (crop.width, crop.height),
            (16 + 16 * cells, 16 + 16 * cells)
        );
    }
}

#[test]
fn a_global_term_is_detected_as_global() {
    // local smoothing plus a small share of the whole image's mean (global pooling)
    let model = FnModel::new("pooled", Device::Cpu, |x: &Tensor| {
        let local = x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>);
        let global = x.mean_dim([2i64, 3].as_slice(), true, Kind::Float);
        local * 0.8 + global * 0.2
    });
    let map = base()
        .fine(5)
        .run(&model, &truth(), &Task::Dn { sigma: 50.0 }, ROI)
        .unwrap();
    let loc = locality(&map);
    assert!(!loc.local && loc.crop.is_none(), "{loc:?}");
    assert!(!loc.trials.is_empty() && loc.trials.iter().all(|t| !t.passed));
    // every cell was evaluated on the whole image
    assert!(map.cells.iter().all(|c| c.stage != Stage::Skipped));
}

#[test]
fn cropped_maps_equal_uncropped_maps_cell_for_cell() {
    let hr = truth();
    for task in [Task::Dn { sigma: 50.0 }, Task::Sr { scale: 2 }, Task::Dr] {
        let model: Box<dyn Model> = match task {
            Task::Sr { .. } => Box::new(FnModel::new("up-box", Device::Cpu, |x: &Tensor| {
                x.avg_pool2d([5, 5], [1, 1], [2, 2], false, false, None::<i64>)
                    .upsample_nearest2d([x.size()[2] * 2, x.size()[3] * 2], None, None)
            })),
            _ => Box::new(box_model(5)),
        };
        let cropped = base().run(&model, &hr, &task, ROI).unwrap();
        let whole = base().locality(false).run(&model, &hr, &task, ROI).unwrap();
        assert!(locality(&cropped).local, "{task:?}");
        assert_eq!(whole.info.locality, None);
        let skipped = cropped
            .cells
            .iter()
            .filter(|c| c.stage == Stage::Skipped)
            .count();
        assert!(skipped > 0, "{task:?}: the crop left cells out");
        for (a, b) in cropped.cells.iter().zip(&whole.cells) {
            assert_eq!(
                (a.effect_db, a.kind),
                (b.effect_db, b.kind),
                "{task:?} cell {},{}",
                a.row,
                a.col
            );
            if a.stage != Stage::Skipped {
                assert_eq!(a, b);
            }
        }
        assert_eq!(cropped.info.original_psnr, whole.info.original_psnr);
        assert!(
            cropped.info.stages[&cem::map::RunStage::Coarse].inferences
                < whole.info.stages[&cem::map::RunStage::Coarse].inferences
        );
    }
}

#[test]
fn crops_respect_a_models_size_multiple() {
    // a model that refuses inputs whose sides are not multiples of 24 px
    let picky = FnModel::new("picky", Device::Cpu, |x: &Tensor| {
        let (h, w) = (x.size()[2], x.size()[3]);
        assert!(
            h % 24 == 0 && w % 24 == 0,
            "input {h}x{w} is not a multiple of 24"
        );
        x.avg_pool2d([5, 5], [1, 1], [2, 2], false, false, None::<i64>)
    });
    let map = base()
        .fine(5)
        .size_multiple(24)
        .run(&picky, &truth(), &Task::Dn { sigma: 50.0 }, ROI)
        .unwrap();
    let loc = locality(&map);
    let crop = loc.crop.expect("local");
    assert_eq!((crop.width % 24, crop.height % 24), (0, 0), "{crop:?}");
    assert_eq!(loc.margin_cells, Some(1));
    // without the setting, the first crop (32 px) makes the model fail: a clear error
    let err = base()
        .fine(5)
        .run(&picky, &truth(), &Task::Dn { sigma: 50.0 }, ROI);
    assert!(err.is_err() || !locality(&err.unwrap()).trials[0].passed);
}

/// Identity lifted to half a u8 level, nudged by +-1e-6 depending on whether the
/// input is the whole image: every rounded value flips between crop and whole image,
/// yet nothing outside a pixel reaches it (float rounding of a local model, enlarged).
fn flipping_model(whole_width: i64) -> impl Model {
    FnModel::new("flips", Device::Cpu, move |x: &Tensor| {
        let nudge = if x.size()[3] == whole_width {
            1e-6
        } else {
            -1e-6
        };
        x + (0.5 / 255.0 + nudge)
    })
}

#[test]
fn rounding_flips_between_crop_and_whole_image_are_not_non_locality() {
    let hr = truth();
    let map = base()
        .fine(2)
        .run(&flipping_model(96), &hr, &Task::Dn { sigma: 50.0 }, ROI)
        .unwrap();
    let loc = locality(&map);
    assert!(loc.local, "{loc:?}");
    assert_eq!(loc.margin_cells, Some(1), "{:?}", loc.trials);
    // the crop's u8 output did differ: the flips were seen and explained by rounding
    assert!(loc.trials[0].u8_flips > 0, "{:?}", loc.trials);
    assert!(loc.trials[0].max_diff_levels < loc.tolerance_levels);
}

#[test]
fn the_locality_check_respects_the_batch_size() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;
    let largest = Arc::new(AtomicI64::new(0));
    let seen = largest.clone();
    let model = FnModel::new("box-count", Device::Cpu, move |x: &Tensor| {
        seen.fetch_max(x.size()[0], Ordering::SeqCst);
        x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)
    });
    for n in [1, 3] {
        largest.store(0, Ordering::SeqCst);
        let map = base()
            .batch_size(n)
            .coarse(1)
            .fine(1)
            .run(&model, &truth(), &Task::Dn { sigma: 50.0 }, ROI)
            .unwrap();
        assert!(locality(&map).local);
        assert_eq!(largest.load(Ordering::SeqCst), n as i64, "batch size {n}");
    }
}
