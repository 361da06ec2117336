//! The single-pixel experiment (the paper's Fig. 8): one input pixel of a map's most
//! negative cell becomes a learnable RGB value, optimised with Adam to bring the
//! output ROI towards the ground truth; the ROI PSNR is recorded at every iteration.

use super::chart::line_chart;
use crate::error::{Error, Result};
use crate::image::{to_tensor, Roi, RoiMeter};
use crate::map::{CausalEffectMap, CellKind};
use crate::model::Model;
use crate::plot::{Figure, Op};
use ::image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

/// File name of the per-iteration record.
pub const PIXEL_CSV: &str = "pixel.csv";
/// File name of the summary.
pub const PIXEL_JSON: &str = "pixel.json";
/// File name of the figure.
pub const PIXEL_PNG: &str = "pixel.png";
pub use crate::map::HR_NAME;

/// What the experiment needs from a map folder written by `cem map`: the map, its
/// degraded input (`input.png`), its ground truth (`hr.png`) and which model made it.
#[derive(Debug, Clone)]
pub struct MapFolder {
    /// The folder.
    pub dir: std::path::PathBuf,
    /// The map.
    pub map: CausalEffectMap,
    /// The model's input.
    pub input: RgbImage,
    /// The ground truth.
    pub truth: RgbImage,
}

impl MapFolder {
    /// Reads the result folder `dir` ([`crate::map::MapRun::load`]), which must hold
    /// `input.png` and `hr.png`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let run = crate::map::MapRun::load(dir)?;
        let need = |image: Option<RgbImage>, name: &str| {
            image.ok_or_else(|| Error::ResultFile {
                path: dir.join(name),
                reason: format!("the map folder lacks {name} (written by cem map since the pixel experiment; run it again)"),
            })
        };
        Ok(MapFolder {
            dir: dir.to_path_buf(),
            input: need(run.input, crate::map::INPUT_NAME)?,
            truth: need(run.hr, HR_NAME)?,
            map: run.map,
        })
    }

    /// The model the map was made with, as `cem map --model` named it.
    pub fn model_spec(&self) -> Result<String> {
        self.map
            .info
            .model_spec
            .clone()
            .ok_or_else(|| Error::ResultFile {
                path: self.dir.join(crate::map::JSON_NAME),
                reason:
                    "the map does not name its model (no model_spec); give the model explicitly"
                        .into(),
            })
    }
}

/// Settings of the single-pixel experiment.
///
/// ```no_run
/// use cem::prelude::*;
/// use cem::attrib::PixelOpt;
/// # fn main() -> cem::Result<()> {
/// let map = cem::map::load("out/map")?;
/// let model = TorchScript::load("dncnn.pt", Device::Cpu)?;
/// let (input, truth) = (load_rgb("out/map/input.png")?, load_rgb("out/map/hr.png")?);
/// let result = PixelOpt::new().iters(500).run(&model, &input, &truth, &map)?;
/// println!("gain {:+.2} dB", result.gain_db());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PixelOpt {
    /// Adam steps, 2000.
    pub iters: usize,
    /// Adam's learning rate, 0.01.
    pub lr: f64,
    /// The input pixel `(x, y)` to optimise; by default the cell's pixel with the
    /// largest loss-gradient norm at the start.
    pub pixel: Option<(u32, u32)>,
}

impl Default for PixelOpt {
    fn default() -> Self {
        PixelOpt {
            iters: 2000,
            lr: 0.01,
            pixel: None,
        }
    }
}

/// One iteration's record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelStep {
    /// Iteration (0 = before any step).
    pub iteration: usize,
    /// ROI PSNR (u8-rounded output), dB.
    pub psnr_db: f64,
    /// The pixel's RGB in [0, 1].
    pub rgb: [f64; 3],
}

