//! Figures with plotters: causal effect maps, pies, colour bars and the paper's
//! multi-panel layouts, as PNG or SVG, inline in evcxr as one image.
//!
//! A map is drawn as in the reference (Fig. 1, 7): each cell a block at output scale in
//! matplotlib's "seismic" colours centred at 0, stretched by `sign(v)|v|^(1/1.2)` and
//! clipped to a task bound (SR 2.5, DN 1, DR 2 dB); ROI cells pure green and outlined;
//! blended over the upscaled input with alpha 0.1 for the input. The pie shows the
//! positive / negative / none shares (red / blue / grey); the colour bar the map's
//! min and max effect (plotters has none; [`colorbar`] builds one).
//!
//! ```no_run
//! use cem::map::MapRun;
//! use cem::plot::{panel, MapStyle};
//! # fn main() -> cem::Result<()> {
//! let view = MapRun::load("out/demo")?;         // cem.json + input.png/output.png
//! let fig = panel(&view, &MapStyle::default())?;
//! fig.save("panel.png")?;                       // or .svg; in evcxr `fig` shows inline
//! # Ok(()) }
//! ```
//!
//! Layouts: [`panel`] (input, output, map, pie, colour bar), [`grid`] and
//! [`grid_by_model_and_task`] (Fig. 9b, 11), [`compare`] (Fig. 7, 9a, 12d, 13d, one
//! shared colour bar) and [`pies`] (Fig. 10, 12a-c, 13a-c, from a Table I). The library's
//! patches by gradient range and the histogram of `G` with `D` and `U` draws per range
//! (Fig. 17): [`library_patches`], [`gradient_histogram`], [`range_counts`]. Text is set
//! in the shipped DejaVu Sans, so figures render the same on every machine.

mod colors;
mod figure;
mod layouts;
mod library;
mod parts;
mod psnr;

pub(crate) use colors::SEISMIC_STOPS;
pub use colors::{
    effect_color, seismic, stretch, task_bound, NEGATIVE_BLUE, NONE_GREY, POSITIVE_RED, ROI_GREEN,
};
pub(crate) use figure::register_fonts;
pub use figure::{Align, Figure, Op};
pub use layouts::{compare, grid, grid_by_model_and_task, panel, panels, pies, PieStats};
pub use library::{gradient_histogram, library_patches, range_counts, RangeCount};
pub use parts::{colorbar, fit, map_image, outline, pie, with_roi_box, MapStyle, Shares};
pub use psnr::{pies_with_psnr, psnr_panel, psnr_table, PsnrBar};

/// The result folder's type under the name figures used before it became the result
/// of a run: the same type as [`crate::map::MapRun`].
pub type MapView = crate::map::MapRun;
