//! Deraining: the synthetic rain-streak layer of the reference ("medium" setting).
//!
//! One rain layer `L` per image, from a seed: sparse uniform noise, a 3x3 spreading
//! filter, a streak kernel (a diagonal line rotated about `((len-1)/2, (len-1)/2)`,
//! Gaussian-blurred) and a min-max normalisation to u8, with OpenCV's arithmetic
//! (see `cv.rs`). The rainy input is `cv2.addWeighted(I_hr, 1, L, beta, 0)`: in
//! `f32`, rounded to nearest and saturated. An intervention writes the clean patch
//! into the clean image and re-applies the same layer, which only changes that cell.
//!
//! With [`RngKind::Numpy`] the settings and the noise are drawn exactly as the
//! authors' `RainGenerator(seed)` does; [`Rain::for_image`] takes the seed from the
//! image's file name as their pipeline does. [`SuppliedRain`] carries a rain that
//! came with a rainy input.

use super::cv;
use super::numpy_rng::{PyRandom, RandomState};
use super::{check_patch, image_number, Degradation, PatchSite, RngKind};
use crate::error::{Error, Result};
use ::image::RgbImage;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The random settings of one rain layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RainParams {
    /// Fraction of noise pixels kept as streak seeds, in [0.005, 0.007].
    pub amount: f64,
    /// Streak width: 3, 5 or 7 (probabilities 0.25, 0.5, 0.25).
    pub width: u32,
    /// Streak length in pixels, integer in [35, 45].
    pub length: u32,
    /// Streak angle from vertical in degrees, integer in [-30, 30].
    pub angle: i32,
    /// Blending weight of the layer, in [0.6, 1.0].
    pub beta: f64,
}

impl RainParams {
    /// Draws the "medium" setting from any generator (the crate's ChaCha order:
    /// amount, width, length, angle, beta).
    pub fn medium(rng: &mut impl Rng) -> Self {
        let amount = rng.gen_range(0.005..0.007);
        let width = match rng.gen::<f64>() {
            u if u < 0.25 => 3,
            u if u < 0.75 => 5,
            _ => 7,
        };
        let length = rng.gen_range(35..=45);
        let angle = rng.gen_range(-30..=30);
        let beta = rng.gen_range(0.6..1.0);
        RainParams {
            amount,
            width,
            length,
            angle,
            beta,
        }
    }

    /// Draws the "medium" setting as the authors' `RainGenerator.__call__` does after
    /// `random.choice(["medium"])`: `beta = uniform(0.6, 1.0)`, `amount =
    /// uniform(0.005, 0.007)`, `width = choice([3, 5, 7], p=[.25, .5, .25])`,
    /// `length = randint(35, 46)`, `angle = randint(-30, 31)`.
    pub fn medium_numpy(rs: &mut RandomState) -> Result<Self> {
        let beta = rs.uniform(0.6, 1.0);
        let amount = rs.uniform(0.005, 0.007);
        let width = [3, 5, 7][rs.choice_p(&[0.25, 0.5, 0.25])?];
        let length = rs.randint(35, 46)? as u32;
        let angle = rs.randint(-30, 31)? as i32;
        Ok(RainParams {
            amount,
            width,
            length,
            angle,
            beta,
        })
    }
}

/// A single-channel rain layer `L` (u8, row-major).
#[derive(Debug, Clone)]
pub struct RainLayer {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The values.
    pub values: Vec<u8>,
}

/// Where the noise of a layer comes from.
#[derive(Debug, Clone)]
enum NoiseSource {
    /// ChaCha8 seeded with this key, stream 1.
    ChaCha([u8; 32]),
    /// NumPy's state right after the settings were drawn.
    Numpy(Box<RandomState>),
}

/// Synthetic rain, one layer per image size, seeded.
#[derive(Debug)]
pub struct Rain {
    seed: u64,
    image: Option<u64>,
    rng: RngKind,
    params: RainParams,
    noise: NoiseSource,
    layers: Mutex<HashMap<(u32, u32), Arc<RainLayer>>>,
}

impl Rain {
    /// The paper's "medium" rain, its settings and noise drawn from `seed` by ChaCha8.
    pub fn medium(seed: u64) -> Self {
        Rain::chacha(seed, None)
    }

    /// ChaCha8 rain for `seed` and an optional image number (each image of a run gets
    /// its own rain; `image: None` is [`Rain::medium`]).
    fn chacha(seed: u64, image: Option<u64>) -> Self {
        let mut rng = match image {
            None => ChaCha8Rng::seed_from_u64(seed),
            Some(n) => {
                let mut key = [0u8; 32];
                key[..8].copy_from_slice(&seed.to_le_bytes());
                key[8..16].copy_from_slice(&n.to_le_bytes());
                key[16] = 1;
                ChaCha8Rng::from_seed(key)
            }
        };
        let params = RainParams::medium(&mut rng);
        Rain {
            seed,
            image,
            rng: RngKind::ChaCha,
            params,
            noise: NoiseSource::ChaCha(rng.get_seed()),
            layers: Mutex::new(HashMap::new()),
        }
    }

