//! LAM, its blur path and Gini index, the single-pixel experiment and ATE traces,
//! on glass-box models with closed forms and tiny convolutional models.

use cem::attrib::{blur_path, filter2d, gaussian_kernel, path_kernels, Lam, Objective, StoredLam};
use cem::prelude::*;
use ndarray::{Array2, Array3};

/// Deterministic pseudo-random values in [0, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32) / (1u64 << 24) as f32
        })
        .collect()
}

fn image(c: usize, h: usize, w: usize, seed: u64) -> Array3<f64> {
    Array3::from_shape_vec((c, h, w), values(c * h * w, seed))
        .unwrap()
        .mapv(|v| v as f64)
}

fn to_t(a: &Array3<f64>) -> Tensor {
    let (c, h, w) = a.dim();
    Tensor::from_slice(a.as_slice().unwrap()).view([c as i64, h as i64, w as i64])
}

fn from_t(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).contiguous().view([-1])).unwrap()
}

/// OpenCV's BORDER_REFLECT_101 index.
fn reflect101(i: i64, n: i64) -> usize {
    let mut i = i;
    while i < 0 || i >= n {
        if i < 0 {
            i = -i;
        }
        if i >= n {
            i = 2 * (n - 1) - i;
        }
    }
    i as usize
}

/// filter2D by hand: correlation, anchor l/2, reflect-101 border.
fn filter2d_host(x: &Array3<f64>, k: &Array2<f64>) -> Array3<f64> {
    let (c, h, w) = x.dim();
    let l = k.nrows() as i64;
    let a = l / 2;
    Array3::from_shape_fn((c, h, w), |(ch, y, xx)| {
        let mut s = 0.0;
        for i in 0..l {
            for j in 0..l {
                let yy = reflect101(y as i64 + i - a, h as i64);
                let xj = reflect101(xx as i64 + j - a, w as i64);
                s += k[[i as usize, j as usize]] * x[[ch, yy, xj]];
            }
        }
        s
    })
}

fn rgb_from(a: &Array3<f64>) -> RgbImage {
    let (_, h, w) = a.dim();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        ::image::Rgb([0, 1, 2].map(|c| {
            (a[[c, y as usize, x as usize]] * 255.0)
                .round()
                .clamp(0.0, 255.0) as u8
        }))
    })
}

#[test]
fn blur_kernels_match_hand_values() {
    // l = 3, sigma 1: weights e^{-d^2 / (2 (1 + 1e-5)^2)} on -1..=1, normalised
    let k = gaussian_kernel(3, 1.0);
    let a = 1.0 / (2.0 * (1.0f64 + 1e-5).powi(2));
    let (e1, e2) = ((-a).exp(), (-2.0 * a).exp());
    let total = 1.0 + 4.0 * e1 + 4.0 * e2;
    assert!((k[[1, 1]] - 1.0 / total).abs() < 1e-15);
    assert!((k[[0, 1]] - e1 / total).abs() < 1e-15);
    assert!((k[[2, 2]] - e2 / total).abs() < 1e-15);
    // l = 9: grid -4..=4, peak in the middle, symmetric
    let k9 = gaussian_kernel(9, 1.2);
    assert_eq!(k9.dim(), (9, 9));
    let s = 1.2 + 1e-5;
    let expect = |d2: f64| (-d2 / (2.0 * s * s)).exp();
    assert!((k9[[0, 0]] / k9[[4, 4]] - expect(32.0)).abs() < 1e-15);
    assert!((k9[[4, 8]] / k9[[4, 4]] - expect(16.0)).abs() < 1e-15);
    // l = 4: Python's (-4)//2 + 1 = -1, so the grid is -1..=2 and the peak at [1, 1]
    let k4 = gaussian_kernel(4, 1.0);
    assert!(k4[[1, 1]] > k4[[2, 2]] && (k4[[0, 1]] - k4[[2, 1]]).abs() < 1e-15);
    assert!((k4[[3, 1]] / k4[[1, 1]] - (-4.0 * a).exp()).abs() < 1e-15);
    // the path: sigma_k = linspace(1.2, 0, 51); the last kernel is a delta
    let ks = path_kernels(1.2, 50, 9);
    assert_eq!(ks.len(), 51);
    assert!((ks[1][[4, 4]] - gaussian_kernel(9, 1.2 * 49.0 / 50.0)[[4, 4]]).abs() < 1e-15);
    assert_eq!(ks[50][[4, 4]], 1.0);
    assert_eq!(ks[50].sum(), 1.0);
}

