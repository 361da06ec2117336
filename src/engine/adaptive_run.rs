//! Running the adaptive strategy: one checkpointed stage, `adaptive`, that grows round
//! by round as [`Adaptive::next_round`] plans it from the results so far.
//!
//! Screening draws (a cell's first [`Adaptive::screen`]) are the coarse stage's: the same
//! patch and noise as draw `t` of a coarse-to-fine map's Eq. 3 round with the same seed
//! and coarse sampling, so an adaptive map and a `CxFy` map of one seed close the same
//! cells as unrelated and differ only in how they measure the sensitive ones (except
//! with common draws, whose screening is common too).
//!
//! The checkpoint keeps every draw in the order it was made. A resumed run replays the
//! plan from the start: each round's plan depends only on earlier results, so the
//! stored draws fill the same rounds again and the map ends as an uninterrupted run's.

use super::adaptive::{Adaptive, Running};
use super::runner::{psnr_of, Item, Stratify};
use super::stages::{Stages, ADAPTIVE, COARSE};
use super::stop;
use super::strategy::Sampled;
use super::CHECKPOINT_EVERY_S;
use crate::error::{Error, Result};
use crate::library::Sampling;
use crate::map::{Stage, StageStats};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Runs `plan` over `cells` (original ROI PSNR `o`, tolerance `tol`), screening with
/// `screen_sampling` (the coarse stage's) and drawing with `sampling` after that.
/// Returns each cell's PSNRs after intervention and its stage: [`Stage::Coarse`] for a
/// cell closed by screening (Eq. 3), [`Stage::Fine`] for a sensitive one; with control
/// variates or stratified draws, also their estimate where it is used.
pub(crate) fn run(
    plan: &Adaptive,
    screen_sampling: Sampling,
    sampling: Sampling,
    stages: &mut Stages<'_, '_>,
    cells: &[u32],
    o: f64,
    tol: f64,
) -> Result<HashMap<u32, Sampled>> {
    plan.check()?;
    plan.check_budget(cells.len())?;
    let name = ADAPTIVE.name();
    // common draws are seeded by draw only (see `adaptive::seed_cell`)
    let seed_id = if plan.common {
        ADAPTIVE.id
    } else {
        ADAPTIVE.id + 1
    };
    let stored = stages.ckpt.take(name, usize::MAX)?;
    if !stored.is_empty() && stages.notes {
        let line = format!(
            "resumed: {} adaptive inferences from the checkpoint",
            stored.len()
        );
        if stages.runner.progress.is_hidden() {
            eprintln!("{line}");
        } else {
            stages.runner.progress.println(line);
        }
    }
    let mut done: Vec<Option<f64>> = Vec::new();
    let mut psnrs = vec![Vec::new(); cells.len()];
    let mut running = vec![Running::default(); cells.len()];
    if plan.stratified {
        let library = stages.runner.ctx.library;
        if !library.draws_uniformly(sampling) {
            return Err(Error::invalid(
                "strategy",
                plan.label(),
                format!(
                    "stratified draws (-s) stand in for draws of every patch with probability 1/N; \
                     the fine sampling here is {sampling:?}"
                ),
            ));
        }
        let strata = library.strata();
        let weights = strata.weights();
        running.iter_mut().for_each(|r| r.set_strata(&weights));
        stages.runner.stratify = Some(Stratify {
            stage: seed_id,
            from: plan.screen,
            strata,
        });
    }
    let earlier = stages.ckpt.seconds.get(name).copied().unwrap_or(0.0);
    let start = Instant::now();
    stages.runner.progress.set_prefix(name);
    loop {
        let round = plan.next_round(&running, tol);
        if round.is_empty() {
            break;
        }
        // a round is all screening or none (`Adaptive::next_round` screens first)
        let screening = round
            .iter()
            .all(|&(i, k)| running[i].n() + k <= plan.screen);
        let (stage_id, stage_sampling) = if screening && !plan.common {
            (COARSE.id, screen_sampling)
        } else {
            (seed_id, sampling)
        };
        let (index, items): (Vec<usize>, Vec<Item>) = round
            .iter()
            .flat_map(|&(i, k)| {
                let (cell, n) = (cells[i], running[i].n());
                (n..n + k).map(move |t| (i, Item { cell, t }))
            })
            .unzip();
        let first = done.len();
        let mut results: Vec<Option<f64>> = stored
            .iter()
            .skip(first)
            .take(items.len())
            .copied()
            .collect();
        let reuse = results.len();
        stages.plan(items.len());
        stages.runner.progress.inc(reuse as u64);
        let ckpt = &mut *stages.ckpt;
        let stop_flag = stages.stop;
        let total = plan
            .budget_now(&running, tol)
            .map_or(first + items.len(), |b| b as usize)
            .max(first + items.len());
        let outcome =
            stages
                .runner
                .run_stage(stage_id, stage_sampling, &items, &mut results, |now| {
                    if stop::take_request() || stop_flag.swap(false, Ordering::SeqCst) {
                        return Err(Error::Interrupted {
                            done: first + now.len(),
                            total,
                            checkpoint: ckpt.path_or_none(),
                        });
                    }
                    if ckpt.is_due(CHECKPOINT_EVERY_S) {
                        ckpt.results.insert(name.into(), [&done[..], now].concat());
                        ckpt.seconds
                            .insert(name.into(), earlier + start.elapsed().as_secs_f64());
                        ckpt.save()?;
                    }
                    Ok(())
                });
        done.extend_from_slice(&results);
        if let Err(e) = outcome {
            // keep whatever was measured, whatever went wrong
            ckpt.results.insert(name.into(), done);
            ckpt.seconds
                .insert(name.into(), earlier + start.elapsed().as_secs_f64());
            let _ = ckpt.save();
            return Err(e);
        }
        for ((&i, r), it) in index.iter().zip(&results).zip(&items) {
            let psnr = psnr_of(*r);
            if plan.control {
                let z = stages.runner.features(stage_id, stage_sampling, *it)?;
                running[i].push_with(o - psnr, z);
            } else if plan.stratified {
                let h = stages.runner.stratum(stage_id, stage_sampling, *it);
                running[i].push_in(o - psnr, h);
            } else {
                running[i].push(o - psnr);
            }
            psnrs[i].push(psnr);
        }
        if plan.control {
            // a sensitive cell's feature expectation, once (host draws, no model calls)
            for (i, r) in running.iter_mut().enumerate() {
                if !r.has_control_mean() && r.n() >= plan.screen && r.max_abs() >= tol {
                    r.set_control_mean(stages.runner.control_mean(sampling, cells[i])?);
                }
            }
        }
    }
    if stored.len() > done.len() {
        return Err(Error::ResultFile {
            path: stages.ckpt.path_or_none(),
            reason: format!(
                "checkpoint not usable: it holds {} '{name}' results but this run made {}; delete it to start over",
                stored.len(),
                done.len()
            ),
        });
    }
    stages.runner.stratify = None;
    let seconds = earlier + start.elapsed().as_secs_f64();
    stages.ckpt.seconds.insert(name.into(), seconds);
    stages.record.insert(
        ADAPTIVE.stage,
        StageStats {
            inferences: done.len(),
            seconds,
        },
    );
    stages.ckpt.results.insert(name.into(), done);
    Ok(cells
        .iter()
        .zip(psnrs)
        .zip(&running)
        .map(|((&c, psnrs), r)| {
            let stage = if r.n() <= plan.screen && r.max_abs() < tol {
                Stage::Coarse
            } else {
                Stage::Fine
            };
            // stratified draws or control variates: their mean PSNR and standard error
            let estimate = r
                .refined()
                .map(|(effect, sd)| (o - effect, sd / (r.n() as f64).sqrt()));
            let sampled = Sampled {
                psnrs,
                stage,
                estimate,
            };
            (c, sampled)
        })
        .collect())
}