/// What the experiment found.
#[derive(Debug, Clone, Serialize)]
pub struct PixelResult {
    /// The settings.
    pub settings: PixelOpt,
    /// The model's name.
    pub model: String,
    /// The most negative cell `(row, col)`.
    pub cell: (u32, u32),
    /// Its effect in dB.
    pub cell_effect_db: f64,
    /// The optimised input pixel `(x, y)`.
    pub pixel: (u32, u32),
    /// How the pixel was chosen.
    pub pixel_choice: String,
    /// The map's ROI.
    pub roi: Roi,
    /// The map's original ROI PSNR `O`.
    pub map_original_psnr: f64,
    /// Every iteration, 0..=iters.
    pub steps: Vec<PixelStep>,
    /// ROI PSNR with the pixel set to (0, 0, 0) directly.
    pub black_psnr_db: f64,
    /// The degraded input (for the figure).
    #[serde(skip)]
    pub input: RgbImage,
    /// The cell side in input pixels.
    pub block_in: u32,
}

impl PixelResult {
    /// PSNR before the first step.
    pub fn start_psnr(&self) -> f64 {
        self.steps[0].psnr_db
    }

    /// PSNR after the last step.
    pub fn final_psnr(&self) -> f64 {
        self.steps[self.steps.len() - 1].psnr_db
    }

    /// Final minus start PSNR.
    pub fn gain_db(&self) -> f64 {
        self.final_psnr() - self.start_psnr()
    }

    /// The pixel's final RGB.
    pub fn final_rgb(&self) -> [f64; 3] {
        self.steps[self.steps.len() - 1].rgb
    }

    /// Writes `pixel.csv` (iteration, psnr_db, r, g, b) and `pixel.json` in `dir`.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut csv = String::from("iteration,psnr_db,r,g,b\n");
        for s in &self.steps {
            let _ = writeln!(
                csv,
                "{},{},{},{},{}",
                s.iteration, s.psnr_db, s.rgb[0], s.rgb[1], s.rgb[2]
            );
        }
        let path = dir.join(PIXEL_CSV);
        std::fs::write(&path, csv).map_err(|e| Error::io(&path, e))?;
        let summary = serde_json::json!({
            "model": self.model,
            "settings": self.settings,
            "cell": { "row": self.cell.0, "col": self.cell.1, "effect_db": self.cell_effect_db },
            "pixel": { "x": self.pixel.0, "y": self.pixel.1, "choice": self.pixel_choice },
            "roi": self.roi,
            "map_original_psnr_db": self.map_original_psnr,
            "start_psnr_db": self.start_psnr(),
            "final_psnr_db": self.final_psnr(),
            "gain_db": self.gain_db(),
            "final_rgb": self.final_rgb(),
            "black_pixel_psnr_db": self.black_psnr_db,
            "black_pixel_gain_db": self.black_psnr_db - self.start_psnr(),
        });
        let path = dir.join(PIXEL_JSON);
        std::fs::write(&path, serde_json::to_vec_pretty(&summary)?).map_err(|e| Error::io(&path, e))
    }

    /// Called by evcxr: the figure and a one-line summary.
    #[cfg(feature = "evcxr")]
    pub fn evcxr_display(&self) {
        match self.figure() {
            Ok(f) => f.evcxr_display(),
            Err(e) => println!("cannot draw: {e}"),
        }
        println!(
            "cell ({},{}), pixel ({},{}): {:.3} -> {:.3} dB ({:+.3}); black pixel {:.3} dB",
            self.cell.0,
            self.cell.1,
            self.pixel.0,
            self.pixel.1,
            self.start_psnr(),
            self.final_psnr(),
            self.gain_db(),
            self.black_psnr_db
        );
    }

    /// Fig. 8c/d: the input with the pixel marked (red ring, cell in blue) beside the
    /// PSNR-gain curve over iterations.
    pub fn figure(&self) -> Result<Figure> {
        let (input, block_in) = (&self.input, self.block_in);
        let side = 360u32;
        let k = (side / input.width().max(input.height()).max(1)).max(1);
        let mut big = ::image::imageops::resize(
            input,
            input.width() * k,
            input.height() * k,
            ::image::imageops::FilterType::Nearest,
        );
        let (cx, cy) = (self.cell.1 * block_in * k, self.cell.0 * block_in * k);
        crate::plot::outline(
            &mut big,
            (cx, cy),
            (cx + block_in * k, cy + block_in * k),
            Rgb([0, 90, 255]),
            1,
        );
        let (px, py) = (self.pixel.0 * k, self.pixel.1 * k);
        let r = (k * 2).max(4);
        crate::plot::outline(
            &mut big,
            (px.saturating_sub(r), py.saturating_sub(r)),
            (px + k + r, py + k + r),
            Rgb([255, 0, 0]),
            2,
        );
        let start = self.start_psnr();
        let pts: Vec<(f64, f64)> = self
            .steps
            .iter()
            .map(|s| (s.iteration as f64, s.psnr_db - start))
            .collect();
        let chart = line_chart(
            &[(String::new(), pts)],
            &format!(
                "one pixel: {:+.2} dB (black pixel {:+.2} dB)",
                self.gain_db(),
                self.black_psnr_db - start
            ),
            "iteration",
            "PSNR gain (dB)",
            Some(0.0),
            (520, big.height().max(300) + 40),
        )?;
        let (w, h) = (
            big.width() + 20 + chart.width(),
            chart.height().max(big.height() + 40),
        );
        let mut fig = Figure::new(w, h);
        fig.text(
            big.width() as i32 / 2,
            16,
            format!(
                "cell ({},{}), pixel ({},{})",
                self.cell.0, self.cell.1, self.pixel.0, self.pixel.1
            ),
            14.0,
            crate::plot::Align::Center,
        );
        fig.push(Op::Image {
            x: 0,
            y: 34,
            image: big,
        });
        fig.push(Op::Image {
            x: (w - chart.width()) as i32,
            y: 0,
            image: chart,
        });
        Ok(fig)
    }
}

