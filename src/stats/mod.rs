//! Statistics over many stored maps, with polars: the paper's Tables I, II and III.
//!
//! Researchers run maps over models x images x tasks x libraries x strategies and keep
//! each as a result folder (`cem.csv` + `cem.json`). [`MapSet::load`] reads any number of
//! them (folders searched recursively, globs); [`MapSet::frame`] gives one row per map,
//! [`MapSet::cells`] a lazily scanned row per cell for custom analysis, and
//! [`MapSet::table1`], [`MapSet::table2`], [`MapSet::table3`] the paper's tables.
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
//! cells, printed `(-0.21, 1.22)`. Table III's inference share is a map's inference
//! count over that of the full-pipeline map (`Full<T>`) of the same
//! model/task/image/ROI/block/library, and S is [`CausalEffectMap::similarity`]
//! against that map.
//!
//! [`CausalEffectMap::similarity`]: crate::map::CausalEffectMap::similarity

mod collect;
mod frames;
mod table;
mod tables;

pub use collect::find_maps;
pub use frames::{column_floats, column_strings, library_name, MapSet};
pub use table::{fixed, range_cell, Section, Table};
pub use tables::task_title;