#[test]
fn filter2d_and_path_images_match_hand_computation() {
    let x = image(3, 7, 6, 1);
    for l in [3usize, 4, 5, 9] {
        // a lopsided kernel so correlation and convolution differ
        let mut k = gaussian_kernel(l, 0.9);
        k[[0, l - 1]] += 0.3;
        let got = from_t(&filter2d(&to_t(&x), std::slice::from_ref(&k)).unwrap());
        let want = filter2d_host(&x, &k);
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((g - w).abs() < 1e-12, "l={l}: {g} vs {w}");
        }
    }
    // path points and derivatives
    let (fold, l) = (4usize, 5usize);
    let ks = path_kernels(1.2, fold, l);
    let (points, derivs) = blur_path(&to_t(&x), 1.2, fold, l, Device::Cpu).unwrap();
    assert_eq!(points.size(), vec![4, 3, 7, 6]);
    for k in 0..fold {
        let p = from_t(&points.get(k as i64));
        let d = from_t(&derivs.get(k as i64));
        let want_p = filter2d_host(&x, &ks[k + 1]);
        let want_d = filter2d_host(&x, &((&ks[k + 1] - &ks[k]) * fold as f64));
        for (g, w) in p.iter().zip(want_p.iter()) {
            assert!((g - w).abs() < 1e-6, "point {k}");
        }
        for (g, w) in d.iter().zip(want_d.iter()) {
            assert!((g - w).abs() < 1e-5, "derivative {k}");
        }
    }
    // a kernel wider than the image cannot use reflect-101
    let small = image(3, 3, 3, 2);
    let err = filter2d(&to_t(&small), &[gaussian_kernel(9, 1.0)]).unwrap_err();
    assert!(err.to_string().contains("kernel side l"), "{err}");
}

/// A fixed 3x3 convolution, 3 -> 3 channels, zero padding 1.
fn conv_weights() -> Vec<f32> {
    values(81, 7).iter().map(|v| v - 0.5).collect()
}

fn linear_model() -> FnModel<impl Fn(&Tensor) -> Tensor> {
    let w = Tensor::from_slice(&conv_weights()).view([3, 3, 3, 3]);
    FnModel::new("conv3", Device::Cpu, move |x: &Tensor| {
        x.conv2d(&w, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1)
    })
}

