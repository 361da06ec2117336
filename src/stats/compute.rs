//! The paper's Tables I, II and III, computed from a [`MapSet`] (the [`Table`] they
//! are laid out in is [`super::output`]).

use super::frames::{column_floats, column_strings, MapSet};
use super::output::{fixed, range_cell, Section, Table};
use super::rows::Table1Row;
use crate::error::Result;
use crate::map::{CausalEffectMap, MapInfo};
use polars::prelude::*;
use std::collections::BTreeMap;

/// The paper's name for a task, used as Table I's sub-headers.
pub fn task_title(task: &str) -> String {
    match task {
        "sr" => "Super-Resolution (SR)".into(),
        "dn" => "Denoising (DN)".into(),
        "dr" => "Deraining (DR)".into(),
        "sr-up" => "Super-Resolution, upsampled input (SR)".into(),
        "blur" => "Deblurring".into(),
        "jpeg" => "JPEG artefact removal".into(),
        "haze" => "Dehazing".into(),
        "lowlight" => "Low-light enhancement".into(),
        other => other.to_uppercase(),
    }
}

fn task_rank(task: &str) -> u32 {
    match task {
        "sr" => 0,
        "dn" => 1,
        "dr" => 2,
        _ => 3,
    }
}

const STAT_HEADERS: [&str; 4] = ["Positive (%)", "Negative (%)", "None (%)", "Range (dB)"];

/// Per-group means of the Table I statistics, as polars computes them.
fn grouped(frame: &DataFrame, by: &[&str]) -> Result<DataFrame> {
    let keys: Vec<Expr> = by.iter().map(|k| col(*k)).collect();
    Ok(frame
        .clone()
        .lazy()
        .group_by(keys)
        .agg([
            len().alias("maps"),
            col("image").n_unique().alias("images"),
            col("positive_pct").mean(),
            col("negative_pct").mean(),
            col("none_pct").mean(),
            col("min_effect_db").mean().alias("range_min_db"),
            col("max_effect_db").mean().alias("range_max_db"),
        ])
        .with_column((col("positive_pct") + col("negative_pct")).alias("affected_pct"))
        .collect()?)
}

/// One aggregated row, read back from a grouped frame.
#[derive(Clone)]
struct StatRow {
    keys: Vec<String>,
    maps: u32,
    images: u32,
    positive: f64,
    negative: f64,
    none: f64,
    /// `None` when none of the row's maps has a cell outside its ROI.
    range: Option<(f64, f64)>,
}

impl StatRow {
    fn affected(&self) -> f64 {
        self.positive + self.negative
    }

    fn cells(&self) -> Vec<String> {
        vec![
            fixed(self.positive, 2),
            fixed(self.negative, 2),
            fixed(self.none, 2),
            range_cell(self.range),
        ]
    }

    /// As a typed Table I row (keys: task, model).
    fn table1_row(&self) -> Table1Row {
        Table1Row {
            task: self.keys[0].clone(),
            model: self.keys[1].clone(),
            maps: self.maps,
            images: self.images,
            positive_pct: self.positive,
            negative_pct: self.negative,
            none_pct: self.none,
            range_db: self.range,
        }
    }
}

