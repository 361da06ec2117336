//! Sampling strategies: the full pipeline (Alg. 1 + Eq. 2) and coarse-to-fine (Eq. 3-4),
//! and how each plans its stages ([`sample_cells`]).

use super::builder::Cem;
use super::stages::{group, is_sensitive, repeat_items, Stages, COARSE, FINE, FULL};
use crate::error::{Error, Result};
use crate::map::Stage;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How many interventions each cell gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Strategy {
    /// `coarse` interventions for every cell; cells whose every coarse effect is below
    /// `tol` join U (effect 0), the others get `fine` more and their effect is the
    /// mean over those (the coarse ones are kept out of it, as in the reference).
    CoarseToFine {
        /// C (the paper: 3).
        coarse: u32,
        /// F (the paper: 50).
        fine: u32,
    },
    /// `t` interventions for every cell (the paper: 500).
    Full {
        /// T.
        t: u32,
    },
}

impl Strategy {
    /// The paper's default, C3F50.
    pub fn c3f50() -> Self {
        Strategy::CoarseToFine {
            coarse: 3,
            fine: 50,
        }
    }

    /// Parses `c3f50`, `cCfF`, `full:T` or `fullT` (case-insensitive). A `-u`
    /// suffix (`c3f50-u`) is returned as `true`: the fine stage samples uniformly.
    pub fn parse(text: &str) -> Result<(Strategy, bool)> {
        let lower = text.trim().to_ascii_lowercase();
        let (body, uniform) = match lower.strip_suffix("-u") {
            Some(b) => (b, true),
            None => (lower.as_str(), false),
        };
        let bad = |why: &str| Error::invalid("strategy", text, why.to_string());
        let positive = |s: &str| -> Result<u32> {
            match s.parse::<u32>() {
                Ok(v) if v > 0 => Ok(v),
                _ => Err(bad("counts must be positive integers")),
            }
        };
        if let Some(t) = body.strip_prefix("full") {
            let t = t.strip_prefix(':').unwrap_or(t);
            return Ok((Strategy::Full { t: positive(t)? }, uniform));
        }
        let rest = body
            .strip_prefix('c')
            .ok_or_else(|| bad("expected cCfF (e.g. c3f50), cCfF-u, or full:T"))?;
        let (c, f) = rest
            .split_once('f')
            .ok_or_else(|| bad("expected cCfF (e.g. c3f50), cCfF-u, or full:T"))?;
        Ok((
            Strategy::CoarseToFine {
                coarse: positive(c)?,
                fine: positive(f)?,
            },
            uniform,
        ))
    }

    /// Interventions per cell in the first stage (C, or T): what the locality
    /// fallback line quotes.
    pub(crate) fn first_stage_per_cell(&self) -> u32 {
        match *self {
            Strategy::CoarseToFine { coarse, .. } => coarse,
            Strategy::Full { t } => t,
        }
    }

    /// The paper's label: `C3F50`, `Full500` (a `-U` suffix is added by the engine
    /// when the fine stage samples uniformly).
    pub fn label(&self) -> String {
        match self {
            Strategy::CoarseToFine { coarse, fine } => format!("C{coarse}F{fine}"),
            Strategy::Full { t } => format!("Full{t}"),
        }
    }
}

/// Runs `cem`'s strategy over `cells` (original ROI PSNR `o`); returns each cell's
/// PSNRs after intervention and the stage they came from.
pub(crate) fn sample_cells(
    cem: &Cem,
    stages: &mut Stages<'_, '_>,
    cells: &[u32],
    o: f64,
) -> Result<HashMap<u32, (Vec<f64>, Stage)>> {
    Ok(match cem.strategy {
        Strategy::CoarseToFine { coarse, fine } => {
            let items = repeat_items(cells, coarse);
            stages.plan(items.len());
            let res = stages.run(COARSE, cem.coarse_sampling, &items)?;
            let coarse_of = group(cells, coarse, &res);
            let sensitive: Vec<u32> = cells
                .iter()
                .copied()
                .filter(|c| coarse_of[c].iter().any(|&p| is_sensitive(o, p, cem.tol)))
                .collect();
            let items = repeat_items(&sensitive, fine);
            stages.plan(items.len());
            let res = stages.run(FINE, cem.fine_sampling, &items)?;
            let mut fine_of = group(&sensitive, fine, &res);
            cells
                .iter()
                .map(|&c| match fine_of.remove(&c) {
                    Some(v) => (c, (v, Stage::Fine)),
                    None => (c, (coarse_of[&c].clone(), Stage::Coarse)),
                })
                .collect()
        }
        Strategy::Full { t } => {
            let items = repeat_items(cells, t);
            stages.plan(items.len());
            let res = stages.run(FULL, cem.full_sampling, &items)?;
            group(cells, t, &res)
                .into_iter()
                .map(|(c, v)| (c, (v, Stage::Full)))
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_papers_strategies() {
        assert_eq!(
            Strategy::parse("c3f50").unwrap(),
            (Strategy::c3f50(), false)
        );
        assert_eq!(
            Strategy::parse("C3F50-U").unwrap(),
            (
                Strategy::CoarseToFine {
                    coarse: 3,
                    fine: 50
                },
                true
            )
        );
        assert_eq!(
            Strategy::parse("full:500").unwrap(),
            (Strategy::Full { t: 500 }, false)
        );
        assert_eq!(
            Strategy::parse("full20").unwrap().0,
            Strategy::Full { t: 20 }
        );
        for bad in ["c0f50", "x3f5", "full:", "c3", "full:-2"] {
            let e = Strategy::parse(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
        assert_eq!(Strategy::c3f50().label(), "C3F50");
    }
}
