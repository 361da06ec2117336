//! The CEM engine: Alg. 1 with Eq. 2 (full pipeline) and the coarse-to-fine strategy
//! of Eq. 3-4, with the conventions of the authors' pipeline.
//!
//! One file per stage of a run:
//! - [`builder`](Cem): the [`Cem`] builder, the method's settings and their checks;
//! - `run`: one run: setup, the locality check, the stages, the assembled map;
//! - `strategy`: the [`Strategy`] and how each plans its stages;
//! - `stages`: running a stage (checkpoint, stop, record) and its small helpers;
//! - `context`, `runner`, `locality`: what a run shares, the batched evaluation of
//!   interventions on the device, and the locality check that crops the input;
//! - `grid`, `checkpoint`, `stop`, `signals`: cells, resumable runs, stopping.
//!
//! ```no_run
//! use cem::prelude::*;
//! # fn main() -> cem::Result<()> {
//! # let model = TorchScript::load("m.pt", Device::Cpu)?;
//! # let hr = load_rgb("hr.png")?;
//! let map = Cem::coarse_to_fine().seed(1).run(&model, &hr, &Task::Sr { scale: 4 }, Roi::new(96, 152, 32))?;
//! let full = Cem::full(500).run(&model, &hr, &Task::Sr { scale: 4 }, Roi::new(96, 152, 32))?;
//! println!("S = {:.1}%", map.similarity(&full)?);
//! # Ok(()) }
//! ```

mod builder;
mod checkpoint;
mod context;
mod grid;
mod locality;
mod run;
mod runner;
pub(crate) mod signals;
mod stages;
mod stop;
mod strategy;

pub use builder::Cem;
pub use grid::Grid;
pub use locality::{Locality, Region, Trial, DEFAULT_CHECKS};
pub use signals::{exit_now, install_signal_handler, INTERRUPTED_EXIT_CODE};
pub use stop::{clear_stop, request_stop, stop_requested};
pub use strategy::Strategy;

/// Seconds between checkpoint writes during a run (and always at a stop or error).
pub const CHECKPOINT_EVERY_S: f64 = 2.0;