fn read_rows(g: &DataFrame, keys: &[&str]) -> Result<Vec<StatRow>> {
    let f = |name: &str| column_floats(g, name);
    let key_cols = keys
        .iter()
        .map(|k| column_strings(g, k))
        .collect::<Result<Vec<_>>>()?;
    let count = |name: &str| -> Result<Vec<u32>> {
        Ok(g.column(name)?
            .cast(&DataType::UInt32)?
            .u32()?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    let (maps, images) = (count("maps")?, count("images")?);
    let (pos, neg, none, lo, hi) = (
        f("positive_pct")?,
        f("negative_pct")?,
        f("none_pct")?,
        f("range_min_db")?,
        f("range_max_db")?,
    );
    Ok((0..g.height())
        .map(|i| StatRow {
            keys: key_cols.iter().map(|c| c[i].clone()).collect(),
            maps: maps[i],
            images: images[i],
            positive: pos[i],
            negative: neg[i],
            none: none[i],
            // the mean of no per-map range (no map with a measured cell) is null: NaN here
            range: (lo[i].is_finite() && hi[i].is_finite()).then_some((lo[i], hi[i])),
        })
        .collect())
}

/// The rows as a frame, in their order: key columns, then `maps, images,
/// positive_pct, negative_pct, none_pct, range_min_db, range_max_db, affected_pct`.
fn rows_frame(rows: &[StatRow], keys: &[&str]) -> Result<DataFrame> {
    let mut columns: Vec<Column> = keys
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let v: Vec<&str> = rows.iter().map(|r| r.keys[k].as_str()).collect();
            Column::new((*name).into(), v)
        })
        .collect();
    let u = |f: fn(&StatRow) -> u32| rows.iter().map(f).collect::<Vec<u32>>();
    let x = |f: fn(&StatRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    columns.push(Column::new("maps".into(), u(|r| r.maps)));
    columns.push(Column::new("images".into(), u(|r| r.images)));
    columns.push(Column::new("positive_pct".into(), x(|r| r.positive)));
    columns.push(Column::new("negative_pct".into(), x(|r| r.negative)));
    columns.push(Column::new("none_pct".into(), x(|r| r.none)));
    let range = |f: fn((f64, f64)) -> f64| {
        rows.iter()
            .map(|r| r.range.map(f))
            .collect::<Vec<Option<f64>>>()
    };
    columns.push(Column::new("range_min_db".into(), range(|r| r.0)));
    columns.push(Column::new("range_max_db".into(), range(|r| r.1)));
    columns.push(Column::new("affected_pct".into(), x(|r| r.affected())));
    Ok(DataFrame::new_infer_height(columns)?)
}

/// Descending affected share (positive + negative), then name: the paper's order.
fn by_affected(a: &StatRow, b: &StatRow) -> std::cmp::Ordering {
    b.affected()
        .total_cmp(&a.affected())
        .then_with(|| a.keys.cmp(&b.keys))
}

/// The notes under Tables I and II: what was averaged, and what "no cell" means when
/// it appears.
fn notes(rows: &[StatRow]) -> Vec<String> {
    let mut notes = vec![maps_note(rows)];
    if rows.iter().any(|r| r.range.is_none()) {
        notes.push(format!(
            "{}: no cell outside the ROI to measure in any map of the row (the ROI covers the whole grid).",
            range_cell(None)
        ));
    }
    notes
}

fn maps_note(rows: &[StatRow]) -> String {
    let (lo, hi) = rows.iter().fold((u32::MAX, 0), |(lo, hi), r| {
        (lo.min(r.maps), hi.max(r.maps))
    });
    let total: u32 = rows.iter().map(|r| r.maps).sum();
    if lo == hi {
        format!(
            "Means over {lo} map(s) per row ({total} maps); range = (mean min, mean max) effect."
        )
    } else {
        format!("Means over {lo}-{hi} maps per row ({total} maps); range = (mean min, mean max) effect.")
    }
}

impl MapSet {
    /// **Table I**: per task and model, the mean positive / negative / none share of
    /// cells over the maps, and the mean (min, max) effect as the range; tasks in the
    /// paper's order (SR, DN, DR, then others) under sub-headers, models by descending
    /// positive + negative share.
    pub fn table1(&self) -> Result<Table> {
        let rows = self.table1_stat_rows()?;
        let mut sections: Vec<Section> = Vec::new();
        for r in &rows {
            let title = task_title(&r.keys[0]);
            if sections.last().and_then(|s| s.title.as_ref()) != Some(&title) {
                sections.push(Section {
                    title: Some(title),
                    rows: vec![],
                });
            }
            let mut cells = vec![r.keys[1].clone()];
            cells.extend(r.cells());
            sections.last_mut().expect("pushed above").rows.push(cells);
        }
        let frame = rows_frame(&rows, &["task", "model"])?;
        let mut headers = vec!["Models".to_string()];
        headers.extend(STAT_HEADERS.iter().map(|s| s.to_string()));
        Ok(Table::new(
            "Table I: quantitative CEM results per task and model",
            headers,
            sections,
            notes(&rows),
            frame,
        ))
    }

    /// Table I's rows, typed, in the table's order (what [`MapSet::table1`] lays out).
    pub fn table1_rows(&self) -> Result<Vec<Table1Row>> {
        Ok(self
            .table1_stat_rows()?
            .iter()
            .map(StatRow::table1_row)
            .collect())
    }

    /// Table I's rows: per task and model, tasks in the paper's order, models by
    /// descending affected share.
    fn table1_stat_rows(&self) -> Result<Vec<StatRow>> {
        let g = grouped(&self.frame()?, &["task", "model"])?;
        let mut rows = read_rows(&g, &["task", "model"])?;
        rows.sort_by(|a, b| {
            task_rank(&a.keys[0])
                .cmp(&task_rank(&b.keys[0]))
                .then_with(|| a.keys[0].cmp(&b.keys[0]))
                .then_with(|| by_affected(a, b))
        });
        Ok(rows)
    }

    /// **Table II**: the Table I statistics per intervention library and model, the
    /// libraries one under the other (by name), the models in the same order within
    /// each (by descending positive + negative share over all libraries).
    pub fn table2(&self) -> Result<Table> {
        let frame = self.frame()?;
        let g = grouped(&frame, &["library", "model"])?;
        let rows = read_rows(&g, &["library", "model"])?;
        let overall = read_rows(&grouped(&frame, &["model"])?, &["model"])?;
        let mut model_order: Vec<&StatRow> = overall.iter().collect();
        model_order.sort_by(|a, b| by_affected(a, b));
        let rank = |m: &str| model_order.iter().position(|r| r.keys[0] == m).unwrap_or(0);
        let mut libraries: BTreeMap<&str, Vec<&StatRow>> = BTreeMap::new();
        for r in &rows {
            libraries.entry(&r.keys[0]).or_default().push(r);
        }
        let mut ordered: Vec<&StatRow> = Vec::new();
        let sections = libraries
            .into_iter()
            .map(|(lib, mut rs)| {
                rs.sort_by_key(|r| rank(&r.keys[1]));
                ordered.extend(rs.iter().copied());
                let rows = rs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let mut cells = vec![
                            if i == 0 {
                                lib.to_string()
                            } else {
                                String::new()
                            },
                            r.keys[1].clone(),
                        ];
                        cells.extend(r.cells());
                        cells
                    })
                    .collect();
                Section { title: None, rows }
            })
            .collect();
        let ordered: Vec<StatRow> = ordered.into_iter().cloned().collect();
        let frame = rows_frame(&ordered, &["library", "model"])?;
        let mut headers = vec!["Datasets".to_string(), "Models".to_string()];
        headers.extend(STAT_HEADERS.iter().map(|s| s.to_string()));
        Ok(Table::new(
            "Table II: quantitative CEM results per intervention library",
            headers,
            sections,
            notes(&rows),
            frame,
        ))
    }

    /// **Table III**: per strategy, the mean share of inferences and the mean
    /// similarity score S against the full-pipeline map (`Full<T>`) of the same model,
    /// task, image, ROI, block and library and the same degraded input (the same ROI
    /// PSNR `O`: maps of one seed family; a full map of the same seed is preferred).
    ///
    /// The share is as the paper's: a map's interventions (every stage but the locality
    /// check) over `T` interventions for every cell outside the ROI, the paper's
    /// `32 x 32 x 500` (ROI cells are not intervened here, so they are left out of both),
    /// whatever crop either map ran on. Maps without a full map to compare with are left
    /// out and named in the notes. Rows by ascending inference share, then similarity.
    pub fn table3(&self) -> Result<Table> {
        let (mut fulls, mut others): (Vec<_>, Vec<_>) = self.maps().partition(|(_, m)| is_full(m));
        fulls.sort_by(|a, b| a.0.cmp(b.0));
        others.sort_by(|a, b| a.0.cmp(b.0));
        let (mut strategy, mut inferences, mut similarity) = (vec![], vec![], vec![]);
        let mut unmatched = vec![];
        for (path, m) in &others {
            let family: Vec<_> = fulls
                .iter()
                .filter(|(_, f)| same_family(f, m) && same_input(f, m))
                .collect();
            let full = family
                .iter()
                .find(|(_, f)| f.info.seed == m.info.seed)
                .or(family.first());
            match full {
                Some((_, f)) => {
                    strategy.push(m.info.strategy.clone());
                    inferences
                        .push(100.0 * interventions(m) as f64 / full_pipeline(f).max(1) as f64);
                    similarity.push(m.similarity(f)?);
                }
                None => unmatched.push(path.display().to_string()),
            }
        }
        let per_map = df!(
            "strategy" => strategy,
            "inferences_pct" => inferences,
            "similarity_pct" => similarity,
        )?;
        let g = per_map
            .lazy()
            .group_by([col("strategy")])
            .agg([
                len().alias("maps"),
                col("inferences_pct").mean(),
                col("similarity_pct").mean(),
            ])
            .collect()?;
        // ordered by the values as printed, then the name: means that differ only in the
        // order polars summed them (C3F50 and C3F50-U make the same inferences) tie
        let names = column_strings(&g, "strategy")?;
        let inf = column_floats(&g, "inferences_pct")?;
        let sim = column_floats(&g, "similarity_pct")?;
        let (inf_digits, sim_digits) = (1, 2);
        let printed = |v: f64, digits: i32| (v * 10f64.powi(digits)).round() as i64;
        let mut order: Vec<usize> = (0..g.height()).collect();
        order.sort_by_key(|&i| {
            (
                printed(inf[i], inf_digits),
                printed(sim[i], sim_digits),
                names[i].clone(),
            )
        });
        let frame = g.take(&IdxCa::from_vec(
            "order".into(),
            order.iter().map(|&i| i as IdxSize).collect(),
        ))?;
        let rows = order
            .iter()
            .map(|&i| {
                vec![
                    names[i].clone(),
                    fixed(inf[i], inf_digits as usize),
                    fixed(sim[i], sim_digits as usize),
                ]
            })
            .collect();
        let mut notes = vec![format!(
            "Against {} full-pipeline map(s); means over the maps of each strategy. Inferences: interventions (locality checks excluded) over T x the cells outside the ROI.",
            fulls.len()
        )];
        if !unmatched.is_empty() {
            notes.push(format!(
                "Left out, no full-pipeline map of the same model/task/image/ROI/block/library: {}",
                unmatched.join(", ")
            ));
        }
        Ok(Table::new(
            "Table III: inferences and similarity score per strategy",
            vec![
                "Strategies".into(),
                "Inferences (%)".into(),
                "Similarity Score (%)".into(),
            ],
            vec![Section { title: None, rows }],
            notes,
            frame,
        ))
    }
}