    /// The authors' `RainGenerator(seed)` with the "medium" type: NumPy's legacy
    /// generator seeded with `seed` (and Python's `random`, whose one draw picks
    /// "medium"), the settings in their order, then the noise.
    ///
    /// ```
    /// // the json fixture of demo_2 (seed 2), made with the authors' code
    /// let p = cem::degrade::Rain::medium_numpy(2).unwrap().params();
    /// assert_eq!((p.width, p.length, p.angle), (5, 37, -19));
    /// assert_eq!(p.beta, 0.7743979608568015);
    /// ```
    pub fn medium_numpy(seed: u64) -> Result<Self> {
        let mut rs = RandomState::try_seed(seed)?;
        let seed_i64 = i64::try_from(seed)
            .map_err(|_| Error::invalid("rain seed", seed, "must fit in 63 bits"))?;
        let kind = *PyRandom::seed(seed_i64).choice(&["medium"])?;
        debug_assert_eq!(kind, "medium");
        let params = RainParams::medium_numpy(&mut rs)?;
        Ok(Rain {
            seed,
            image: Some(seed),
            rng: RngKind::Numpy,
            params,
            noise: NoiseSource::Numpy(Box::new(rs)),
            layers: Mutex::new(HashMap::new()),
        })
    }

    /// The rain of one image of a run, seeded per image as the authors do: by the
    /// first integer in its file name. With [`RngKind::Numpy`] that integer is
    /// NumPy's seed (the authors' exact rain; an error when the name has none); with
    /// ChaCha it is combined with `run_seed` (a name without a number uses a hash of
    /// the name).
    ///
    /// ```
    /// use cem::degrade::{Rain, RngKind};
    /// let a = Rain::for_image("demo_1.png", 0, RngKind::ChaCha).unwrap();
    /// let b = Rain::for_image("demo_2.png", 0, RngKind::ChaCha).unwrap();
    /// assert_ne!(a.layer(64, 64).values, b.layer(64, 64).values);
    /// assert!(Rain::for_image("cat.png", 0, RngKind::Numpy).is_err());
    /// ```
    pub fn for_image(name: &str, run_seed: u64, rng: RngKind) -> Result<Self> {
        let number = image_number(name)?;
        match rng {
            RngKind::Numpy => match number {
                Some(n) => Rain::medium_numpy(n),
                None => Err(Error::invalid(
                    "image name",
                    name,
                    "DR with --rng numpy seeds the rain with the first integer in the file name (demo_2.png -> 2), and this name has none; rename the file",
                )),
            },
            RngKind::ChaCha => {
                let n = number.unwrap_or_else(|| fnv1a(name.as_bytes()));
                Ok(Rain::chacha(run_seed, Some(n)))
            }
        }
    }

    /// The settings drawn for this seed.
    pub fn params(&self) -> RainParams {
        self.params
    }

    /// The generator the rain was drawn with.
    pub fn rng(&self) -> RngKind {
        self.rng
    }

    /// The rain layer for a `width` x `height` image (computed once, then cached).
    pub fn layer(&self, width: u32, height: u32) -> Arc<RainLayer> {
        let mut cache = self.layers.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry((width, height))
            .or_insert_with(|| Arc::new(self.make_layer(width, height)))
            .clone()
    }

    /// `np.random.uniform(0, 256, (H, W))` (or ChaCha's), continuing the settings' stream.
    fn noise(&self, n: usize) -> Vec<f64> {
        match &self.noise {
            NoiseSource::ChaCha(key) => {
                let mut rng = ChaCha8Rng::from_seed(*key);
                rng.set_stream(1);
                (0..n).map(|_| rng.gen_range(0.0..256.0)).collect()
            }
            NoiseSource::Numpy(rs) => {
                let mut rs = rs.as_ref().clone();
                (0..n).map(|_| rs.uniform(0.0, 256.0)).collect()
            }
        }
    }

    fn make_layer(&self, width: u32, height: u32) -> RainLayer {
        let values = rain_layer(
            &self.params,
            self.noise(width as usize * height as usize),
            width,
            height,
        );
        RainLayer {
            width,
            height,
            values,
        }
    }
}

