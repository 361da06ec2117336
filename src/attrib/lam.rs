//! Local Attribution Maps (Gu & Dong, CVPR 2021), exactly as the authors'
//! `SaliencyModel` package computes them: the path-integrated gradient of an ROI
//! objective along the Gaussian blur path.

use super::blur_path::blur_path;
use super::gini::{diffusion_index, gini};
use crate::error::{Error, Result};
use crate::image::{to_tensor, Roi};
use crate::model::Model;
use ::image::RgbImage;
use ndarray::{Array2, Array3};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// The scalar whose gradient LAM integrates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// `attr_grad`: the sum over channels and the ROI window of
    /// `sqrt((o[i,j] - o[i+1,j])^2 + (o[i,j] - o[i,j+1])^2)` (the default).
    Grad,
    /// `attr_id`: the plain sum of the window's outputs.
    Id,
}

impl Objective {
    /// Parses `grad` or `id`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "grad" => Ok(Objective::Grad),
            "id" => Ok(Objective::Id),
            _ => Err(Error::invalid("objective", s, "expected grad or id")),
        }
    }

    /// The objective of each output in `out` (`[B, C, H, W]`), summed over the
    /// batch (the samples are independent, so its gradient is each sample's own).
    pub(crate) fn eval(&self, out: &Tensor, roi: Roi) -> Result<Tensor> {
        let s = out.size();
        let (h, w) = (s[2], s[3]);
        let (x, y, size) = (roi.x as i64, roi.y as i64, roi.size as i64);
        let field = match self {
            Objective::Id => out.shallow_clone(),
            Objective::Grad => {
                let dh = (out.f_narrow(2, 0, h - 1)? - out.f_narrow(2, 1, h - 1)?).square();
                let dw = (out.f_narrow(3, 0, w - 1)? - out.f_narrow(3, 1, w - 1)?).square();
                (dh.f_narrow(3, 0, w - 1)? + dw.f_narrow(2, 0, h - 1)?).sqrt()
            }
        };
        // Python slicing: a window running past the (H-1)x(W-1) gradient field is cut
        let fs = field.size();
        let rows = size.min(fs[2] - y).max(0);
        let cols = size.min(fs[3] - x).max(0);
        Ok(field
            .f_narrow(2, y, rows)?
            .f_narrow(3, x, cols)?
            .sum(Kind::Float))
    }
}

/// The LAM settings; build with [`Lam::new`] and run with [`Lam::run`].
///
/// ```no_run
/// use cem::prelude::*;
/// use cem::attrib::Lam;
/// # fn main() -> cem::Result<()> {
/// let model = TorchScript::load("srresnet.pt", Device::Cpu)?;
/// let lr = load_rgb("lr.png")?;
/// let lam = Lam::new().batch(25).run(&model, &lr, Roi::new(110, 150, 16))?;
/// println!("DI = {:.2}", lam.diffusion_index());
/// lam.save("out/lam")?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lam {
    /// Blur of the path's start (the baseline), 1.2.
    pub sigma: f64,
    /// Path points, 50.
    pub fold: usize,
    /// Kernel side, 9.
    pub l: usize,
    /// The objective, `grad` by default.
    pub objective: Objective,
    /// Path points per model call (one backward each), 10.
    pub batch: usize,
}

impl Default for Lam {
    fn default() -> Self {
        Lam {
            sigma: 1.2,
            fold: 50,
            l: 9,
            objective: Objective::Grad,
            batch: 10,
        }
    }
}

impl Lam {
    /// The authors' defaults: sigma 1.2, fold 50, l 9, the `attr_grad` objective.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the baseline blur.
    pub fn sigma(mut self, sigma: f64) -> Self {
        self.sigma = sigma;
        self
    }

    /// Sets the number of path points.
    pub fn fold(mut self, fold: usize) -> Self {
        self.fold = fold;
        self
    }

    /// Sets the kernel side.
    pub fn l(mut self, l: usize) -> Self {
        self.l = l;
        self
    }

    /// Sets the objective.
    pub fn objective(mut self, objective: Objective) -> Self {
        self.objective = objective;
        self
    }

