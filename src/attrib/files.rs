//! A LAM result folder: `lam.npy` (the normalised map, float32, NumPy-readable),
//! `lam.json` (settings and indices), `lam.png` (the authors' two blended pictures)
//! and `input.png` (the degraded input, for figures).

use super::lam::{Lam, LamMap};
use super::vis::{blend, vis_saliency, vis_saliency_kde};
use crate::error::{Error, Result};
use crate::image::{load_rgb, save_rgb, Roi};
use ::image::RgbImage;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File name of the map.
pub const LAM_NPY: &str = "lam.npy";
/// File name of the metadata.
pub const LAM_JSON: &str = "lam.json";
/// File name of the picture.
pub const LAM_PNG: &str = "lam.png";
/// Weight of the input in the authors' blend.
pub const BLEND_ALPHA: f64 = 0.5;

/// What `lam.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LamInfo {
    /// `cem`'s version.
    pub cem_version: String,
    /// The model's name.
    pub model: String,
    /// The image's name (set by the caller).
    pub image: String,
    /// The settings.
    pub settings: Lam,
    /// The ROI in output pixels.
    pub roi: Roi,
    /// Output size / input size.
    pub scale: u32,
    /// Input width.
    pub width: u32,
    /// Input height.
    pub height: u32,
    /// The map's Gini index.
    pub gini: f64,
    /// `(1 - gini) * 100`.
    pub diffusion_index: f64,
    /// Free-form extras (device, seconds...).
    #[serde(default)]
    pub extra: serde_json::Value,
}

impl LamMap {
    /// The authors' picture: the map's seismic colours upscaled to the output size
    /// (nearest) and blended with the bicubic-upscaled input at alpha 0.5.
    pub fn blended(&self) -> Result<RgbImage> {
        blend(
            &vis_saliency(self.map(), self.scale),
            &self.input,
            BLEND_ALPHA,
        )
    }

    /// The kernel-density variant of [`LamMap::blended`].
    pub fn blended_kde(&self) -> Result<RgbImage> {
        blend(
            &vis_saliency_kde(self.map(), self.scale)?,
            &self.input,
            BLEND_ALPHA,
        )
    }

    /// The two blended pictures side by side, the ROI outlined in green (the
    /// kernel-density one left out when the map's weight sits on a line or a point,
    /// where the density is undefined, as scipy's would be).
    pub fn picture(&self) -> Result<RgbImage> {
        let a = crate::plot::with_roi_box(&self.blended()?, self.roi, 1);
        match self.blended_kde() {
            Ok(kde) => {
                let b = crate::plot::with_roi_box(&kde, self.roi, 1);
                Ok(crate::display::show_row(&[&a, &b]).image)
            }
            Err(_) => Ok(a),
        }
    }

    /// What `lam.json` holds (`image` is the caller's name for the image).
    pub fn info(&self, image: &str) -> LamInfo {
        LamInfo {
            cem_version: env!("CARGO_PKG_VERSION").into(),
            model: self.model.clone(),
            image: image.into(),
            settings: self.settings.clone(),
            roi: self.roi,
            scale: self.scale,
            width: self.input.width(),
            height: self.input.height(),
            gini: self.gini(),
            diffusion_index: self.diffusion_index(),
            extra: self.extra.clone(),
        }
    }

    /// Saves `lam.npy`, `lam.json`, `lam.png` and `input.png` in `dir` (created).
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let npy = dir.join(LAM_NPY);
        ndarray_npy::write_npy(&npy, self.map()).map_err(|e| Error::ResultFile {
            path: npy.clone(),
            reason: e.to_string(),
        })?;
        let info = self.info(&self.image);
        let json = dir.join(LAM_JSON);
        std::fs::write(&json, serde_json::to_vec_pretty(&info)?)
            .map_err(|e| Error::io(&json, e))?;
        save_rgb(&self.picture()?, dir.join(LAM_PNG))?;
        save_rgb(&self.input, dir.join(crate::map::INPUT_NAME))
    }

    /// Called by evcxr: the two blended pictures and the diffusion index.
    #[cfg(feature = "evcxr")]
    pub fn evcxr_display(&self) {
        match self.picture() {
            Ok(p) => crate::display::show(&p).evcxr_display(),
            Err(e) => println!("cannot draw LAM: {e}"),
        }
        println!(
            "LAM of {} at {:?}: Gini {:.4}, DI {:.2}",
            self.model,
            self.roi,
            self.gini(),
            self.diffusion_index()
        );
    }
}

/// A LAM read back from its folder: the map, its metadata and the input.
#[derive(Debug, Clone)]
pub struct StoredLam {
    /// The folder.
    pub dir: PathBuf,
    /// The normalised map.
    pub map: Array2<f32>,
    /// `lam.json`.
    pub info: LamInfo,
    /// `input.png`.
    pub input: RgbImage,
}

impl StoredLam {
    /// Reads a folder written by [`LamMap::save`] (or the path of a file in it).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let dir = if path.is_dir() {
            path
        } else {
            path.parent().unwrap_or(Path::new("."))
        };
        let json = dir.join(LAM_JSON);
        let text = std::fs::read_to_string(&json).map_err(|e| Error::io(&json, e))?;
        let info: LamInfo = serde_json::from_str(&text).map_err(|e| Error::ResultFile {
            path: json.clone(),
            reason: e.to_string(),
        })?;
        let npy = dir.join(LAM_NPY);
        let map: Array2<f32> = ndarray_npy::read_npy(&npy).map_err(|e| Error::ResultFile {
            path: npy.clone(),
            reason: e.to_string(),
        })?;
        let input = load_rgb(dir.join(crate::map::INPUT_NAME))?;
        if map.dim() != (input.height() as usize, input.width() as usize) {
            return Err(Error::ResultFile {
                path: npy,
                reason: format!(
                    "map is {:?} but input.png is {}x{}",
                    map.dim(),
                    input.width(),
                    input.height()
                ),
            });
        }
        Ok(StoredLam {
            dir: dir.to_path_buf(),
            map,
            info,
            input,
        })
    }

    /// The authors' blended picture at the output size.
    pub fn blended(&self) -> Result<RgbImage> {
        blend(
            &vis_saliency(&self.map, self.info.scale),
            &self.input,
            BLEND_ALPHA,
        )
    }
}
