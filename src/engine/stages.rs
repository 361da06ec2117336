//! Running a strategy's stages: each stage is a list of interventions ([`Item`]s)
//! evaluated by the [`Runner`], resumed from and saved to the checkpoint, stoppable
//! between batches, and recorded (inferences, seconds). A strategy
//! ([`super::strategy`]) decides which items each stage holds; [`Stages::run`] does
//! the rest.

use super::checkpoint::Checkpoint;
use super::runner::{psnr_of, Item, Runner};
use super::stop;
use super::CHECKPOINT_EVERY_S;
use crate::error::{Error, Result};
use crate::library::Sampling;
use crate::map::{RunStage, StageStats};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A stage (its key in the checkpoint and the map's record) and its number (part of
/// every intervention's seed, so stages draw independent patches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StageId {
    pub stage: RunStage,
    pub id: u64,
}

impl StageId {
    /// The stage's name in checkpoints.
    pub fn name(&self) -> &'static str {
        self.stage.as_str()
    }
}

/// The coarse stage of coarse-to-fine (Eq. 3).
pub(crate) const COARSE: StageId = StageId {
    stage: RunStage::Coarse,
    id: 0,
};
/// The fine stage of coarse-to-fine (Eq. 4).
pub(crate) const FINE: StageId = StageId {
    stage: RunStage::Fine,
    id: 1,
};
/// The full pipeline's one stage (Eq. 2).
pub(crate) const FULL: StageId = StageId {
    stage: RunStage::Full,
    id: 2,
};

/// Every stage a checkpoint may hold.
pub(crate) const STAGES: [StageId; 3] = [COARSE, FINE, FULL];

/// The stages of one run: the runner, the checkpoint, the stop flag, and the record
/// of what each stage cost.
pub(crate) struct Stages<'r, 'a> {
    pub runner: Runner<'a>,
    pub ckpt: &'r mut Checkpoint,
    pub stop: &'r AtomicBool,
    /// Print notes (e.g. a resume) for the user.
    pub notes: bool,
    /// Inferences and seconds per finished stage.
    pub record: BTreeMap<RunStage, StageStats>,
}

impl Stages<'_, '_> {
    /// Adds `n` inferences to the progress bar's total.
    pub fn plan(&self, n: usize) {
        let bar = &self.runner.progress;
        bar.set_length(bar.position() + n as u64);
    }

    /// Runs one stage over `items`, resuming from and saving to the checkpoint, and
    /// records its stats; returns each item's ROI PSNR after intervention.
    pub fn run(&mut self, stage: StageId, sampling: Sampling, items: &[Item]) -> Result<Vec<f64>> {
        let name = stage.name();
        let mut results = self.ckpt.take(name, items.len())?;
        if !results.is_empty() {
            self.note(format!(
                "resumed: {} of {} {name} inferences from the checkpoint",
                thousands(results.len()),
                thousands(items.len())
            ));
        }
        let runner = &mut self.runner;
        let ckpt = &mut *self.ckpt;
        let stop = self.stop;
        runner.progress.set_prefix(name.to_string());
        runner.progress.inc(results.len() as u64);
        let start = Instant::now();
        let earlier = ckpt.seconds.get(name).copied().unwrap_or(0.0);
        let outcome = runner.run_stage(stage.id, sampling, items, &mut results, |done| {
            if stop::take_request() || stop.swap(false, Ordering::SeqCst) {
                return Err(Error::Interrupted {
                    done: done.len(),
                    total: items.len(),
                    checkpoint: ckpt.path_or_none(),
                });
            }
            if ckpt.is_due(CHECKPOINT_EVERY_S) {
                ckpt.results.insert(name.to_string(), done.to_vec());
                ckpt.seconds
                    .insert(name.to_string(), earlier + start.elapsed().as_secs_f64());
                ckpt.save()?;
            }
            Ok(())
        });
        let seconds = earlier + start.elapsed().as_secs_f64();
        ckpt.seconds.insert(name.to_string(), seconds);
        ckpt.results.insert(name.to_string(), results.clone());
        if let Err(e) = outcome {
            // keep whatever was measured, whatever went wrong
            let _ = ckpt.save();
            return Err(e);
        }
        self.record.insert(
            stage.stage,
            StageStats {
                inferences: results.len(),
                seconds,
            },
        );
        Ok(results.into_iter().map(psnr_of).collect())
    }

    /// A line for the user: above the progress bar, or on stderr when the bar is
    /// hidden (not a terminal) but progress is on.
    fn note(&self, line: String) {
        if self.notes {
            if self.runner.progress.is_hidden() {
                eprintln!("{line}");
            } else {
                self.runner.progress.println(line);
            }
        }
    }
}

/// The progress bar of a run (hidden when `on` is false).
pub(crate) fn progress_bar(on: bool) -> ProgressBar {
    if !on {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>6} [{bar:30}] {pos}/{len} inferences  {per_sec}  eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

/// `1242` as `1,242`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Eq. 3: a coarse draw makes its cell sensitive unless `|O - PSNR| < tol`; a NaN
/// difference (both infinite) counts as sensitive.
pub(crate) fn is_sensitive(o: f64, psnr: f64, tol: f64) -> bool {
    (o - psnr).abs().partial_cmp(&tol) != Some(std::cmp::Ordering::Less)
}

/// `n` interventions for each of `cells`, cell by cell.
pub(crate) fn repeat_items(cells: &[u32], n: u32) -> Vec<Item> {
    cells
        .iter()
        .flat_map(|&cell| (0..n).map(move |t| Item { cell, t }))
        .collect()
}

/// The results of [`repeat_items`]`(cells, n)` per cell.
pub(crate) fn group(cells: &[u32], n: u32, results: &[f64]) -> HashMap<u32, Vec<f64>> {
    cells
        .iter()
        .zip(results.chunks(n as usize))
        .map(|(&c, r)| (c, r.to_vec()))
        .collect()
}

/// Mean and standard error of the mean (0 for fewer than 2 values or a non-finite mean).
pub(crate) fn mean_and_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 || !mean.is_finite() {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1242), "1,242");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn sensitivity_follows_eq3() {
        assert!(!is_sensitive(30.0, 30.005, 0.01));
        assert!(is_sensitive(30.0, 30.02, 0.01));
        assert!(is_sensitive(30.0, 29.99, 0.01));
        assert!(is_sensitive(f64::INFINITY, f64::INFINITY, 0.01));
    }

    #[test]
    fn items_and_groups_round_trip() {
        let items = repeat_items(&[4, 9], 3);
        assert_eq!(items.len(), 6);
        assert_eq!(items[3], Item { cell: 9, t: 0 });
        let g = group(&[4, 9], 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(g[&9], vec![4.0, 5.0, 6.0]);
    }

    #[test]
    fn mean_and_standard_error() {
        let (m, se) = mean_and_se(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        // sample variance 5/3, se = sqrt(5/3 / 4)
        assert!((se - (5.0f64 / 12.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_and_se(&[7.0]), (7.0, 0.0));
    }
}
