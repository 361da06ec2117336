//! ATE traces (the paper's Fig. 6): every intervention's ROI PSNR for chosen cells,
//! kept by [`crate::engine::Cem::trace`], written as `trace.csv` beside the map, and
//! the running mean effect `O - mean(PSNR_1..n)` against the number of interventions.

use super::chart::{line_chart, Series};
use crate::error::{Error, Result};
use crate::map::CausalEffectMap;
use crate::plot::Figure;
use std::fmt::Write as _;
use std::path::Path;

/// File name of the traces.
pub const TRACE_CSV: &str = "trace.csv";
const HEADER: &str = "row,col,draw,psnr_db";

pub use crate::map::Trace;

impl Trace {
    /// The running mean effect `O - mean(psnr_1..n)` for `n = 1..`, in dB (without
    /// the map's tolerance zeroing).
    pub fn running_effect(&self, original_psnr: f64) -> Vec<f64> {
        let mut sum = 0.0;
        self.psnr_db
            .iter()
            .enumerate()
            .map(|(i, p)| {
                sum += p;
                original_psnr - sum / (i + 1) as f64
            })
            .collect()
    }
}

/// The traces of one map, with what the figure needs from it.
#[derive(Debug, Clone)]
pub struct Traces {
    /// The map's model.
    pub model: String,
    /// The map's original ROI PSNR `O`.
    pub original_psnr: f64,
    /// The traced cells.
    pub traces: Vec<Trace>,
}

impl Traces {
    /// The traces a map computed with [`crate::engine::Cem::trace`] carries (empty if
    /// none were asked for).
    pub fn of(map: &CausalEffectMap) -> Result<Self> {
        let traces = map.info.traces.clone();
        Ok(Traces {
            model: map.info.model.clone(),
            original_psnr: map.info.original_psnr,
            traces,
        })
    }

    /// Writes `dir/trace.csv` (row, col, draw, psnr_db).
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut csv = String::from(HEADER);
        csv.push('\n');
        for t in &self.traces {
            for (i, p) in t.psnr_db.iter().enumerate() {
                let _ = writeln!(csv, "{},{},{},{}", t.row, t.col, i, p);
            }
        }
        let path = dir.join(TRACE_CSV);
        std::fs::write(&path, csv).map_err(|e| Error::io(&path, e))
    }

    /// Reads `trace.csv` and the map's `cem.json` from a map folder.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let map = crate::map::load(dir)?;
        let path = dir.join(TRACE_CSV);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let bad = |line: usize, what: &str| Error::ResultFile {
            path: path.clone(),
            reason: format!("line {line}: {what}"),
        };
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(HEADER) {
            return Err(bad(1, &format!("expected the header '{HEADER}'")));
        }
        let mut traces: Vec<Trace> = Vec::new();
        for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() != 4 {
                return Err(bad(i + 2, "expected 4 fields"));
            }
            let int = |s: &str| s.parse::<u32>().map_err(|_| bad(i + 2, "not an integer"));
            let (row, col, draw) = (int(f[0])?, int(f[1])?, int(f[2])? as usize);
            let p: f64 = f[3]
                .parse()
                .map_err(|_| bad(i + 2, "psnr_db is not a number"))?;
            let same = traces.last().is_some_and(|t| t.row == row && t.col == col);
            if !same {
                traces.push(Trace {
                    row,
                    col,
                    psnr_db: Vec::new(),
                });
            }
            let t = traces.last_mut().expect("pushed");
            if draw != t.psnr_db.len() {
                return Err(bad(i + 2, &format!("draw {draw} out of order")));
            }
            t.psnr_db.push(p);
        }
        Ok(Traces {
            model: map.info.model,
            original_psnr: map.info.original_psnr,
            traces,
        })
    }
}

/// Fig. 6: the running mean effect against the number of interventions, one line per
/// model and cell.
pub fn trace_figure(sets: &[Traces]) -> Result<Figure> {
    let series: Vec<Series> = sets
        .iter()
        .flat_map(|s| {
            s.traces.iter().map(move |t| {
                let pts = t
                    .running_effect(s.original_psnr)
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| ((i + 1) as f64, e))
                    .collect();
                (format!("{} ({},{})", s.model, t.row, t.col), pts)
            })
        })
        .collect();
    let img = line_chart(
        &series,
        "Average treatment effect vs interventions",
        "interventions",
        "running mean effect (dB)",
        Some(0.0),
        (720, 420),
    )?;
    let mut fig = Figure::new(img.width(), img.height());
    fig.push(crate::plot::Op::Image {
        x: 0,
        y: 0,
        image: img,
    });
    Ok(fig)
}
