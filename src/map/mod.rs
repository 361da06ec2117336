//! The result: a [`CausalEffectMap`], its Table I statistics, the similarity score of
//! Table III, its record ([`MapInfo`]), the whole result of a run ([`MapRun`]: the
//! map with its input, output and ground truth) and their files.
//!
//! | file | holds | written by |
//! |---|---|---|
//! | `cem.csv` | one row per cell: effect, samples, standard error, kind | [`save`] |
//! | `cem.json` | the record ([`MapInfo`]), cell stages, a summary | [`save`] |
//! | `cem.npy` | the effect grid, `rows x cols` float64 | [`save`] |
//! | `input.png`, `output.png`, `hr.png` | the images of a run | [`MapRun::save`] |
//!
//! Arrays: [`CausalEffectMap::effects`], [`CausalEffectMap::samples`],
//! [`CausalEffectMap::std_err`], [`CausalEffectMap::kinds`] (`ndarray`).

mod arrays;
pub(crate) mod files;
mod lock;
mod record;
mod run;

pub use files::{load, save, CSV_NAME, HR_NAME, INPUT_NAME, JSON_NAME, NPY_NAME, OUTPUT_NAME};
pub use lock::{FolderLock, LOCK_NAME};
pub use record::{Locality, MapInfo, Region, RunStage, StageStats, Trace, Trial};
pub use run::MapRun;

use serde::{Deserialize, Serialize};

/// What a cell is, by the reference's rule (after effects below `tol` became 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// Overlaps the ROI: never intervened, effect `+inf`.
    Roi,
    /// Effect > 0: intervening lowers the ROI PSNR, the patch helps.
    Positive,
    /// Effect < 0: intervening raises the ROI PSNR, the patch misleads.
    Negative,
    /// Effect exactly 0 (below the tolerance).
    None,
}

impl CellKind {
    /// `roi`, `positive`, `negative` or `none`, as in `cem.csv`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CellKind::Roi => "roi",
            CellKind::Positive => "positive",
            CellKind::Negative => "negative",
            CellKind::None => "none",
        }
    }

    /// The kind of an effect: ROI if infinite, else by sign.
    pub fn of(effect: f64) -> CellKind {
        if effect == f64::INFINITY {
            CellKind::Roi
        } else if effect > 0.0 {
            CellKind::Positive
        } else if effect < 0.0 {
            CellKind::Negative
        } else {
            CellKind::None
        }
    }

    /// Parses the `kind` column.
    pub fn parse(s: &str) -> Option<CellKind> {
        match s {
            "roi" => Some(CellKind::Roi),
            "positive" => Some(CellKind::Positive),
            "negative" => Some(CellKind::Negative),
            "none" => Some(CellKind::None),
            _ => None,
        }
    }
}

/// Which stage a cell's effect came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// ROI cell, not intervened.
    Roi,
    /// Coarse stage (the cell joined the unrelated set U).
    Coarse,
    /// Fine stage (the cell was sensitive, in S).
    Fine,
    /// The full pipeline (T interventions).
    Full,
    /// Not evaluated (e.g. outside a locality crop).
    Skipped,
}

/// One cell of the map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Row in the grid.
    pub row: u32,
    /// Column in the grid.
    pub col: u32,
    /// `phi = O - mean(PSNR after intervention)` in dB, 0 below tol, `+inf` for ROI cells.
    pub effect_db: f64,
    /// Interventions the effect is the mean of.
    pub samples: u32,
    /// Standard error of that mean (sample std / sqrt(n); 0 for fewer than 2 samples).
    pub std_err: f64,
    /// The stage it came from.
    pub stage: Stage,
    /// Its kind.
    pub kind: CellKind,
}

/// Counts and percentages of Table I for one map (ROI cells counted positive).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Cells with effect > 0, ROI cells included.
    pub positive: usize,
    /// Cells with effect < 0.
    pub negative: usize,
    /// Cells with effect 0.
    pub none: usize,
    /// ROI cells (already inside `positive`).
    pub roi: usize,
    /// All cells.
    pub total: usize,
}

impl Counts {
    /// Positive share in percent.
    pub fn positive_pct(&self) -> f64 {
        100.0 * self.positive as f64 / self.total as f64
    }
    /// Negative share in percent.
    pub fn negative_pct(&self) -> f64 {
        100.0 * self.negative as f64 / self.total as f64
    }
    /// None share in percent.
    pub fn none_pct(&self) -> f64 {
        100.0 * self.none as f64 / self.total as f64
    }
}

/// A causal effect map: one [`Cell`] per block of the input, row-major, plus [`MapInfo`].
#[derive(Debug, Clone, PartialEq)]
pub struct CausalEffectMap {
    /// Grid rows.
    pub rows: u32,
    /// Grid columns.
    pub cols: u32,
    /// Cells, row-major.
    pub cells: Vec<Cell>,
    /// What was run.
    pub info: MapInfo,
}