/// The authors' `get_noise` + `get_rain_blur` on a noise image.
fn rain_layer(p: &RainParams, mut noise: Vec<f64>, width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let threshold = 256.0 - p.amount * 256.0;
    for v in noise.iter_mut() {
        if *v < threshold {
            *v = 0.0;
        }
    }
    let spread = [0.0, 0.1, 0.0, 0.1, 8.0, 0.1, 0.0, 0.1, 0.0];
    let noise = cv::filter2d_direct(&noise, w, h, &spread, 3, 3);
    let n = p.length as usize;
    let kernel = streak_kernel(p.length, p.angle, p.width);
    let streaks = cv::filter2d_sparse(&noise, w, h, &kernel, n, n);
    cv::normalize_minmax_u8(&streaks)
}

/// The streak kernel: a `length x length` identity matrix rotated about
/// `((length-1)/2, (length-1)/2)` by `angle - 45` degrees (`warpAffine`, bilinear,
/// zero border), then `GaussianBlur` with a `width x width` kernel, sigma 0.
fn streak_kernel(length: u32, angle: i32, width: u32) -> Vec<f64> {
    let n = length as usize;
    let diag: Vec<f64> = (0..n * n)
        .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
        .collect();
    let c = (length as f32 - 1.0) / 2.0;
    let m = cv::rotation_matrix(c, c, (angle - 45) as f64);
    let rotated = cv::warp_affine_linear(&diag, n, n, m);
    cv::gaussian_blur(&rotated, n, n, width as usize)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `cv2.addWeighted(clean, 1, layer, beta, 0)` over the `clean` patch at `(x0, y0)`
/// of an image whose per-value rain (`layer * beta` in `f32`) is `add(x, y, c)`.
fn blend(clean: &RgbImage, x0: u32, y0: u32, add: impl Fn(u32, u32, usize) -> f32) -> RgbImage {
    let mut out = clean.clone();
    for (x, y, p) in out.enumerate_pixels_mut() {
        for (c, v) in p.0.iter_mut().enumerate() {
            *v = cv::add_weighted_u8(*v, add(x0 + x, y0 + y, c));
        }
    }
    out
}

fn check_site(patch: &RgbImage, at: PatchSite) -> Result<()> {
    check_patch(patch, "DR")?;
    if at.x + patch.width() > at.image_width || at.y + patch.height() > at.image_height {
        return Err(Error::invalid(
            "patch site",
            format!("x={} y={}", at.x, at.y),
            format!(
                "a {}px patch must lie inside the {}x{} image",
                patch.width(),
                at.image_width,
                at.image_height
            ),
        ));
    }
    Ok(())
}

impl Rain {
    fn rain(&self, clean: &RgbImage, at: PatchSite) -> RgbImage {
        let layer = self.layer(at.image_width, at.image_height);
        let beta = self.params.beta as f32;
        blend(clean, at.x, at.y, |x, y, _| {
            layer.values[(y * layer.width + x) as usize] as f32 * beta
        })
    }
}

impl Degradation for Rain {
    fn name(&self) -> String {
        "dr".into()
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        let whole = PatchSite {
            x: 0,
            y: 0,
            image_width: hr.width(),
            image_height: hr.height(),
        };
        Ok(self.rain(hr, whole))
    }

    fn degrade_patch(
        &self,
        patch: &RgbImage,
        at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        check_site(patch, at)?;
        Ok(self.rain(patch, at))
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({"name": "dr", "setting": "medium", "seed": self.seed,
            "image_number": self.image, "rng": self.rng.name(), "params": self.params,
            "blend": "addWeighted (f32, round to nearest, saturate)"})
    }

    fn carries_supplied_input(&self) -> bool {
        false
    }
}

/// A rain that came with a rainy input: interventions add exactly that rain to the
/// clean patch (Def. IV.1: the patch carries the input's degradation).
///
/// ```
/// use cem::prelude::*;
/// use cem::degrade::{Rain, SuppliedRain};
/// let clean = RgbImage::from_pixel(16, 16, image::Rgb([100, 150, 200]));
/// let rainy = Rain::medium(3).degrade(&clean).unwrap();
/// let rain = SuppliedRain::from_pair(&clean, &rainy).unwrap();
/// assert_eq!(rain.degrade(&clean).unwrap(), rainy);
/// ```
#[derive(Debug, Clone)]
pub struct SuppliedRain {
    width: u32,
    height: u32,
    /// Rain added per value (3 per pixel, row-major), `layer * beta`.
    add: Vec<f32>,
    source: &'static str,
    beta: Option<f64>,
}

impl SuppliedRain {
    /// The rain of a rainy input over its clean image: `rainy - clean` per value
    /// (the layer times beta; beta itself is not needed).
    pub fn from_pair(clean: &RgbImage, rainy: &RgbImage) -> Result<Self> {
        if clean.dimensions() != rainy.dimensions() {
            return Err(Error::SizeMismatch {
                what: "rainy input for its clean image".into(),
                expected: format!("{}x{}", clean.width(), clean.height()),
                got: format!("{}x{}", rainy.width(), rainy.height()),
            });
        }
        let add = clean
            .as_raw()
            .iter()
            .zip(rainy.as_raw())
            .map(|(&c, &r)| r as f32 - c as f32)
            .collect();
        Ok(SuppliedRain {
            width: clean.width(),
            height: clean.height(),
            add,
            source: "rainy input - clean image",
            beta: None,
        })
    }

    /// A rain layer (RGB, per channel; a grey layer loaded as RGB repeats its value)
    /// and its blending weight `beta`, as `cv2.addWeighted(clean, 1, layer, beta, 0)`
    /// applies them.
    pub fn from_layer(layer: &RgbImage, beta: f64) -> Result<Self> {
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(Error::invalid(
                "beta",
                beta,
                "must be a finite non-negative number",
            ));
        }
        let b = beta as f32;
        let add = layer.as_raw().iter().map(|&l| l as f32 * b).collect();
        Ok(SuppliedRain {
            width: layer.width(),
            height: layer.height(),
            add,
            source: "rain layer and beta",
            beta: Some(beta),
        })
    }

    fn check_size(&self, w: u32, h: u32) -> Result<()> {
        if (w, h) != (self.width, self.height) {
            return Err(Error::SizeMismatch {
                what: "image for the supplied rain".into(),
                expected: format!("{}x{}", self.width, self.height),
                got: format!("{w}x{h}"),
            });
        }
        Ok(())
    }

    fn rain(&self, clean: &RgbImage, x0: u32, y0: u32) -> RgbImage {
        let w = self.width;
        blend(clean, x0, y0, |x, y, c| {
            self.add[(y * w + x) as usize * 3 + c]
        })
    }
}