#[test]
fn linear_glass_box_attribution_has_closed_form() {
    let (h, w) = (16usize, 18usize);
    let x = image(3, h, w, 3);
    let roi = Roi::new(5, 4, 6);
    let lam = Lam::new().objective(Objective::Id);
    let got = lam
        .attribution(&linear_model(), &to_t(&x).to_kind(Kind::Float), roi)
        .unwrap();
    // d(sum of the window)/dx[ci, p, q] = sum over co and window pixels (i, j) of
    // W[co, ci, p - i + 1, q - j + 1]
    let wt = conv_weights();
    let weight =
        |co: usize, ci: usize, u: usize, v: usize| wt[((co * 3 + ci) * 3 + u) * 3 + v] as f64;
    let grad = Array3::from_shape_fn((3, h, w), |(ci, p, q)| {
        let mut s = 0.0;
        for co in 0..3 {
            for i in roi.y as usize..(roi.y + roi.size) as usize {
                for j in roi.x as usize..(roi.x + roi.size) as usize {
                    let (u, v) = (p as i64 - i as i64 + 1, q as i64 - j as i64 + 1);
                    if (0..3).contains(&u) && (0..3).contains(&v) {
                        s += weight(co, ci, u as usize, v as usize);
                    }
                }
            }
        }
        s
    });
    // the derivatives telescope: mean_k (K_{k+1} - K_k) * fold = K_fold - K_0
    let k0 = gaussian_kernel(9, 1.2);
    let expected = &grad * &(&x - &filter2d_host(&x, &k0));
    let mut worst = 0.0f64;
    for (g, e) in got.iter().zip(expected.iter()) {
        worst = worst.max((*g as f64 - e).abs());
    }
    assert!(worst < 1e-5, "max |LAM - closed form| = {worst}");
    assert!(expected.iter().any(|v| v.abs() > 1e-2), "non-trivial case");
    // the map is |sum over channels| / max
    let map = Lam::new()
        .objective(Objective::Id)
        .run(&linear_model(), &rgb_from(&x), roi)
        .unwrap();
    let m = map.map();
    assert_eq!(m.dim(), (h, w));
    assert!((m.iter().copied().fold(0.0f32, f32::max) - 1.0).abs() < 1e-7);
    let raw = map.attribution();
    let s00 = (raw[[0, 2, 3]] + raw[[1, 2, 3]] + raw[[2, 2, 3]]).abs();
    let max = raw
        .sum_axis(ndarray::Axis(0))
        .mapv(f32::abs)
        .iter()
        .copied()
        .fold(0.0f32, f32::max);
    assert!((m[[2, 3]] - s00 / max).abs() < 1e-6);
    let flat: Vec<f64> = m.iter().map(|&v| v as f64).collect();
    assert!((map.gini() - cem::attrib::gini(&flat)).abs() < 1e-12);
    assert!((map.diffusion_index() - (1.0 - map.gini()) * 100.0).abs() < 1e-9);
}

/// A small non-linear x2 SR model: conv, tanh, conv, bilinear x2 (not nearest: its
/// exactly equal neighbours make LAM's sqrt gradients NaN, set to 0 as the authors do).
fn tiny_sr() -> FnModel<impl Fn(&Tensor) -> Tensor> {
    let w1 = Tensor::from_slice(&values(8 * 27, 11)).view([8, 3, 3, 3]) - 0.5;
    let w2 = Tensor::from_slice(&values(3 * 72, 12)).view([3, 8, 3, 3]) * 0.2 - 0.1;
    FnModel::new("tiny-sr", Device::Cpu, move |x: &Tensor| {
        let h = x
            .conv2d(&w1, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1)
            .tanh();
        let y = h.conv2d(&w2, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1) + x;
        y.upsample_bilinear2d([x.size()[2] * 2, x.size()[3] * 2], false, None, None)
    })
}

#[test]
fn batched_lam_equals_one_by_one() {
    let x = rgb_from(&image(3, 32, 32, 5));
    let roi = Roi::new(20, 24, 16);
    let model = tiny_sr();
    let one = Lam::new().batch(1).run(&model, &x, roi).unwrap();
    assert_eq!(one.scale, 2);
    for batch in [7usize, 50] {
        let many = Lam::new().batch(batch).run(&model, &x, roi).unwrap();
        let scale = one.attribution().iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (a, b) in one.attribution().iter().zip(many.attribution().iter()) {
            assert!(
                (a - b).abs() <= 1e-6 * scale.max(1.0),
                "batch {batch}: {a} vs {b}"
            );
        }
        for (a, b) in one.map().iter().zip(many.map().iter()) {
            assert!((a - b).abs() <= 1e-6, "batch {batch}: map {a} vs {b}");
        }
    }
    // attributions concentrate near the ROI (on the input grid: 10..18 x 12..20)
    let m = one.map();
    assert!(m[[15, 13]] > m[[0, 0]]);
}

