//! Sampling strategies: the full pipeline (Alg. 1 + Eq. 2), coarse-to-fine (Eq. 3-4)
//! and the [adaptive](Adaptive) strategy, and how each plans its stages ([`sample_cells`]).

use super::adaptive::Adaptive;
use super::builder::Plan;
use super::stages::{group, is_sensitive, repeat_items, Stages, COARSE, FINE, FULL};
use crate::error::{Error, Result};
use crate::library::Sampling;
use crate::map::Stage;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::str::FromStr;

/// How many interventions each cell gets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
    /// As many as each cell's effect needs: screening as Eq. 3, then per-cell
    /// sequential tests and rounds of draws where they cut the map's expected L1 error
    /// most, within an optional budget (see [`Adaptive`]).
    Adaptive(Adaptive),
}

impl Strategy {
    /// The paper's default, C3F50.
    pub fn c3f50() -> Self {
        Strategy::CoarseToFine {
            coarse: 3,
            fine: 50,
        }
    }

    /// Parses `c3f50`, `cCfF`, `full:T`, `fullT`, `adaptive[:BUDGET|:PCT%][-crn][-cv][-q][-l][-s]`
    /// (case-insensitive), with the fine
    /// stage's sampling when the text names one: a `-u` suffix (`c3f50-u`) is Table
    /// III's `U`, uniform over gradient ranges of the default width (Fig. 17's 128),
    /// `-uW` over ranges of width `W` (`c3f50-u64`). See [`StrategyChoice`].
    ///
    /// ```
    /// use cem::engine::Strategy;
    /// use cem::library::Sampling;
    /// let (s, fine) = Strategy::parse("C3F50-U")?;
    /// assert_eq!((s, fine), (Strategy::c3f50(), Some(Sampling::Ranges { width: 128 })));
    /// assert_eq!(Strategy::parse("c1f50")?.1, None); // the default fine sampling, D
    /// # Ok::<(), cem::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<(Strategy, Option<Sampling>)> {
        let c: StrategyChoice = text.parse()?;
        Ok((c.strategy, c.fine_sampling))
    }

    /// Interventions per cell in the first stage (C, or T): what the locality
    /// fallback line quotes.
    pub(crate) fn first_stage_per_cell(&self) -> u32 {
        match *self {
            Strategy::CoarseToFine { coarse, .. } => coarse,
            Strategy::Full { t } => t,
            Strategy::Adaptive(plan) => plan.screen,
        }
    }

    /// The paper's label: `C3F50`, `Full500` (a `-U` suffix is added by the engine
    /// when the fine stage samples uniformly); `Adaptive` or `Adaptive-B960`.
    pub fn label(&self) -> String {
        match self {
            Strategy::CoarseToFine { coarse, fine } => format!("C{coarse}F{fine}"),
            Strategy::Full { t } => format!("Full{t}"),
            Strategy::Adaptive(plan) => plan.label(),
        }
    }

    /// The adaptive strategy with its defaults.
    pub fn adaptive() -> Self {
        Strategy::Adaptive(Adaptive::default())
    }
}

/// A strategy as the command line names it: Table III's `C3F50`, `C3F50-U`, `C1F50`,
/// ..., `full:T`, or `adaptive[:BUDGET|:PCT%][-crn][-cv][-q][-l][-s]`, with the fine-stage sampling the name asks
/// for (`None`: the builder's default, the density `D`).
///
/// ```
/// use cem::engine::{Strategy, StrategyChoice};
/// use cem::library::Sampling;
/// let c: StrategyChoice = "c3f30-u".parse()?;
/// assert_eq!(c.strategy, Strategy::CoarseToFine { coarse: 3, fine: 30 });
/// assert_eq!(c.fine_sampling, Some(Sampling::uniform_ranges()));
/// assert_eq!(c.label(), "C3F30-U");
/// assert!("c3f50-x".parse::<StrategyChoice>().is_err());
/// # Ok::<(), cem::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrategyChoice {
    /// The strategy.
    pub strategy: Strategy,
    /// The fine stage's sampling, when the name sets it (`-u`: [`Sampling::Ranges`]).
    pub fine_sampling: Option<Sampling>,
}

impl StrategyChoice {
    /// Table III's row label: `C3F50`, `C3F50-U` (any range width), `Full500`.
    pub fn label(&self) -> String {
        match self.fine_sampling {
            Some(Sampling::Ranges { .. }) => format!("{}-U", self.strategy.label()),
            _ => self.strategy.label(),
        }
    }
}

const EXPECTED: &str = "expected cCfF (e.g. c3f50), cCfF-u (uniform over gradient ranges, \
                        -uW for ranges of width W), full:T, or adaptive[:BUDGET|:PCT%][-crn][-cv][-q][-l][-s]";