fn is_full(m: &CausalEffectMap) -> bool {
    m.info.strategy.starts_with("Full")
}

/// A map's interventions: every stage's inferences but the locality check's.
fn interventions(m: &CausalEffectMap) -> usize {
    m.info
        .stages
        .iter()
        .filter(|(stage, _)| **stage != crate::map::RunStage::Locality)
        .map(|(_, s)| s.inferences)
        .sum()
}

/// The full pipeline's interventions as the paper counts them: `T` for every cell
/// outside the ROI (`T` from the `Full<T>` label, else the most draws of a cell).
fn full_pipeline(full: &CausalEffectMap) -> usize {
    let t = full
        .info
        .strategy
        .strip_prefix("Full")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or_else(|| {
            full.cells
                .iter()
                .map(|c| c.samples as usize)
                .max()
                .unwrap_or(0)
        });
    let outside = full
        .cells
        .iter()
        .filter(|c| c.kind != crate::map::CellKind::Roi)
        .count();
    t * outside
}

/// The same degraded input: the same unintervened ROI PSNR `O` (a DN map of another
/// noise seed has another input and another `O`).
fn same_input(a: &CausalEffectMap, b: &CausalEffectMap) -> bool {
    let (a, b) = (a.info.original_psnr, b.info.original_psnr);
    // NaN: not recorded (a hand-made map), so no evidence of another input
    a.is_nan() || b.is_nan() || a == b || (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

fn same_family(a: &CausalEffectMap, b: &CausalEffectMap) -> bool {
    let (a, b) = (&a.info, &b.info);
    a.model == b.model
        && a.task == b.task
        && a.image == b.image
        && a.roi == b.roi
        && a.block == b.block
        && same_library(a, b)
        && a.width == b.width
        && a.height == b.height
}

/// Whether two maps drew from the same library: the recorded source is the path as
/// each run was given it (`../shared/data/patches-div2k-8` from the repository,
/// `studies/../../shared/data/patches-div2k-8` from a study), so the same folder name
/// and the same number of patches count as the same library.
fn same_library(a: &MapInfo, b: &MapInfo) -> bool {
    let name = |s: &str| {
        let t = s.trim_end_matches(['/', '\\']);
        t.rsplit(['/', '\\']).next().unwrap_or(t).to_string()
    };
    a.library_size == b.library_size
        && (a.library == b.library || name(&a.library) == name(&b.library))
}