    /// Sets how many path points share one forward and one backward.
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n;
        self
    }

    fn check(&self) -> Result<()> {
        if !(self.sigma.is_finite() && self.sigma >= 0.0) {
            return Err(Error::invalid(
                "sigma",
                self.sigma,
                "must be finite and >= 0",
            ));
        }
        if self.fold == 0 {
            return Err(Error::invalid("fold", 0, "needs at least one path point"));
        }
        if self.l == 0 {
            return Err(Error::invalid("l", 0, "the kernel side must be >= 1"));
        }
        if self.batch == 0 {
            return Err(Error::invalid("batch", 0, "must be >= 1"));
        }
        Ok(())
    }

    /// LAM of `model` for the degraded input `input` (what the model receives) and an
    /// ROI in output pixels.
    pub fn run(&self, model: &dyn Model, input: &RgbImage, roi: Roi) -> Result<LamMap> {
        let x = to_tensor(input, tch::Device::Cpu).f_squeeze_dim(0)?;
        let (attribution, out_size) = self.attribution_sized(model, &x, roi)?;
        let (map, gini) = abs_norm(&attribution)?;
        Ok(LamMap {
            settings: self.clone(),
            model: model.name(),
            roi,
            scale: (out_size.0 / input.width().max(1)).max(1),
            input: input.clone(),
            image: String::new(),
            extra: serde_json::Value::Null,
            attribution,
            map,
            gini,
        })
    }

    /// The raw attribution `mean_k grad_k * derivative_k`, `[C, H, W]`, for the float
    /// input `x` (`[C, H, W]` in [0, 1]).
    pub fn attribution(&self, model: &dyn Model, x: &Tensor, roi: Roi) -> Result<Array3<f32>> {
        Ok(self.attribution_sized(model, x, roi)?.0)
    }

    /// [`Lam::attribution`] and the output's (width, height).
    fn attribution_sized(
        &self,
        model: &dyn Model,
        x: &Tensor,
        roi: Roi,
    ) -> Result<(Array3<f32>, (u32, u32))> {
        self.check()?;
        let size = x.size();
        if size.len() != 3 {
            return Err(Error::invalid(
                "LAM input",
                format!("{size:?}"),
                "expected [C, H, W]",
            ));
        }
        let device = model.device();
        let (points, derivs) = blur_path(x, self.sigma, self.fold, self.l, device)?;
        let mut sum = Tensor::zeros(size.as_slice(), (Kind::Double, device));
        let mut start = 0usize;
        let mut out_size = (0, 0);
        while start < self.fold {
            let n = self.batch.min(self.fold - start);
            let batch = points
                .f_narrow(0, start as i64, n as i64)?
                .f_detach()?
                .set_requires_grad(true);
            let out = model.forward_grad(&batch)?;
            if !out.requires_grad() {
                return Err(Error::NoGradients {
                    model: model.name(),
                    reason: "its output does not depend differentiably on the input".into(),
                });
            }
            let os = out.size();
            if os.len() != 4 {
                return Err(Error::invalid(
                    "model output",
                    format!("{os:?}"),
                    "expected [N, C, H, W]",
                ));
            }
            roi.check_inside(os[3] as u32, os[2] as u32)?;
            out_size = (os[3] as u32, os[2] as u32);
            let target = self.objective.eval(&out.f_to_kind(Kind::Float)?, roi)?;
            let grads = Tensor::f_run_backward(&[&target], &[&batch], false, false)?;
            // NaN gradients (sqrt at 0 in attr_grad) count as 0, as the authors set them
            let g = &grads[0];
            let grad = g.f_where_self(&g.f_isnan()?.f_logical_not()?, &g.f_zeros_like()?)?;
            let d = derivs.f_narrow(0, start as i64, n as i64)?;
            let contrib = (grad * d).f_to_kind(Kind::Double)?.f_sum_dim_intlist(
                [0i64].as_slice(),
                false,
                Kind::Double,
            )?;
            sum += contrib;
            start += n;
        }
        let mean = (sum / self.fold as f64)
            .f_to_kind(Kind::Float)?
            .f_to_device(tch::Device::Cpu)?;
        let v = Vec::<f32>::try_from(mean.f_contiguous()?.f_view([-1])?)?;
        let a = Array3::from_shape_vec((size[0] as usize, size[1] as usize, size[2] as usize), v)
            .map_err(|e| {
            Error::invalid("attribution shape", format!("{size:?}"), e.to_string())
        })?;
        Ok((a, out_size))
    }
}