impl CausalEffectMap {
    /// A map from a row-major grid of effects in dB (`+inf` marks ROI cells), e.g. one
    /// computed by the authors' pipeline. Effects are taken as given (no tolerance
    /// applied); kinds follow their signs. `info.width`/`height` are set from the grid
    /// and block when they are 0.
    pub fn from_effects(
        rows: u32,
        cols: u32,
        effects: &[f64],
        mut info: MapInfo,
    ) -> crate::Result<Self> {
        if effects.len() != (rows * cols) as usize {
            return Err(crate::Error::SizeMismatch {
                what: "effects for a map grid".into(),
                expected: format!("{rows}x{cols} = {}", rows * cols),
                got: effects.len().to_string(),
            });
        }
        if let Some(bad) = effects
            .iter()
            .find(|e| e.is_nan() || **e == f64::NEG_INFINITY)
        {
            return Err(crate::Error::invalid(
                "effect",
                bad,
                "effects must be finite or +inf (ROI)",
            ));
        }
        if info.width == 0 || info.height == 0 {
            info.width = cols * info.block;
            info.height = rows * info.block;
        }
        let cells = effects
            .iter()
            .enumerate()
            .map(|(i, &e)| {
                let kind = CellKind::of(e);
                Cell {
                    row: i as u32 / cols,
                    col: i as u32 % cols,
                    effect_db: e,
                    samples: 0,
                    std_err: 0.0,
                    stage: if kind == CellKind::Roi {
                        Stage::Roi
                    } else {
                        Stage::Full
                    },
                    kind,
                }
            })
            .collect();
        Ok(CausalEffectMap {
            rows,
            cols,
            cells,
            info,
        })
    }

    /// The cell at `(row, col)`.
    pub fn cell(&self, row: u32, col: u32) -> &Cell {
        &self.cells[(row * self.cols + col) as usize]
    }

    /// Counts of Table I; ROI cells count as positive, as in the reference.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            positive: 0,
            negative: 0,
            none: 0,
            roi: 0,
            total: self.cells.len(),
        };
        for cell in &self.cells {
            match cell.kind {
                CellKind::Roi => {
                    c.roi += 1;
                    c.positive += 1;
                }
                CellKind::Positive => c.positive += 1,
                CellKind::Negative => c.negative += 1,
                CellKind::None => c.none += 1,
            }
        }
        c
    }

    /// `(min, max)` effect over the non-ROI cells, in dB; `None` when there is no cell
    /// outside the ROI to measure (a ROI covering the whole grid, a 1x1 grid).
    pub fn measured_range(&self) -> Option<(f64, f64)> {
        let (lo, hi) = self.range();
        (lo <= hi).then_some((lo, hi))
    }

    /// `(min, max)` effect over the non-ROI cells, in dB; `(inf, -inf)` when there is
    /// none (see [`CausalEffectMap::measured_range`]).
    pub fn range(&self) -> (f64, f64) {
        self.cells
            .iter()
            .filter(|c| c.kind != CellKind::Roi)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
                (lo.min(c.effect_db), hi.max(c.effect_db))
            })
    }

    /// Total model inferences over all stages.
    pub fn inferences(&self) -> usize {
        self.info.stages.values().map(|s| s.inferences).sum()
    }

    /// Total wall time in seconds over all stages.
    pub fn seconds(&self) -> f64 {
        self.info.stages.values().map(|s| s.seconds).sum()
    }

    /// Similarity score of Table III in percent, with `reference` as `phi`
    /// (e.g. the full-pipeline map): `100 (1 - ||self - ref||_1 / ||ref||_1)` over
    /// non-ROI cells. Fails if the grids differ.
    pub fn similarity(&self, reference: &CausalEffectMap) -> crate::Result<f64> {
        similarity(&self.effects_flat(), &reference.effects_flat())
    }

    fn effects_flat(&self) -> Vec<f64> {
        self.cells.iter().map(|c| c.effect_db).collect()
    }

    /// The Table I line: `task model image: positive % | negative % | none % | (min, max) | O | inferences | time`.
    pub fn table1_line(&self) -> String {
        let c = self.counts();
        let range = match self.measured_range() {
            Some((lo, hi)) => format!("range ({lo:.2}, {hi:.2}) dB"),
            None => "no cell outside the ROI to measure".into(),
        };
        format!(
            "{} {} {} ROI {}: positive {:.2}% | negative {:.2}% | none {:.2}% | {} | ROI PSNR {:.4} dB | {} inferences, {:.1} s",
            self.info.task,
            self.info.model,
            self.info.image,
            self.info.roi,
            c.positive_pct(),
            c.negative_pct(),
            c.none_pct(),
            range,
            self.info.original_psnr,
            self.inferences(),
            self.seconds()
        )
    }
}

/// The similarity score `S = 100 (1 - ||a - b||_1 / ||b||_1)` over cells where `b` is
/// finite (ROI cells excluded). 100 when both are all-zero.
pub fn similarity(a: &[f64], b: &[f64]) -> crate::Result<f64> {
    if a.len() != b.len() {
        return Err(crate::Error::SizeMismatch {
            what: "maps compared by similarity".into(),
            expected: b.len().to_string(),
            got: a.len().to_string(),
        });
    }
    let (mut diff, mut norm) = (0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        if y.is_finite() && x.is_finite() {
            diff += (x - y).abs();
            norm += y.abs();
        }
    }
    Ok(if norm == 0.0 {
        if diff == 0.0 {
            100.0
        } else {
            f64::NEG_INFINITY
        }
    } else {
        100.0 * (1.0 - diff / norm)
    })
}

/// The reference's tolerance rule: an effect with `|phi| < tol` is exactly 0.
pub fn zero_below(effect: f64, tol: f64) -> f64 {
    if effect.is_finite() && effect.abs() < tol {
        0.0
    } else {
        effect
    }
}

/// The reference's rules on a plain effect grid: zero every `|phi| < tol`, then classify.
pub fn classify(effects: &[f64], tol: f64) -> Vec<(f64, CellKind)> {
    effects
        .iter()
        .map(|&e| {
            let e = zero_below(e, tol);
            (e, CellKind::of(e))
        })
        .collect()
}