impl PixelOpt {
    /// The paper's settings: 2000 Adam steps at learning rate 0.01.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of Adam steps.
    pub fn iters(mut self, n: usize) -> Self {
        self.iters = n;
        self
    }

    /// Sets the learning rate.
    pub fn lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// Chooses the input pixel `(x, y)` (it must lie in the most negative cell).
    pub fn pixel(mut self, x: u32, y: u32) -> Self {
        self.pixel = Some((x, y));
        self
    }

    /// Runs the experiment for `map`, whose model is `model`, degraded input `input`
    /// and ground truth `truth`.
    pub fn run(
        &self,
        model: &dyn Model,
        input: &RgbImage,
        truth: &RgbImage,
        map: &CausalEffectMap,
    ) -> Result<PixelResult> {
        if self.iters == 0 {
            return Err(Error::invalid("iters", 0, "needs at least one Adam step"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::invalid("lr", self.lr, "must be a positive number"));
        }
        let info = &map.info;
        if model.name() != info.model {
            return Err(Error::invalid(
                "model",
                model.name(),
                format!("the map was made by model '{}'", info.model),
            ));
        }
        let scale = info.scale.max(1);
        if truth.dimensions() != (input.width() * scale, input.height() * scale) {
            return Err(Error::SizeMismatch {
                what: format!(
                    "ground truth for a {}x{} input at scale {scale}",
                    input.width(),
                    input.height()
                ),
                expected: format!("{}x{}", input.width() * scale, input.height() * scale),
                got: format!("{}x{}", truth.width(), truth.height()),
            });
        }
        let cell = most_negative(map)?;
        let block_in = info.block / scale;
        let (x0, y0) = (cell.col * block_in, cell.row * block_in);
        let device = model.device();
        let meter = RoiMeter::new(truth, info.roi, device)?;
        let base = to_tensor(input, device);
        let truth_roi = to_tensor(truth, device)
            .narrow(2, info.roi.y as i64, info.roi.size as i64)
            .narrow(3, info.roi.x as i64, info.roi.size as i64);
        let loss_of = |out: &Tensor| -> Result<Tensor> {
            let roi = out
                .f_narrow(2, info.roi.y as i64, info.roi.size as i64)?
                .f_narrow(3, info.roi.x as i64, info.roi.size as i64)?;
            Ok(roi.f_mse_loss(&truth_roi, tch::Reduction::Mean)?)
        };
        let (pixel, choice) = match self.pixel {
            Some((x, y)) => {
                if x < x0 || y < y0 || x >= x0 + block_in || y >= y0 + block_in {
                    return Err(Error::invalid(
                        "pixel",
                        format!("{x},{y}"),
                        format!(
                            "must lie in the most negative cell ({},{}): x in {x0}..{}, y in {y0}..{}",
                            cell.row,
                            cell.col,
                            x0 + block_in,
                            y0 + block_in
                        ),
                    ));
                }
                ((x, y), "given".to_string())
            }
            None => {
                let x = base.detach().set_requires_grad(true);
                let out = model.forward_grad(&x)?;
                if !out.requires_grad() {
                    return Err(Error::NoGradients {
                        model: model.name(),
                        reason: "its output does not depend differentiably on the input".into(),
                    });
                }
                let grads = Tensor::f_run_backward(&[loss_of(&out)?], &[&x], false, false)?;
                let g = &grads[0];
                let norms = g
                    .f_narrow(2, y0 as i64, block_in as i64)?
                    .f_narrow(3, x0 as i64, block_in as i64)?
                    .f_square()?
                    .f_sum_dim_intlist([0i64, 1].as_slice(), false, Kind::Double)?
                    .f_to_device(Device::Cpu)?;
                let v = Vec::<f64>::try_from(norms.f_contiguous()?.f_view([-1])?)?;
                // first maximum in row-major order
                let mut best = 0;
                for (i, n) in v.iter().enumerate() {
                    if *n > v[best] {
                        best = i;
                    }
                }
                let (dy, dx) = (best as u32 / block_in, best as u32 % block_in);
                (
                    (x0 + dx, y0 + dy),
                    "largest loss-gradient norm at the start".to_string(),
                )
            }
        };
        let (px, py) = (pixel.0 as i64, pixel.1 as i64);
        let mask = Tensor::zeros(
            [1, 1, input.height() as i64, input.width() as i64],
            (Kind::Float, device),
        );
        let _ = mask.narrow(2, py, 1).narrow(3, px, 1).fill_(1.0);
        let keep = (&mask * -1.0 + 1.0) * &base;
        let start_rgb = base.narrow(2, py, 1).narrow(3, px, 1).reshape([1, 3, 1, 1]);

        let vs = nn::VarStore::new(device);
        let p = vs.root().var_copy("pixel", &start_rgb);
        let mut opt = nn::Adam::default().build(&vs, self.lr)?;
        let mut steps = Vec::with_capacity(self.iters + 1);
        for it in 0..=self.iters {
            let x = &keep + &mask * &p;
            let out = model.forward_grad(&x)?;
            let psnr = meter.measure(&out.detach())?[0];
            let rgb = Vec::<f64>::try_from(
                p.detach()
                    .to_kind(Kind::Double)
                    .to_device(Device::Cpu)
                    .view([-1]),
            )?;
            steps.push(PixelStep {
                iteration: it,
                psnr_db: psnr,
                rgb: [rgb[0], rgb[1], rgb[2]],
            });
            if it == self.iters {
                break;
            }
            let loss = loss_of(&out)?;
            if !loss.requires_grad() {
                return Err(Error::NoGradients {
                    model: model.name(),
                    reason: "its output does not depend differentiably on the input".into(),
                });
            }
            opt.zero_grad();
            loss.backward();
            opt.step();
            tch::no_grad(|| {
                let mut q = p.shallow_clone();
                let _ = q.clamp_(0.0, 1.0);
            });
        }
        let black = model.forward(&keep)?;
        let black_psnr = meter.measure(&black)?[0];
        Ok(PixelResult {
            settings: self.clone(),
            model: model.name(),
            cell: (cell.row, cell.col),
            cell_effect_db: cell.effect_db,
            pixel,
            pixel_choice: choice,
            roi: info.roi,
            map_original_psnr: info.original_psnr,
            steps,
            black_psnr_db: black_psnr,
            input: input.clone(),
            block_in,
        })
    }
}

/// The cell with the lowest effect (ties: the first in row-major order); it must be
/// negative.
pub fn most_negative(map: &CausalEffectMap) -> Result<crate::map::Cell> {
    let mut best: Option<&crate::map::Cell> = None;
    for c in map
        .cells
        .iter()
        .filter(|c| c.kind != CellKind::Roi && c.effect_db.is_finite())
    {
        if best.is_none_or(|b| c.effect_db < b.effect_db) {
            best = Some(c);
        }
    }
    match best {
        Some(c) if c.effect_db < 0.0 => Ok(*c),
        _ => Err(Error::invalid(
            "map",
            &map.info.model,
            "it has no cell with a negative effect, so there is no patch to fix",
        )),
    }
}
