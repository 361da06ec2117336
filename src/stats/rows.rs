//! Typed rows of the computed tables, for code that reads them (figures, notebooks)
//! instead of looking columns up by name in [`Table::frame`](super::Table::frame).

use serde::Serialize;

/// One row of Table I: a task and model's means over its maps.
///
/// ```no_run
/// # fn main() -> cem::Result<()> {
/// let maps = cem::stats::MapSet::load(&["runs/"])?;
/// for row in maps.table1_rows()? {
///     println!("{} {}: {:.2}% positive over {} maps", row.task, row.model, row.positive_pct, row.maps);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table1Row {
    /// The task (`sr`, `dn`, `dr`, ...).
    pub task: String,
    /// The model's name.
    pub model: String,
    /// Maps averaged.
    pub maps: u32,
    /// Distinct images among them.
    pub images: u32,
    /// Mean share of positive cells (ROI cells count as positive), in percent.
    pub positive_pct: f64,
    /// Mean share of negative cells, in percent.
    pub negative_pct: f64,
    /// Mean share of cells with no effect, in percent.
    pub none_pct: f64,
    /// (mean per-map minimum, mean per-map maximum) effect over non-ROI cells, in dB;
    /// `None` when no map of the row has a cell outside its ROI to measure.
    pub range_db: Option<(f64, f64)>,
}

impl Table1Row {
    /// Positive plus negative share: the paper's order (descending).
    pub fn affected_pct(&self) -> f64 {
        self.positive_pct + self.negative_pct
    }
}