#[test]
fn lam_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let x = rgb_from(&image(3, 32, 32, 6));
    let mut lam = Lam::new()
        .fold(10)
        .run(&tiny_sr(), &x, Roi::new(20, 24, 16))
        .unwrap();
    lam.image = "noise.png".into();
    lam.save(dir.path()).unwrap();
    for f in ["lam.npy", "lam.json", "lam.png", "input.png"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    let stored = StoredLam::load(dir.path()).unwrap();
    assert_eq!(&stored.map, lam.map());
    assert_eq!(stored.info.image, "noise.png");
    assert_eq!(stored.info.settings.fold, 10);
    assert!((stored.info.diffusion_index - lam.diffusion_index()).abs() < 1e-12);
    let png = cem::image::load_rgb(dir.path().join("lam.png")).unwrap();
    // two 64x64 pictures and a 4-pixel gap
    assert_eq!(png.dimensions(), (64 * 2 + 4, 64));
    // NumPy's header: a float32 ('<f4') C-order 32x32 array
    let bytes = std::fs::read(dir.path().join("lam.npy")).unwrap();
    let header = String::from_utf8_lossy(&bytes[..128]);
    assert!(
        header.contains("'descr': '<f4'") && header.contains("(32, 32)"),
        "{header}"
    );
}

struct NoGrad;
impl Model for NoGrad {
    fn forward(&self, input: &Tensor) -> cem::Result<Tensor> {
        Ok(input.shallow_clone())
    }
    fn device(&self) -> Device {
        Device::Cpu
    }
    fn name(&self) -> String {
        "inference-only".into()
    }
}

#[test]
fn lam_bad_inputs_say_what_is_wrong() {
    let x = rgb_from(&image(3, 16, 16, 8));
    // ROI outside the 32x32 output
    let err = Lam::new()
        .run(&tiny_sr(), &x, Roi::new(24, 0, 16))
        .unwrap_err();
    assert!(matches!(err, Error::RoiOutsideImage { x: 24, .. }), "{err}");
    // a model without gradients
    let err = Lam::new().run(&NoGrad, &x, Roi::new(0, 0, 8)).unwrap_err();
    assert!(matches!(err, Error::NoGradients { .. }), "{err}");
    assert!(err.to_string().contains("inference-only") && err.to_string().contains("gradients"));
    // a model whose output does not depend on the input through autograd
    let detached = FnModel::new("detached", Device::Cpu, |x: &Tensor| x.detach());
    let err = Lam::new()
        .run(&detached, &x, Roi::new(0, 0, 8))
        .unwrap_err();
    assert!(matches!(err, Error::NoGradients { .. }), "{err}");
    for (lam, name) in [
        (Lam::new().fold(0), "fold"),
        (Lam::new().l(0), "l"),
        (Lam::new().batch(0), "batch"),
        (Lam::new().sigma(-1.0), "sigma"),
    ] {
        let err = lam.run(&tiny_sr(), &x, Roi::new(0, 0, 8)).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParameter { name: n, .. } if n == name),
            "{err}"
        );
    }
    assert!(Objective::parse("sum").is_err());
    // a constant model has no attribution at all
    let flat = FnModel::new("flat", Device::Cpu, |x: &Tensor| x * 0.0);
    let err = Lam::new().run(&flat, &x, Roi::new(0, 0, 8)).unwrap_err();
    assert!(err.to_string().contains("gradient is zero"), "{err}");
}

/// Every output pixel is input pixel (3, 2): that pixel alone decides the ROI.
fn one_pixel_model() -> FnModel<impl Fn(&Tensor) -> Tensor> {
    FnModel::new("one-pixel", Device::Cpu, |x: &Tensor| {
        let s = x.size();
        x.narrow(2, 2, 1)
            .narrow(3, 3, 1)
            .expand([s[0], s[1], s[2], s[3]], false)
            .contiguous()
    })
}

/// A grey ground truth and a noisy input whose decisive pixel is black.
fn one_pixel_images() -> (RgbImage, RgbImage) {
    let truth = RgbImage::from_pixel(32, 32, ::image::Rgb([128, 128, 128]));
    let mut input = rgb_from(&image(3, 32, 32, 21));
    input.put_pixel(3, 2, ::image::Rgb([0, 0, 0]));
    (input, truth)
}