impl FromStr for StrategyChoice {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let bad = |why: &str| Error::invalid("strategy", text, why.to_string());
        let positive = |s: &str| -> Result<u32> {
            match s.parse::<u32>() {
                Ok(v) if v > 0 => Ok(v),
                _ => Err(bad("counts must be positive integers")),
            }
        };
        if let Some(rest) = lower.strip_prefix("adaptive") {
            // the options, each at most once, in any order: -crn (common draws), -cv
            // (control variates), -q (quick screening), -l (loss-aware allocation), -s
            // (stratified draws)
            const OPTIONS: [&str; 5] = ["-crn", "-cv", "-q", "-l", "-s"];
            let (mut rest, mut on) = (rest, [false; 5]);
            while let Some((j, r)) = OPTIONS.iter().enumerate().find_map(|(j, option)| {
                rest.strip_suffix(option).filter(|_| !on[j]).map(|r| (j, r))
            }) {
                (rest, on[j]) = (r, true);
            }
            let [common, control, quick, loss, strata] = on;
            let mut plan = Adaptive::default()
                .common(common)
                .control(control)
                .stratified(strata)
                .quick(quick)
                .loss_aware(loss);
            match rest.strip_prefix(':') {
                Some(b) => match b.strip_suffix('%') {
                    // a share of the map's own C3F50 cost, in percent
                    Some(pct) => match pct.parse::<f64>() {
                        Ok(p) if p > 0.0 && p <= 100.0 => plan.share = Some(p / 100.0),
                        _ => {
                            return Err(bad(
                                "a relative budget is a percentage of C3F50's cost in (0, 100], e.g. adaptive:60%",
                            ))
                        }
                    },
                    None => plan.budget = Some(positive(b)? as u64),
                },
                None if rest.is_empty() => {}
                None => {
                    return Err(bad(
                        "expected adaptive, adaptive:BUDGET or adaptive:PCT% (a share of C3F50's \
                         cost), optionally followed by -crn \
                         (common draws), -cv (control variates), -q (quick screening), -l \
                         (loss-aware allocation) and -s (stratified draws); \
                         adaptive has no fine stage for -u",
                    ))
                }
            }
            return Ok(StrategyChoice {
                strategy: Strategy::Adaptive(plan),
                fine_sampling: None,
            });
        }
        let (body, fine_sampling) = match lower.split_once('-') {
            None => (lower.as_str(), None),
            Some((body, suffix)) => {
                let width = suffix.strip_prefix('u').ok_or_else(|| bad(EXPECTED))?;
                let sampling = if width.is_empty() {
                    Sampling::uniform_ranges()
                } else {
                    Sampling::ranges(positive(width)?)?
                };
                (body, Some(sampling))
            }
        };
        if let Some(t) = body.strip_prefix("full") {
            if fine_sampling.is_some() {
                return Err(bad(
                    "-u sets the fine stage's sampling; full:T has no fine stage",
                ));
            }
            let t = t.strip_prefix(':').unwrap_or(t);
            return Ok(StrategyChoice {
                strategy: Strategy::Full { t: positive(t)? },
                fine_sampling,
            });
        }
        let (c, f) = body
            .strip_prefix('c')
            .and_then(|rest| rest.split_once('f'))
            .ok_or_else(|| bad(EXPECTED))?;
        Ok(StrategyChoice {
            strategy: Strategy::CoarseToFine {
                coarse: positive(c)?,
                fine: positive(f)?,
            },
            fine_sampling,
        })
    }
}

/// Runs the plan's strategy over `cells` (original ROI PSNR `o`); returns each
/// cell's PSNRs after intervention and the stage they came from.
/// One cell's draws: its PSNRs after intervention in draw order, the stage that made
/// them, and, where the adaptive strategy's control variates are used, the estimated
/// mean PSNR and its standard error that replace the plain mean.
pub(crate) struct Sampled {
    pub psnrs: Vec<f64>,
    pub stage: Stage,
    pub estimate: Option<(f64, f64)>,
}

impl Sampled {
    fn plain(psnrs: Vec<f64>, stage: Stage) -> Sampled {
        Sampled {
            psnrs,
            stage,
            estimate: None,
        }
    }
}

