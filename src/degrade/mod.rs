//! Degradations: how a ground-truth image becomes a model input, and how an
//! intervention patch is made to carry the same degradation (Def. IV.1 of the paper).
//!
//! Three implementations follow the reference pipeline exactly: [`Bicubic`] (SR),
//! [`GaussianNoise`] (DN) and [`Rain`] (DR). Add your own by implementing
//! [`Degradation`]:
//!
//! ```
//! use cem::prelude::*;
//! use rand::RngCore;
//!
//! /// "Degradation" that leaves images untouched.
//! struct Identity;
//! impl Degradation for Identity {
//!     fn name(&self) -> String { "identity".into() }
//!     fn degrade(&self, hr: &RgbImage) -> cem::Result<RgbImage> { Ok(hr.clone()) }
//!     fn degrade_patch(&self, patch: &RgbImage, _at: PatchSite, _rng: &mut dyn RngCore)
//!         -> cem::Result<RgbImage> { Ok(patch.clone()) }
//!     fn describe(&self) -> serde_json::Value { serde_json::json!({"name": "identity"}) }
//! }
//! ```

mod blur;
mod cv;
mod generator;
mod haze;
mod jpeg;
mod lowlight;
mod noise;
pub mod numpy_rng;
mod rain;
pub mod region;
pub mod resample;
mod sr;
mod sr_up;
pub mod task_options;

pub use blur::GaussianBlur;
pub use generator::{image_number, RngKind};
pub use haze::Haze;
pub use jpeg::Jpeg;
pub use lowlight::LowLight;
pub use noise::GaussianNoise;
pub use rain::{Rain, RainLayer, RainParams, SuppliedRain};
pub use region::InputPatch;
pub use sr::Bicubic;
pub use sr_up::BicubicUpsampled;

use crate::error::{Error, Result};
use ::image::RgbImage;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Where an intervention patch goes: its top-left corner in *output* pixels and the
/// size of the ground-truth image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchSite {
    /// Left edge in output pixels.
    pub x: u32,
    /// Top edge in output pixels.
    pub y: u32,
    /// Width of the ground-truth (output) image.
    pub image_width: u32,
    /// Height of the ground-truth (output) image.
    pub image_height: u32,
}

/// A degradation, able to degrade a whole image and a single intervention patch.
pub trait Degradation: Send + Sync {
    /// A short name (`sr`, `dn`, `dr` for the built-in ones).
    fn name(&self) -> String;

    /// Output pixels per input pixel: the SR scale, 1 for restoration tasks.
    fn scale(&self) -> u32 {
        1
    }

    /// Degrades a whole ground-truth image into the model input.
    fn degrade(&self, hr: &RgbImage) -> Result<RgbImage>;

    /// Makes a clean library patch (block x block output pixels) carry the same
    /// degradation as the input at `at`; returns the (block / scale)-square patch in
    /// input pixels that replaces that cell of the input. `rng` supplies any fresh
    /// randomness (e.g. the patch's own noise), seeded by the engine.
    fn degrade_patch(
        &self,
        patch: &RgbImage,
        at: PatchSite,
        rng: &mut dyn RngCore,
    ) -> Result<RgbImage>;

    /// Settings and seed, for result files.
    fn describe(&self) -> serde_json::Value;

    /// Whether interventions can carry the degradation of an input made elsewhere
    /// (default yes). A generated rain cannot: its layer is not the input's rain.
    fn carries_supplied_input(&self) -> bool {
        true
    }

    /// Input pixels on each side of a cell that one intervention can change besides the
    /// cell itself (0, the default: only the cell). Degradations that mix neighbouring
    /// pixels (blur, JPEG blocks, SR upsampled back) have a halo.
    fn halo(&self) -> u32 {
        0
    }

    /// What one intervention writes into the input: the clean library `patch` pasted
    /// into the clean ground truth `hr` at `at`, degraded like the input. The default
    /// writes [`Degradation::degrade_patch`] at the cell; a degradation with a
    /// [`halo`](Degradation::halo) returns the fixed-size region
    /// [`region::halo_window`] (the cell and its halo, clamped inside the input),
    /// bit for bit what degrading the whole pasted image again gives there.
    fn degrade_region(
        &self,
        hr: &RgbImage,
        patch: &RgbImage,
        at: PatchSite,
        rng: &mut dyn RngCore,
    ) -> Result<InputPatch> {
        let pixels = self.degrade_patch(patch, at, rng)?;
        let s = self.scale().max(1);
        let _ = hr;
        Ok(InputPatch {
            x: at.x / s,
            y: at.y / s,
            pixels,
        })
    }
}

/// The three tasks of the paper, with their settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "lowercase")]
pub enum Task {
    /// Super-resolution from a bicubic downscale by `scale`.
    Sr {
        /// Downscale factor (the paper: 4).
        scale: u32,
    },
    /// Denoising of Gaussian noise with standard deviation `sigma` in u8 levels.
    Dn {
        /// Noise level (the paper: 50).
        sigma: f64,
    },
    /// Deraining of the synthetic "medium" rain.
    Dr,
    /// Super-resolution for general (scale-1) networks: the bicubic LR upsampled back
    /// to full size (see [`BicubicUpsampled`]).
    #[serde(rename = "sr-up")]
    SrUp {
        /// Downscale factor of the LR (the paper: 4).
        scale: u32,
    },
    /// Deblurring of an isotropic Gaussian blur (see [`GaussianBlur`]).
    Blur {
        /// Odd kernel side in pixels.
        kernel: u32,
        /// Standard deviation in pixels.
        sigma: f64,
    },
    /// JPEG artefact removal (see [`Jpeg`]).
    Jpeg {
        /// Encoder quality, 1..=100.
        quality: u8,
    },
    /// Dehazing (see [`Haze`]).
    Haze {
        /// Atmospheric light `A` in [0, 1].
        airlight: f64,
        /// Scattering coefficient `beta` of `t = exp(-beta d)`.
        beta: f64,
    },
    /// Low-light enhancement (see [`LowLight`]).
    Lowlight {
        /// Gamma of `x^gamma`.
        gamma: f64,
        /// Brightness factor applied after the gamma.
        scale: f64,
        /// Noise standard deviation in u8 levels.
        sigma: f64,
    },
}

