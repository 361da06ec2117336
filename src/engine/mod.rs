//! The CEM engine: Alg. 1 with Eq. 2 (full pipeline) and the coarse-to-fine strategy
//! of Eq. 3-4, with the conventions of the authors' pipeline.
//!
//! [`Cem::run`] returns a [`MapRun`](crate::map::MapRun): the map with its record, the
//! degraded input, the model's output and the ground truth.
//!
//! One file per stage of a run:
//! - `builder`: the [`Cem`] builder, the method's settings and their checks (settings
//!   that do not apply are refused), and the per-run inputs, [`RunOptions`];
//! - `run`: one run: setup, the locality check, the stages, the assembled result;
//! - `strategy`: the [`Strategy`] and how each plans its stages;
//! - `stages`: running a stage (checkpoint, stop, record) and its small helpers;
//! - [`adaptive`], `adaptive_run`: the adaptive strategy's plan (a pure function of the
//!   per-cell results) and the stage that runs it round by round; [`control`] and
//!   [`stratified`], its two variance reductions (`-cv`, `-s`);
//! - `context`, `runner`, `locality`: what a run shares, the batched evaluation of
//!   interventions on the device, and the locality check that crops the input;
//! - `grid`, `checkpoint`, `stop`, `signals`: cells, resumable runs, stopping.
//!
//! ```no_run
//! use cem::prelude::*;
//! # fn main() -> cem::Result<()> {
//! # let model = TorchScript::load("m.pt", Device::Cpu)?;
//! # let hr = load_rgb("hr.png")?;
//! let run = Cem::coarse_to_fine().seed(1).run(&model, &hr, &Task::Sr { scale: 4 }, Roi::new(96, 152, 32))?;
//! let full = Cem::full(500).run(&model, &hr, &Task::Sr { scale: 4 }, Roi::new(96, 152, 32))?;
//! println!("S = {:.1}%", run.similarity(&full)?);
//! # Ok(()) }
//! ```

pub mod adaptive;
mod adaptive_run;
mod builder;
pub(crate) mod checkpoint;
mod context;
pub mod control;
mod grid;
mod locality;
pub(crate) mod run;
mod runner;
pub(crate) mod signals;
mod stages;
mod stop;
mod strategy;
pub mod stratified;

pub use adaptive::{thresholded_loss, Adaptive, Running, QUICK_DRAWS, QUICK_FRACTION};
pub use builder::{Cem, RunOptions};
pub use control::Regression;
pub use grid::Grid;
pub use locality::{Locality, Region, Trial, DEFAULT_CHECKS};
pub use signals::{exit_now, install_signal_handler, INTERRUPTED_EXIT_CODE};
pub use stop::{clear_stop, request_stop, stop_requested};
pub use strategy::{Strategy, StrategyChoice};
pub use stratified::StratifiedMean;

/// Seconds between checkpoint writes during a run (and always at a stop or error).
pub const CHECKPOINT_EVERY_S: f64 = 2.0;
