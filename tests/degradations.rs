//! Degradations and how interventions carry them.

use cem::degrade::{Degradation, PatchSite, Rain};
use cem::prelude::*;
use rand::{RngCore, SeedableRng};

fn photo(w: u32, h: u32) -> RgbImage {
    let cat = cem::library::builtin_photo("chelsea.png").unwrap();
    cem::image::crop(&cat, 20, 30, w, h).unwrap()
}

fn site(x: u32, y: u32, img: &RgbImage) -> PatchSite {
    PatchSite {
        x,
        y,
        image_width: img.width(),
        image_height: img.height(),
    }
}

#[test]
fn rain_settings_follow_the_medium_distribution() {
    let params: Vec<_> = (0..400).map(|s| Rain::medium(s).params()).collect();
    for p in &params {
        assert!((0.005..0.007).contains(&p.amount), "{p:?}");
        assert!((35..=45).contains(&p.length), "{p:?}");
        assert!((-30..=30).contains(&p.angle), "{p:?}");
        assert!((0.6..1.0).contains(&p.beta), "{p:?}");
        assert!([3, 5, 7].contains(&p.width), "{p:?}");
    }
    let share = |w: u32| params.iter().filter(|p| p.width == w).count() as f64 / 400.0;
    // 0.25 / 0.5 / 0.25, each within 4 standard errors (sd of a share at n=400 is <= 0.025)
    assert!(
        (share(3) - 0.25).abs() < 0.09
            && (share(5) - 0.5).abs() < 0.1
            && (share(7) - 0.25).abs() < 0.09
    );
    let angles: Vec<i32> = params.iter().map(|p| p.angle).collect();
    assert!(angles.iter().any(|&a| a < -20) && angles.iter().any(|&a| a > 20));
}

/// The streak angle from vertical (positive: top leans left) from the structure tensor.
fn streak_angle(layer: &[u8], w: usize, h: usize) -> f64 {
    let (mut gxx, mut gyy, mut gxy) = (0.0, 0.0, 0.0);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            // Scharr derivatives: far more isotropic than central differences
            let v = |x: usize, y: usize| layer[y * w + x] as f64;
            let gx = 3.0 * (v(x + 1, y - 1) - v(x - 1, y - 1) + v(x + 1, y + 1) - v(x - 1, y + 1))
                + 10.0 * (v(x + 1, y) - v(x - 1, y));
            let gy = 3.0 * (v(x - 1, y + 1) - v(x - 1, y - 1) + v(x + 1, y + 1) - v(x + 1, y - 1))
                + 10.0 * (v(x, y + 1) - v(x, y - 1));
            gxx += gx * gx;
            gyy += gy * gy;
            gxy += gx * gy;
        }
    }
    // dominant gradient orientation; streaks run perpendicular to it
    let theta = 0.5 * (2.0 * gxy).atan2(gxx - gyy);
    -theta.to_degrees()
}

#[test]
fn rain_layers_have_the_drawn_angle_and_sparse_streaks() {
    for seed in [1u64, 2, 3, 4, 5, 6] {
        let rain = Rain::medium(seed);
        let p = rain.params();
        let layer = rain.layer(160, 160);
        let angle = streak_angle(&layer.values, 160, 160);
        eprintln!(
            "seed {seed}: drawn {}°, measured {angle:.1}°, {p:?}",
            p.angle
        );
        assert!(
            (angle - p.angle as f64).abs() < 2.5,
            "seed {seed}: {angle} vs {}",
            p.angle
        );
        // min-max normalised to the full u8 range
        assert_eq!(layer.values.iter().min(), Some(&0));
        assert_eq!(layer.values.iter().max(), Some(&255));
        // streaks are a minority of bright pixels over a dark background
        let bright =
            layer.values.iter().filter(|&&v| v >= 128).count() as f64 / layer.values.len() as f64;
        assert!(bright > 0.0005 && bright < 0.2, "seed {seed}: {bright}");
    }
}