impl Task {
    /// Parses `sr`, `dn` or `dr` with the given scale and sigma, `sr-up` (at `scale`),
    /// or one of the MIO tasks `blur`, `jpeg`, `haze`, `lowlight` with their defaults,
    /// each optionally followed by `:key=value,...` settings (see
    /// [`task_options`]), e.g. `jpeg:quality=30`.
    pub fn parse(name: &str, scale: u32, sigma: f64) -> Result<Task> {
        if name.contains(':') || task_options::is_mio_name(name) {
            return task_options::parse(name, scale);
        }
        match name.to_ascii_lowercase().as_str() {
            "sr" => Ok(Task::Sr { scale }),
            "dn" => Ok(Task::Dn { sigma }),
            "dr" => Ok(Task::Dr),
            _ => Err(Error::UnknownTask(name.to_string())),
        }
    }

    /// The short name.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Sr { .. } => "sr",
            Task::Dn { .. } => "dn",
            Task::Dr => "dr",
            Task::SrUp { .. } => "sr-up",
            Task::Blur { .. } => "blur",
            Task::Jpeg { .. } => "jpeg",
            Task::Haze { .. } => "haze",
            Task::Lowlight { .. } => "lowlight",
        }
    }

    /// The degradation of this task, seeded with `seed` (noise and rain layer).
    pub fn degradation(&self, seed: u64) -> Result<Box<dyn Degradation>> {
        Ok(match *self {
            Task::Sr { scale } => Box::new(Bicubic::new(scale)?),
            Task::Dn { sigma } => Box::new(GaussianNoise::new(sigma, seed)?),
            Task::Dr => Box::new(Rain::medium(seed)),
            Task::SrUp { scale } => Box::new(BicubicUpsampled::new(scale)?),
            Task::Blur { kernel, sigma } => Box::new(GaussianBlur::new(kernel, sigma)?),
            Task::Jpeg { quality } => Box::new(Jpeg::new(quality)?),
            Task::Haze { airlight, beta } => Box::new(Haze::new(airlight, beta, seed)?),
            Task::Lowlight {
                gamma,
                scale,
                sigma,
            } => Box::new(LowLight::new(gamma, scale, sigma, seed)?),
        })
    }

    /// The degradation of this task for one image of a run: `seed` is the run's seed,
    /// `rng` the generator of the input, `image_name` the image's file name. DR's rain
    /// is per image, seeded by the first integer in the name ([`Rain::for_image`]);
    /// with [`RngKind::Numpy`], DN draws the input's noise as `np.random.seed(seed)`
    /// does ([`GaussianNoise::numpy`]) and tasks without randomness (SR) are
    /// unchanged; any other task is an error naming it.
    ///
    /// ```
    /// use cem::prelude::*;
    /// use cem::degrade::RngKind;
    /// let dr = Task::Dr.degradation_with(0, RngKind::Numpy, Some("demo_2.png")).unwrap();
    /// assert_eq!(dr.describe()["image_number"], 2);
    /// assert!(Task::Dr.degradation_with(0, RngKind::Numpy, Some("cat.png")).is_err());
    /// ```
    pub fn degradation_with(
        &self,
        seed: u64,
        rng: RngKind,
        image_name: Option<&str>,
    ) -> Result<Box<dyn Degradation>> {
        match (*self, rng, image_name) {
            (Task::Dr, _, Some(name)) => Ok(Box::new(Rain::for_image(name, seed, rng)?)),
            (Task::Dr, RngKind::Numpy, None) => Err(Error::invalid(
                "image name",
                "(none)",
                "DR with the NumPy generator seeds the rain with the first integer in the image's file name; give the name",
            )),
            (Task::Dn { sigma }, RngKind::Numpy, _) => Ok(Box::new(GaussianNoise::numpy(sigma, seed)?)),
            (Task::Sr { .. } | Task::SrUp { .. }, _, _) | (_, RngKind::ChaCha, _) => {
                self.degradation(seed)
            }
            (task, RngKind::Numpy, _) => Err(Error::invalid(
                "rng",
                "numpy",
                format!("NumPy's generator makes only the authors' sr, sr-up, dn and dr inputs, not {}", task.name()),
            )),
        }
    }
}

/// Crops `block x block` output pixels of a clean image at `at` (helper for
/// degradations that need the clean patch's surroundings).
pub(crate) fn check_patch(patch: &RgbImage, what: &str) -> Result<()> {
    if patch.width() != patch.height() || patch.width() == 0 {
        return Err(Error::SizeMismatch {
            what: format!("{what} patch"),
            expected: "a non-empty square".into(),
            got: format!("{}x{}", patch.width(), patch.height()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_parsing() {
        assert_eq!(Task::parse("SR", 4, 50.0).unwrap(), Task::Sr { scale: 4 });
        assert_eq!(
            Task::parse("dn", 4, 25.0).unwrap(),
            Task::Dn { sigma: 25.0 }
        );
        assert_eq!(Task::parse("dr", 4, 50.0).unwrap(), Task::Dr);
        let err = Task::parse("deblur", 4, 50.0).unwrap_err();
        assert!(err.to_string().contains("deblur"), "{err}");
    }
}