fn one_pixel_map(t: u32, trace: &[(u32, u32)]) -> CausalEffectMap {
    let (input, truth) = one_pixel_images();
    Cem::full(t)
        .locality(false)
        .progress(false)
        .input(input)
        .trace(trace.iter().copied())
        .run(
            &one_pixel_model(),
            &truth,
            &Task::Dn { sigma: 10.0 },
            Roi::new(16, 16, 8),
        )
        .unwrap()
        .map
}

#[test]
fn traces_average_to_the_map_effect() {
    let map = one_pixel_map(12, &[(0, 0), (1, 1)]);
    let traces = cem::attrib::Traces::of(&map).unwrap();
    assert_eq!(traces.traces.len(), 2);
    let o = map.info.original_psnr;
    let t0 = &traces.traces[0];
    assert_eq!((t0.row, t0.col, t0.psnr_db.len()), (0, 0, 12));
    let mean = t0.psnr_db.iter().sum::<f64>() / 12.0;
    let effect = map.cell(0, 0).effect_db;
    assert!(effect < -1.0, "the black pixel's cell misleads: {effect}");
    assert!((o - mean - effect).abs() < 1e-9, "{} vs {effect}", o - mean);
    assert!((t0.running_effect(o)[11] - effect).abs() < 1e-9);
    // a cell that cannot change the output: every draw gives O
    let t1 = &traces.traces[1];
    assert!(t1.psnr_db.iter().all(|&p| (p - o).abs() < 1e-12));
    assert_eq!(map.cell(1, 1).effect_db, 0.0);
    // trace.csv round trip beside the saved map, and the figure
    let dir = tempfile::tempdir().unwrap();
    cem::map::save(&map, dir.path()).unwrap();
    traces.save(dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("trace.csv")).unwrap();
    assert!(text.starts_with("row,col,draw,psnr_db\n0,0,0,"));
    assert_eq!(text.lines().count(), 1 + 24);
    let back = cem::attrib::Traces::load(dir.path()).unwrap();
    assert_eq!(back.traces, traces.traces);
    let fig = cem::attrib::trace_figure(&[back]).unwrap();
    fig.save(dir.path().join("fig6.png")).unwrap();
    assert!(dir.path().join("fig6.png").metadata().unwrap().len() > 1000);
    // a traced cell outside the grid
    let (input, truth) = one_pixel_images();
    let err = Cem::full(2)
        .progress(false)
        .input(input)
        .trace([(9, 0)])
        .run(
            &one_pixel_model(),
            &truth,
            &Task::Dn { sigma: 10.0 },
            Roi::new(16, 16, 8),
        )
        .unwrap_err();
    assert!(err.to_string().contains("9,0"), "{err}");
}

