//! # cem: Causal Effect Maps for low-level vision models
//!
//! Which input patches help a region of a restored image, which mislead it, and by
//! how many dB? `cem` answers with the Causal Effect Maps of Hu et al. ("Interpreting
//! Low-level Vision Models with Causal Effect Maps"), exactly as the authors'
//! pipeline computes them, with interventions assembled and measured on the model's
//! device.
//!
//! The flow of data, one module each:
//! [`image`] (u8 RGB, ROI PSNR) → [`degrade`] (SR / DN / DR and their interventions) →
//! [`library`] (natural patches, gradient density) → [`model`] (TorchScript, native,
//! closures) → [`engine`] (full and coarse-to-fine strategies) →
//! [`map`] (the [`CausalEffectMap`](map::CausalEffectMap), its statistics and files) →
//! [`stats`] (many maps as polars frames; Tables I-III) and [`plot`] (the figures).
//!
//! The public API is what [`prelude`] gathers and the module docs show. Features (all
//! on by default): `cli` builds the `cem` command (clap, anyhow, ctrlc) and its helper
//! modules; `evcxr` adds `evcxr_display` to pictures, figures and tables for inline
//! display in evcxr notebooks. `cargo build --no-default-features --lib` builds the
//! library alone.
//!
//! ```no_run
//! use cem::prelude::*;
//! # fn main() -> cem::Result<()> {
//! let hr = cem::image::load_rgb("demo_2.png")?;
//! let model = TorchScript::load("dncnn.pt", Device::Cpu)?;
//! let map = Cem::coarse_to_fine().run(&model, &hr, &Task::Dn { sigma: 50.0 }, Roi::new(96, 152, 32))?;
//! println!("{}", map.table1_line());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod attrib;
/// The engine's overhead against pure forward passes: a helper of `cem bench`, not
/// part of the library's API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod bench;
pub mod degrade;
/// The embedded defaults of `cem demo` (photo, ROI, shipped models): a helper of the
/// command line, not part of the library's API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod demo;
pub mod display;
pub mod engine;
pub mod error;
pub mod image;
pub mod library;
pub mod map;
pub mod model;
mod paths;
pub mod plot;
pub mod prelude;
pub mod stats;
pub mod sweep;
pub mod testset;
pub mod train;
pub mod zoo;

pub use error::{Error, Result};