impl Degradation for SuppliedRain {
    fn name(&self) -> String {
        "dr".into()
    }

    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage> {
        self.check_size(hr.width(), hr.height())?;
        Ok(self.rain(hr, 0, 0))
    }

    fn degrade_patch(
        &self,
        patch: &RgbImage,
        at: PatchSite,
        _rng: &mut dyn RngCore,
    ) -> Result<RgbImage> {
        check_site(patch, at)?;
        self.check_size(at.image_width, at.image_height)?;
        Ok(self.rain(patch, at.x, at.y))
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({"name": "dr", "setting": "supplied", "source": self.source,
            "beta": self.beta, "blend": "addWeighted (f32, round to nearest, saturate)"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertical_streak_kernel_at_angle_zero() {
        // rotated about ((len-1)/2, (len-1)/2): for an odd length the vertical line is
        // column 17 of 35, for an even one it lies between columns 17 and 18 of 36
        let share = |n: usize, x: usize| -> f64 {
            let k = streak_kernel(n as u32, 0, 3);
            (0..n).map(|y| k[y * n + x]).sum::<f64>() / k.iter().sum::<f64>()
        };
        assert!(share(35, 17) > 0.45, "{}", share(35, 17));
        assert!((share(35, 16) - share(35, 18)).abs() < 0.01);
        assert!((share(36, 17) - share(36, 18)).abs() < 0.01);
        assert!(share(36, 17) > 0.35 && share(36, 19) < 0.15);
        let n = 35;
        // at 30 degrees the line leans: top half left of centre for positive angles
        let k = streak_kernel(35, 30, 3);
        let mass_x = |rows: std::ops::Range<usize>| -> f64 {
            let (m, w) = rows
                .flat_map(|y| (0..n).map(move |x| (y, x)))
                .fold((0.0, 0.0), |(m, w), (y, x)| {
                    (m + k[y * n + x] * x as f64, w + k[y * n + x])
                });
            m / w
        };
        assert!(
            mass_x(0..12) < 15.0 && mass_x(23..35) > 19.0,
            "{} {}",
            mass_x(0..12),
            mass_x(23..35)
        );
    }

    #[test]
    fn supplied_rain_checks_sizes() {
        let a = RgbImage::new(8, 8);
        let b = RgbImage::new(8, 9);
        assert!(SuppliedRain::from_pair(&a, &b).is_err());
        let layer = RgbImage::from_pixel(8, 8, ::image::Rgb([10, 10, 10]));
        assert!(SuppliedRain::from_layer(&layer, f64::NAN).is_err());
        let rain = SuppliedRain::from_layer(&layer, 0.5).unwrap();
        assert!(rain.degrade(&b).is_err());
        assert_eq!(rain.degrade(&a).unwrap().get_pixel(3, 3).0, [5, 5, 5]);
    }
}