#[test]
fn one_pixel_optimisation_converges_from_the_maps_psnr() {
    let map = one_pixel_map(6, &[]);
    let (input, truth) = one_pixel_images();
    let dir = tempfile::tempdir().unwrap();
    cem::map::save(&map, dir.path()).unwrap();
    save_rgb(&input, dir.path().join("input.png")).unwrap();
    // a folder without hr.png, or not naming its model, says so
    let err = cem::attrib::MapFolder::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("hr.png"), "{err}");
    save_rgb(&truth, dir.path().join("hr.png")).unwrap();
    let folder = cem::attrib::MapFolder::load(dir.path()).unwrap();
    let err = folder.model_spec().unwrap_err();
    assert!(err.to_string().contains("does not name its model"), "{err}");

    let model = one_pixel_model();
    let result = cem::attrib::PixelOpt::new()
        .iters(300)
        .lr(0.01)
        .run(&model, &folder.input, &folder.truth, &folder.map)
        .unwrap();
    assert_eq!(result.cell, (0, 0));
    assert_eq!(result.pixel, (3, 2), "{}", result.pixel_choice);
    assert_eq!(result.steps.len(), 301);
    assert_eq!(result.steps[0].psnr_db, map.info.original_psnr);
    assert_eq!(result.steps[0].rgb, [0.0, 0.0, 0.0]);
    for c in result.final_rgb() {
        assert!((c - 128.0 / 255.0).abs() < 0.02, "{:?}", result.final_rgb());
    }
    assert!(
        result.final_psnr() > 35.0 && result.gain_db() > 25.0,
        "{}",
        result.final_psnr()
    );
    // the pixel already is black
    assert_eq!(result.black_psnr_db, result.start_psnr());
    result.save(dir.path().join("pixel")).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("pixel/pixel.csv")).unwrap();
    assert!(csv.starts_with("iteration,psnr_db,r,g,b\n0,"));
    assert_eq!(csv.lines().count(), 302);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("pixel/pixel.json")).unwrap())
            .unwrap();
    assert_eq!(json["pixel"]["x"], 3);
    // an exact optimum has an infinite PSNR, which JSON writes as null
    match json["gain_db"].as_f64() {
        Some(g) => assert!((g - result.gain_db()).abs() < 1e-9),
        None => assert!(result.gain_db().is_infinite() && json["gain_db"].is_null()),
    }
    result
        .figure()
        .unwrap()
        .save(dir.path().join("pixel/pixel.png"))
        .unwrap();

    // bad inputs
    let err = cem::attrib::PixelOpt::new()
        .iters(0)
        .run(&model, &input, &truth, &map)
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidParameter { name, .. } if name == "iters"),
        "{err}"
    );
    let err = cem::attrib::PixelOpt::new()
        .pixel(20, 20)
        .run(&model, &input, &truth, &map)
        .unwrap_err();
    assert!(err.to_string().contains("20,20"), "{err}");
    let err = cem::attrib::PixelOpt::new()
        .iters(5)
        .run(&tiny_sr(), &input, &truth, &map)
        .unwrap_err();
    assert!(err.to_string().contains("one-pixel"), "{err}");
    let no_grad = FnModel::new("one-pixel", Device::Cpu, |x: &Tensor| x.detach());
    let err = cem::attrib::PixelOpt::new()
        .iters(5)
        .run(&no_grad, &input, &truth, &map)
        .unwrap_err();
    assert!(matches!(err, Error::NoGradients { .. }), "{err}");
}

#[test]
fn lam_beside_cem_figure() {
    let hr = rgb_from(&image(3, 64, 64, 31));
    let roi = Roi::new(24, 32, 16);
    let model = tiny_sr();
    let map = Cem::full(2)
        .locality(false)
        .progress(false)
        .run(&model, &hr, &Task::Sr { scale: 2 }, roi)
        .unwrap();
    let input = Task::Sr { scale: 2 }
        .degradation(0)
        .unwrap()
        .degrade(&hr)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    cem::map::save(&map, dir.path().join("cem")).unwrap();
    save_rgb(&input, dir.path().join("cem/input.png")).unwrap();
    Lam::new()
        .fold(10)
        .run(&model, &input, roi)
        .unwrap()
        .save(dir.path().join("lam"))
        .unwrap();
    let lams = cem::attrib::find_lams(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(lams.len(), 1);
    let stored = vec![StoredLam::load(&lams[0]).unwrap()];
    let views = vec![cem::map::MapRun::load(dir.path().join("cem")).unwrap()];
    let pairs = cem::attrib::pair_lams_with_maps(stored.clone(), views).unwrap();
    let fig = cem::attrib::lam_vs_cem(&pairs, &MapStyle::default()).unwrap();
    fig.save(dir.path().join("fig7.png")).unwrap();
    assert!(fig.width > 600 && fig.height > 250);
    // a LAM without a matching map
    let err = cem::attrib::pair_lams_with_maps(stored, vec![]).unwrap_err();
    assert!(err.to_string().contains("tiny-sr"), "{err}");
}