#[test]
fn rain_is_reapplied_to_an_intervened_cell() {
    let hr = photo(64, 64);
    let rain = Rain::medium(9);
    let rainy = rain.degrade(&hr).unwrap();
    let beta = rain.params().beta;
    let layer = rain.layer(64, 64);
    // I = cv2.addWeighted(I_hr, 1, L, beta, 0): in f32, rounded to nearest, saturated
    let mut rounded_up = 0;
    for (i, (&a, &b)) in hr.as_raw().iter().zip(rainy.as_raw()).enumerate() {
        let l = layer.values[i / 3] as f32;
        let exact = a as f32 + l * beta as f32;
        assert_eq!(b, exact.round_ties_even().clamp(0.0, 255.0) as u8);
        rounded_up += (exact < 255.0 && b as f32 > exact) as usize;
    }
    // truncation would never round up
    assert!(rounded_up > 0);
    // the clean cell, re-rained at its site, is the rainy cell
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for (x, y) in [(0, 0), (16, 40), (56, 56)] {
        let clean = cem::image::crop(&hr, x, y, 8, 8).unwrap();
        let got = rain
            .degrade_patch(&clean, site(x, y, &hr), &mut rng)
            .unwrap();
        assert_eq!(got, cem::image::crop(&rainy, x, y, 8, 8).unwrap());
    }
    // outside the image is an error naming the site
    let clean = cem::image::crop(&hr, 0, 0, 8, 8).unwrap();
    assert!(rain
        .degrade_patch(&clean, site(60, 0, &hr), &mut rng)
        .is_err());
}

#[test]
fn noise_patches_are_fresh_draws_and_sr_patches_shrink_by_the_scale() {
    let hr = photo(64, 64);
    let patch = cem::image::crop(&hr, 8, 8, 8, 8).unwrap();
    let dn = GaussianNoise::new(50.0, 0).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let a = dn.degrade_patch(&patch, site(8, 8, &hr), &mut rng).unwrap();
    let b = dn.degrade_patch(&patch, site(8, 8, &hr), &mut rng).unwrap();
    assert_eq!(a.dimensions(), (8, 8));
    assert_ne!(a, b, "each intervention draws its own noise");
    let sr = Bicubic::new(4).unwrap();
    let small = sr.degrade_patch(&patch, site(8, 8, &hr), &mut rng).unwrap();
    assert_eq!(small.dimensions(), (2, 2));
    assert_eq!(sr.degrade(&hr).unwrap().dimensions(), (16, 16));
    assert!(
        Bicubic::new(3).unwrap().degrade(&hr).is_err(),
        "64 is not a multiple of 3"
    );
    assert!(Bicubic::new(3)
        .unwrap()
        .degrade_patch(&patch, site(0, 0, &hr), &mut rng)
        .is_err());
}

/// A user-defined degradation: halve the brightness.
struct Dim;

impl Degradation for Dim {
    fn name(&self) -> String {
        "dim".into()
    }
    fn degrade(&self, hr: &RgbImage) -> cem::Result<RgbImage> {
        let raw = hr.as_raw().iter().map(|v| v / 2).collect();
        Ok(RgbImage::from_raw(hr.width(), hr.height(), raw).unwrap())
    }
    fn degrade_patch(
        &self,
        patch: &RgbImage,
        _at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> cem::Result<RgbImage> {
        self.degrade(patch)
    }
    fn describe(&self) -> serde_json::Value {
        serde_json::json!({"name": "dim"})
    }
}

#[test]
fn a_user_degradation_plugs_into_the_engine() {
    let hr = photo(64, 64);
    // "restores" by doubling, each output pixel from its own input pixel only
    let model = FnModel::new("double", Device::Cpu, |x: &Tensor| x * 2.0);
    let lib = Library::from_images(&[("cat".into(), photo(64, 64))], 100, 8, 0).unwrap();
    let map = Cem::coarse_to_fine()
        .library(lib)
        .progress(false)
        .run_with(&model, &hr, &Dim, Roi::new(16, 16, 16))
        .unwrap();
    assert_eq!(map.info.task, "dim");
    assert!(map
        .cells
        .iter()
        .all(|c| c.kind == CellKind::Roi || c.kind == CellKind::None));
}
