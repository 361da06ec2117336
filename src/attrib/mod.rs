//! Attribution beside CEM: LAM (Local Attribution Maps, Gu & Dong, CVPR 2021) as the
//! authors' `SaliencyModel` package computes it, the single-pixel experiment of the
//! CEM paper's Fig. 8, and ATE traces (Fig. 6).
//!
//! ```no_run
//! use cem::prelude::*;
//! use cem::attrib::Lam;
//! # fn main() -> cem::Result<()> {
//! let model = cem::zoo::shipped("srresnet-s-x4", Device::Cpu)?;
//! let lr = load_rgb("lr.png")?;
//! let lam = Lam::new().run(&model, &lr, Roi::new(96, 152, 16))?;
//! println!("Gini {:.3}, DI {:.1}", lam.gini(), lam.diffusion_index());
//! # Ok(()) }
//! ```

mod blur_path;
mod chart;
mod figure;
mod files;
mod gini;
mod lam;
mod pixel;
mod trace;
mod vis;

pub use blur_path::{blur_path, filter2d, gaussian_kernel, path_kernels};
pub use chart::{line_chart, Series};
pub use figure::{find_lams, lam_vs_cem, pair_lams_with_maps};
pub use files::{LamInfo, StoredLam, BLEND_ALPHA, LAM_JSON, LAM_NPY, LAM_PNG};
pub use gini::{diffusion_index, gini};
pub use lam::{Lam, LamMap, Objective};
pub use pixel::{
    most_negative, MapFolder, PixelOpt, PixelResult, PixelStep, HR_NAME, PIXEL_CSV, PIXEL_JSON,
    PIXEL_PNG,
};
pub use trace::{trace_figure, Trace, Traces, TRACE_CSV};
pub use vis::{blend, kde, seismic_u8, vis_saliency, vis_saliency_kde};
