//! `cem study status` and `cem table maps` over a study folder: one line or row per unit.

use super::folder::{StudyDir, UnitState};
use crate::error::Result;
use crate::stats::Table;
use polars::prelude::*;
use std::path::Path;

/// The state of every unit of the study in `dir`, in the study's order.
pub fn unit_states(dir: impl AsRef<Path>) -> Result<Vec<(super::Unit, UnitState)>> {
    let folder = StudyDir::new(dir.as_ref());
    Ok(folder
        .units()?
        .into_iter()
        .map(|u| {
            let s = folder.state(&u.id);
            (u, s)
        })
        .collect())
}

/// The status report: counts of done / running / failed / pending, then a line for
/// every unit that is not done (with its error or holder).
pub fn status_text(dir: impl AsRef<Path>) -> Result<String> {
    let states = unit_states(&dir)?;
    let count = |name: &str| states.iter().filter(|(_, s)| s.name() == name).count();
    let mut out = format!(
        "{}: {} units: {} done, {} running, {} failed, {} pending\n",
        dir.as_ref().display(),
        states.len(),
        count("done"),
        count("running"),
        count("failed"),
        count("pending")
    );
    for (u, s) in &states {
        match s {
            UnitState::Done => {}
            UnitState::Running { holder } => out += &format!("running {} ({holder})\n", u.id),
            UnitState::Failed { error } => out += &format!("failed  {}: {error}\n", u.id),
            UnitState::Pending { resumable } => {
                out += &format!(
                    "pending {}{}\n",
                    u.id,
                    if *resumable {
                        " (resumes its checkpoint)"
                    } else {
                        ""
                    }
                )
            }
        }
    }
    Ok(out)
}

/// One row per unit of the studies in `dirs`: `unit, status, task, model, image, roi,
/// strategy, library, seed`, the map's statistics where it is done (`positive_pct,
/// negative_pct, none_pct, min_effect_db, max_effect_db, original_psnr_db, inferences,
/// seconds`; null otherwise) and `error` for failed units.
pub fn units_table<P: AsRef<Path>>(dirs: &[P]) -> Result<Table> {
    let mut id = Vec::new();
    let mut status = Vec::new();
    let mut task = Vec::new();
    let mut model = Vec::new();
    let mut image = Vec::new();
    let mut roi = Vec::new();
    let mut strategy = Vec::new();
    let mut library = Vec::new();
    let mut seed = Vec::new();
    let mut stats: [Vec<Option<f64>>; 8] = Default::default();
    let mut error = Vec::new();
    for dir in dirs {
        let folder = StudyDir::new(dir.as_ref());
        for (u, s) in unit_states(dir)? {
            let map = match s {
                UnitState::Done => Some(crate::map::load(folder.unit_dir(&u.id))?),
                _ => None,
            };
            let values = map.as_ref().map(|m| {
                let c = m.counts();
                let (lo, hi) = m.range();
                [
                    c.positive_pct(),
                    c.negative_pct(),
                    c.none_pct(),
                    lo,
                    hi,
                    m.info.original_psnr,
                    m.inferences() as f64,
                    m.seconds(),
                ]
            });
            for (k, col) in stats.iter_mut().enumerate() {
                col.push(values.map(|v| v[k]));
            }
            id.push(u.id.clone());
            status.push(s.name().to_string());
            error.push(match &s {
                UnitState::Failed { error } => error.clone(),
                UnitState::Running { holder } => holder.clone(),
                _ => String::new(),
            });
            task.push(u.task.clone());
            model.push(u.model.clone());
            image.push(u.image.clone());
            roi.push(u.roi.to_string());
            strategy.push(u.strategy.clone());
            library.push(crate::stats::library_name(&u.library));
            seed.push(u.seed);
        }
    }
    let [pos, neg, none, lo, hi, psnr, inf, secs] = stats;
    let frame = df!(
        "unit" => id,
        "status" => status,
        "task" => task,
        "model" => model,
        "image" => image,
        "roi" => roi,
        "strategy" => strategy,
        "library" => library,
        "seed" => seed,
        "positive_pct" => pos,
        "negative_pct" => neg,
        "none_pct" => none,
        "min_effect_db" => lo,
        "max_effect_db" => hi,
        "original_psnr_db" => psnr,
        "inferences" => inf,
        "seconds" => secs,
        "error" => error,
    )?;
    Table::from_frame(format!("{} units", frame.height()), frame)
}
