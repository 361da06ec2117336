//! Statistics over many stored maps, with polars: the paper's Tables I, II and III.
//!
//! Researchers run maps over models x images x tasks x libraries x strategies and keep
//! each as a result folder (`cem.csv` + `cem.json`). [`MapSet::load`] reads any number of
//! them (folders searched recursively, globs); [`MapSet::frame`] gives one row per map,
//! [`MapSet::cells`] a lazily scanned row per cell for custom analysis, and
//! [`MapSet::table1`], [`MapSet::table2`], [`MapSet::table3`] the paper's tables, and
//! [`MapSet::table1_rows`] Table I as typed [`Table1Row`]s (what the figures read).
//!
//! The files: `collect` finds result folders, `frames` loads them into polars frames,
//! `compute` computes the tables, `rows` holds their typed rows and `output` the
//! [`Table`] they are laid out in and written from.
//!
//! ```no_run
//! # fn main() -> cem::Result<()> {
//! let maps = cem::stats::MapSet::load(&["runs/"])?;
//! let t = maps.table1()?;
//! println!("{t}");          // aligned text; in evcxr, `t` alone shows an HTML table
//! t.write("table1.md")?;   // or .csv / .parquet (numbers), .html, .tsv, .txt
//! # Ok(()) }
//! ```
//!
//! How the paper's numbers are formed, and so ours: the per-map shares count ROI cells
//! as positive (the reference does); a row's shares are means over its maps; its range
//! is (mean of the per-map minimum effect, mean of the per-map maximum), over non-ROI
//! cells, printed `(-0.21, 1.22)` (`(no cell)` when no map of the row has a cell
//! outside its ROI: a ROI covering the whole grid leaves nothing to measure). Table III's inference share is a map's inference
//! count over that of the full-pipeline map (`Full<T>`) of the same
//! model/task/image/ROI/block/library, and S is [`CausalEffectMap::similarity`]
//! against that map.
//!
//! [`CausalEffectMap::similarity`]: crate::map::CausalEffectMap::similarity

mod collect;
mod compute;
mod frames;
mod output;
mod rows;

pub use collect::find_maps;
pub use compute::task_title;
pub(crate) use frames::library_name;
pub use frames::MapSet;
pub use output::{Section, Table};
pub use rows::Table1Row;