/// The authors' `grad_abs_norm`: `|sum over channels|` divided by its maximum; with
/// the map's Gini index.
pub(crate) fn abs_norm(attribution: &Array3<f32>) -> Result<(Array2<f32>, f64)> {
    let summed = attribution.sum_axis(ndarray::Axis(0)).mapv(f32::abs);
    let max = summed.iter().copied().fold(0.0f32, f32::max);
    if max.is_nan() || max <= 0.0 || max.is_infinite() {
        return Err(Error::invalid(
            "LAM attribution",
            format!("max |sum| = {max}"),
            "the objective's gradient is zero (or not finite) along the whole path; is the ROI where the model's output varies?",
        ));
    }
    let map = summed.mapv(|v| v / max);
    let flat: Vec<f64> = map.iter().map(|&v| v as f64).collect();
    Ok((map, gini(&flat)))
}

/// A computed LAM: the normalised map on the input grid, its Gini and diffusion
/// indices, and what it was computed from.
#[derive(Debug, Clone)]
pub struct LamMap {
    /// The settings used.
    pub settings: Lam,
    /// The model's name.
    pub model: String,
    /// The ROI in output pixels.
    pub roi: Roi,
    /// Output size / input size.
    pub scale: u32,
    /// The degraded input.
    pub input: RgbImage,
    /// A name for the image, written to `lam.json` (empty unless set).
    pub image: String,
    /// Free-form extras written to `lam.json` (the CLI puts device and seconds here).
    pub extra: serde_json::Value,
    attribution: Array3<f32>,
    map: Array2<f32>,
    gini: f64,
}

impl LamMap {
    /// The normalised map `|sum_c attribution| / max`, `[H, W]` on the input grid.
    pub fn map(&self) -> &Array2<f32> {
        &self.map
    }

    /// The raw attribution `mean_k grad_k * derivative_k`, `[C, H, W]`.
    pub fn attribution(&self) -> &Array3<f32> {
        &self.attribution
    }

    /// The map's Gini index.
    pub fn gini(&self) -> f64 {
        self.gini
    }

    /// The diffusion index `(1 - Gini) * 100`.
    pub fn diffusion_index(&self) -> f64 {
        diffusion_index(self.gini)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_by_hand() {
        // one channel, 3x3: o = [[0, 1, 3], [2, 2, 2], [5, 1, 0]]
        let o = Tensor::from_slice(&[0.0f32, 1., 3., 2., 2., 2., 5., 1., 0.]).view([1, 1, 3, 3]);
        let v = |t: Tensor| t.double_value(&[]);
        // attr_grad at (0,0): sqrt((0-2)^2 + (0-1)^2) = sqrt 5; (0,1): sqrt(1 + 4);
        // (1,0): sqrt(9 + 0); (1,1): sqrt(1 + 0)
        let g = Objective::Grad;
        let all = v(g.eval(&o, Roi::new(0, 0, 2)).unwrap());
        assert!((all - (5f64.sqrt() * 2.0 + 3.0 + 1.0)).abs() < 1e-6);
        // a window past the 2x2 gradient field is cut, as Python slicing does
        let cut = v(g.eval(&o, Roi::new(1, 1, 2)).unwrap());
        assert!((cut - 1.0).abs() < 1e-6);
        let id = v(Objective::Id.eval(&o, Roi::new(1, 0, 2)).unwrap());
        assert!((id - (1.0 + 3.0 + 2.0 + 2.0)).abs() < 1e-6);
        assert_eq!(Objective::parse("id").unwrap(), Objective::Id);
    }
}