pub(crate) fn sample_cells(
    plan: &Plan,
    stages: &mut Stages<'_, '_>,
    cells: &[u32],
    o: f64,
) -> Result<HashMap<u32, Sampled>> {
    Ok(match plan.strategy {
        Strategy::CoarseToFine { coarse, fine } => {
            let items = repeat_items(cells, coarse);
            stages.plan(items.len());
            let res = stages.run(COARSE, plan.coarse_sampling, &items)?;
            let coarse_of = group(cells, coarse, &res);
            let sensitive: Vec<u32> = cells
                .iter()
                .copied()
                .filter(|c| coarse_of[c].iter().any(|&p| is_sensitive(o, p, plan.tol)))
                .collect();
            let items = repeat_items(&sensitive, fine);
            stages.plan(items.len());
            let res = stages.run(FINE, plan.fine_sampling, &items)?;
            let mut fine_of = group(&sensitive, fine, &res);
            cells
                .iter()
                .map(|&c| match fine_of.remove(&c) {
                    Some(v) => (c, Sampled::plain(v, Stage::Fine)),
                    None => (c, Sampled::plain(coarse_of[&c].clone(), Stage::Coarse)),
                })
                .collect()
        }
        Strategy::Full { t } => {
            let items = repeat_items(cells, t);
            stages.plan(items.len());
            let res = stages.run(FULL, plan.full_sampling, &items)?;
            group(cells, t, &res)
                .into_iter()
                .map(|(c, v)| (c, Sampled::plain(v, Stage::Full)))
                .collect()
        }
        Strategy::Adaptive(adaptive) => super::adaptive_run::run(
            &adaptive,
            plan.coarse_sampling,
            plan.fine_sampling,
            stages,
            cells,
            o,
            plan.tol,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(text: &str) -> StrategyChoice {
        text.parse().unwrap()
    }

    fn c2f(coarse: u32, fine: u32) -> Strategy {
        Strategy::CoarseToFine { coarse, fine }
    }

    #[test]
    fn parses_every_row_of_table_iii() {
        let u = Some(Sampling::Ranges { width: 128 });
        for (text, strategy, fine, label) in [
            ("c3f10", c2f(3, 10), None, "C3F10"),
            ("C3F30", c2f(3, 30), None, "C3F30"),
            ("c3f50-u", c2f(3, 50), u, "C3F50-U"),
            ("C3F50-U", c2f(3, 50), u, "C3F50-U"),
            ("c1f50", c2f(1, 50), None, "C1F50"),
            (" c3f50 ", Strategy::c3f50(), None, "C3F50"),
            ("full:500", Strategy::Full { t: 500 }, None, "Full500"),
            ("full20", Strategy::Full { t: 20 }, None, "Full20"),
            ("adaptive", Strategy::adaptive(), None, "Adaptive"),
            (
                "Adaptive:960",
                Strategy::Adaptive(Adaptive::default().budget(960)),
                None,
                "Adaptive-B960",
            ),
            (
                "adaptive:686-crn",
                Strategy::Adaptive(Adaptive::default().budget(686).common(true)),
                None,
                "Adaptive-B686-CRN",
            ),
            (
                "adaptive-cv",
                Strategy::Adaptive(Adaptive::default().control(true)),
                None,
                "Adaptive-CV",
            ),
            (
                "adaptive:900-cv-crn",
                Strategy::Adaptive(Adaptive::default().budget(900).common(true).control(true)),
                None,
                "Adaptive-B900-CRN-CV",
            ),
            (
                "adaptive-q-cv",
                Strategy::Adaptive(Adaptive::default().control(true).quick(true)),
                None,
                "Adaptive-CV-Q",
            ),
            (
                "adaptive:60%-s-q-l",
                Strategy::Adaptive(
                    Adaptive::default()
                        .share(0.6)
                        .stratified(true)
                        .quick(true)
                        .loss_aware(true),
                ),
                None,
                "Adaptive-B60%-Q-L-S",
            ),
            (
                "adaptive:900-l-cv-q",
                Strategy::Adaptive(
                    Adaptive::default()
                        .budget(900)
                        .control(true)
                        .quick(true)
                        .loss_aware(true),
                ),
                None,
                "Adaptive-B900-CV-Q-L",
            ),
            (
                "adaptive:60%-cv-q-l",
                Strategy::Adaptive(
                    Adaptive::default()
                        .share(0.6)
                        .control(true)
                        .quick(true)
                        .loss_aware(true),
                ),
                None,
                "Adaptive-B60%-CV-Q-L",
            ),
        ] {
            let c = choice(text);
            assert_eq!((c.strategy, c.fine_sampling), (strategy, fine), "{text}");
            assert_eq!(c.label(), label);
            assert_eq!(Strategy::parse(text).unwrap(), (strategy, fine));
        }
        assert_eq!(
            choice("c3f50-u64").fine_sampling,
            Some(Sampling::Ranges { width: 64 })
        );
        assert_eq!(Strategy::c3f50().label(), "C3F50");
    }

    #[test]
    fn bad_strategies_are_refused_by_name() {
        for bad in [
            "c0f50",
            "x3f5",
            "full:",
            "c3",
            "full:-2",
            "c3f50-x",
            "c3f50-u0",
            "c3f50-",
            "full:500-u",
            "c3f",
            "cf50",
            "",
            "c3f50-u-u",
            "adaptive-l-l",
            "adaptive-q-x",
            "adaptive:0%",
            "adaptive:150%",
            "adaptive:x%",
        ] {
            let e = bad.parse::<StrategyChoice>().unwrap_err().to_string();
            assert!(
                e.contains(&format!("'{bad}'")) || e.contains(bad),
                "{bad}: {e}"
            );
        }
    }
}
