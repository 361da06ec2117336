//! Whole figures: the one-map panel, grids of maps (Fig. 9b, 11), side-by-side
//! comparisons with a shared colour bar (Fig. 7, 9a, 12d, 13d) and per-model average
//! pies (Fig. 10, 12a-c, 13a-c).

use super::colors::task_bound;
use super::figure::{Align, Figure, Op};
use super::parts::{colorbar, fit, map_image, pie, with_roi_box, MapStyle, Shares};
use crate::error::{Error, Result};
use crate::map::{CausalEffectMap, MapRun};
use crate::stats::{task_title, Table1Row};
use image::RgbImage;
use std::collections::HashMap;

/// `"model · TASK"`, a figure's label for a result.
fn label(view: &MapRun) -> String {
    format!(
        "{} · {}",
        view.map.info.model,
        view.map.info.task.to_uppercase()
    )
}

const MARGIN: i32 = 16;
const GAP: i32 = 16;
const FONT: f64 = 15.0;
const SMALL: f64 = 12.0;

fn range_or_zero(map: &CausalEffectMap) -> (f64, f64) {
    let (lo, hi) = map.range();
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 0.0)
    }
}

/// **The one-map panel**: input with the ROI boxed, model output, the map, and its pie
/// with the colour bar, titled with model, task, image and ROI PSNR. Images the view
/// lacks are left out.
pub fn panel(view: &MapRun, style: &MapStyle) -> Result<Figure> {
    let tile: u32 = 256;
    let m = &view.map;
    let mut tiles: Vec<(RgbImage, String)> = Vec::new();
    if let Some(input) = &view.input {
        let scale = (m.info.width / input.width().max(1)).max(1);
        tiles.push((
            fit(&with_roi_box(input, m.info.roi, scale), tile),
            "input".into(),
        ));
    }
    if let Some(output) = &view.output {
        tiles.push((
            fit(&with_roi_box(output, m.info.roi, 1), tile),
            "output".into(),
        ));
    }
    tiles.push((
        fit(&map_image(m, view.input.as_ref(), style)?, tile),
        "causal effect map".into(),
    ));
    let side_w = 200;
    let psnr = if m.info.original_psnr.is_finite() {
        format!(" · ROI PSNR {:.2} dB", m.info.original_psnr)
    } else {
        String::new()
    };
    let title = format!(
        "{} · {} · ROI {}{psnr}",
        label(view),
        m.info.image,
        m.info.roi
    );
    // wide enough for the title even when images are missing (about 0.6 em a character)
    let title_w = (title.chars().count() as f64 * (FONT + 3.0) * 0.6) as i32 + 2 * MARGIN;
    let width = (MARGIN * 2 + tiles.len() as i32 * (tile as i32 + GAP) + side_w).max(title_w);
    let title_h = 40;
    let height = MARGIN + title_h + tile as i32 + 28 + MARGIN;
    let mut fig = Figure::new(width as u32, height as u32);
    fig.title(width / 2, MARGIN + title_h / 2 - 4, title, FONT + 3.0);
    let top = MARGIN + title_h;
    let mut x = MARGIN;
    for (img, label) in tiles {
        fig.push(Op::Image {
            x,
            y: top,
            image: img,
        });
        fig.text(
            x + tile as i32 / 2,
            top + tile as i32 + 14,
            label,
            FONT,
            Align::Center,
        );
        x += tile as i32 + GAP;
    }
    let cx = x + side_w / 2;
    pie(&mut fig, cx, top + 98, 70, Shares::of(m), SMALL);
    let range = range_or_zero(m);
    colorbar(
        &mut fig,
        x + 20,
        top + 200,
        side_w as u32 - 40,
        14,
        range,
        range,
        style.bound_for(m),
        SMALL,
    );
    fig.text(cx, top + 246, "effect (dB)", SMALL, Align::Center);
    Ok(fig)
}

/// Several panels, one under another.
pub fn panels(views: &[MapRun], style: &MapStyle) -> Result<Figure> {
    let parts = views
        .iter()
        .map(|v| panel(v, style))
        .collect::<Result<Vec<_>>>()?;
    let width = parts.iter().map(|p| p.width).max().ok_or_else(no_maps)?;
    let height = parts.iter().map(|p| p.height).sum();
    let mut fig = Figure::new(width, height);
    let mut y = 0;
    for p in &parts {
        fig.place(p, 0, y);
        y += p.height as i32;
    }
    Ok(fig)
}

fn no_maps() -> Error {
    Error::invalid("maps", "none", "a figure needs at least one map")
}

/// One map tile with its pie and colour bar underneath, `tile` wide.
fn map_cell(
    view: &MapRun,
    tile: u32,
    style: &MapStyle,
    axis: Option<(f64, f64)>,
) -> Result<Figure> {
    let m = &view.map;
    let mut fig = Figure::new(tile, tile + 72);
    fig.push(Op::Image {
        x: 0,
        y: 0,
        image: fit(&map_image(m, view.input.as_ref(), style)?, tile),
    });
    let r = 24;
    pie(
        &mut fig,
        r + 12,
        tile as i32 + 12 + r,
        r,
        Shares::of(m),
        9.0,
    );
    let range = range_or_zero(m);
    let bar_x = 2 * r + 30;
    colorbar(
        &mut fig,
        bar_x,
        tile as i32 + 18,
        tile - bar_x as u32 - 8,
        10,
        range,
        axis.unwrap_or(range),
        style.bound_for(m),
        SMALL,
    );
    Ok(fig)
}

/// **A grid of maps** with row and column titles (Fig. 9b, 11). `cells[r][c]` is the
/// map at row `r`, column `c`, or `None` for an empty slot.
pub fn grid(
    cells: &[Vec<Option<&MapRun>>],
    row_titles: &[String],
    col_titles: &[String],
    style: &MapStyle,
) -> Result<Figure> {
    let rows = cells.len();
    let cols = cells.iter().map(|r| r.len()).max().unwrap_or(0);
    if rows == 0 || cols == 0 {
        return Err(no_maps());
    }
    if row_titles.len() != rows || col_titles.len() != cols {
        return Err(Error::SizeMismatch {
            what: "grid titles (rows x columns)".into(),
            expected: format!("{rows} x {cols}"),
            got: format!("{} x {}", row_titles.len(), col_titles.len()),
        });
    }
    let tile = 200u32;
    let (cell_w, cell_h) = (tile as i32 + GAP, tile as i32 + 72 + GAP);
    let left = 130;
    let top = 36;
    let width = MARGIN + left + cols as i32 * cell_w + MARGIN - GAP;
    let height = MARGIN + top + rows as i32 * cell_h + MARGIN - GAP;
    let mut fig = Figure::new(width as u32, height as u32);
    for (c, t) in col_titles.iter().enumerate() {
        fig.title(
            MARGIN + left + c as i32 * cell_w + tile as i32 / 2,
            MARGIN + top / 2,
            t.clone(),
            FONT,
        );
    }
    for (r, row) in cells.iter().enumerate() {
        let y = MARGIN + top + r as i32 * cell_h;
        fig.push(Op::Text {
            x: MARGIN + left - 12,
            y: y + tile as i32 / 2,
            text: row_titles[r].clone(),
            size: FONT,
            color: image::Rgb([0, 0, 0]),
            align: Align::Right,
            bold: true,
        });
        for (c, view) in row.iter().enumerate() {
            if let Some(view) = view {
                let part = map_cell(view, tile, style, None)?;
                fig.place(&part, MARGIN + left + c as i32 * cell_w, y);
            }
        }
    }
    Ok(fig)
}

/// A grid with one row per model and one column per task (SR, DN, DR order), as in
/// Fig. 11; with several maps in a slot the first is drawn.
pub fn grid_by_model_and_task(views: &[MapRun], style: &MapStyle) -> Result<Figure> {
    let mut models: Vec<String> = Vec::new();
    let mut tasks: Vec<String> = Vec::new();
    for v in views {
        if !models.contains(&v.map.info.model) {
            models.push(v.map.info.model.clone());
        }
        if !tasks.contains(&v.map.info.task) {
            tasks.push(v.map.info.task.clone());
        }
    }
    let rank = |t: &str| ["sr", "dn", "dr"].iter().position(|x| *x == t).unwrap_or(3);
    tasks.sort_by_key(|t| rank(t));
    let cells: Vec<Vec<Option<&MapRun>>> = models
        .iter()
        .map(|m| {
            tasks
                .iter()
                .map(|t| {
                    views
                        .iter()
                        .find(|v| &v.map.info.model == m && &v.map.info.task == t)
                })
                .collect()
        })
        .collect();
    let col_titles: Vec<String> = tasks.iter().map(|t| task_title(t)).collect();
    grid(&cells, &models, &col_titles, style)
}

/// **Side by side** (Fig. 7, 9a, 12d, 13d): maps in a row with titles (default: the
/// model names), a pie under each, and one colour bar for all, over their joint range.
pub fn compare(views: &[MapRun], titles: Option<&[String]>, style: &MapStyle) -> Result<Figure> {
    if views.is_empty() {
        return Err(no_maps());
    }
    let titles: Vec<String> = match titles {
        Some(t) if t.len() == views.len() => t.to_vec(),
        Some(t) => {
            return Err(Error::SizeMismatch {
                what: "comparison titles".into(),
                expected: views.len().to_string(),
                got: t.len().to_string(),
            })
        }
        None => views.iter().map(|v| v.map.info.model.clone()).collect(),
    };
    // one bound for all, so colours compare
    let bound = style.bound.unwrap_or_else(|| {
        views
            .iter()
            .map(|v| task_bound(&v.map.info.task))
            .fold(0.0, f64::max)
    });
    let shared = MapStyle {
        bound: Some(bound),
        ..style.clone()
    };
    let tile = 256u32;
    let n = views.len() as i32;
    let width = MARGIN * 2 + n * (tile as i32 + GAP) - GAP;
    let top = 34;
    let height = MARGIN + top + tile as i32 + 144 + 60 + MARGIN;
    let mut fig = Figure::new(width as u32, height as u32);
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (i, (v, t)) in views.iter().zip(&titles).enumerate() {
        let x = MARGIN + i as i32 * (tile as i32 + GAP);
        fig.title(x + tile as i32 / 2, MARGIN + top / 2, t.clone(), FONT);
        fig.push(Op::Image {
            x,
            y: MARGIN + top,
            image: fit(&map_image(&v.map, v.input.as_ref(), &shared)?, tile),
        });
        pie(
            &mut fig,
            x + tile as i32 / 2,
            MARGIN + top + tile as i32 + 74,
            54,
            Shares::of(&v.map),
            SMALL,
        );
        let (a, b) = range_or_zero(&v.map);
        lo = lo.min(a);
        hi = hi.max(b);
    }
    let bar_w = (width - 2 * MARGIN).min(520) as u32;
    let bar_y = MARGIN + top + tile as i32 + 148;
    colorbar(
        &mut fig,
        (width - bar_w as i32) / 2,
        bar_y,
        bar_w,
        14,
        (lo, hi),
        (lo, hi),
        bound,
        SMALL,
    );
    fig.text(
        width / 2,
        bar_y + 44,
        "effect (dB), all maps",
        SMALL,
        Align::Center,
    );
    Ok(fig)
}

/// One model's average statistics for [`pies`].
#[derive(Clone, Debug, PartialEq)]
pub struct PieStats {
    /// Task name (`sr`, `dn`, `dr`, ...).
    pub task: String,
    /// Model name.
    pub model: String,
    /// Year the model was proposed, if known.
    pub year: Option<u32>,
    /// Mean shares.
    pub shares: Shares,
    /// Mean (min, max) effect; `(0, 0)` when the row had no cell outside the ROI.
    pub range: (f64, f64),
}

impl PieStats {
    /// The rows of a Table I ([`crate::stats::MapSet::table1_rows`]), in its order;
    /// `years` maps model names to years.
    pub fn from_table1(rows: &[Table1Row], years: &HashMap<String, u32>) -> Vec<PieStats> {
        rows.iter()
            .map(|r| PieStats {
                task: r.task.clone(),
                model: r.model.clone(),
                year: years.get(&r.model).copied(),
                shares: Shares {
                    positive: r.positive_pct,
                    negative: r.negative_pct,
                    none: r.none_pct,
                },
                range: r.range_db.unwrap_or((0.0, 0.0)),
            })
            .collect()
    }
}

/// **Average pies** (Fig. 10, 12a-c, 13a-c): one row per task, one pie per model with
/// its name and year, and under it a colour bar of its average range, all bars on one
/// scale so their lengths compare.
pub fn pies(stats: &[PieStats], style: &MapStyle) -> Result<Figure> {
    if stats.is_empty() {
        return Err(no_maps());
    }
    let mut tasks: Vec<&str> = Vec::new();
    for s in stats {
        if !tasks.contains(&s.task.as_str()) {
            tasks.push(&s.task);
        }
    }
    let axis = stats.iter().fold((0.0f64, 0.0f64), |(a, b), s| {
        (a.min(s.range.0), b.max(s.range.1))
    });
    let per_row = tasks
        .iter()
        .map(|t| stats.iter().filter(|s| s.task == *t).count())
        .max()
        .unwrap_or(1) as i32;
    let (cell_w, cell_h) = (170, 252);
    let width = MARGIN * 2 + per_row * cell_w;
    let height = MARGIN * 2 + tasks.len() as i32 * (cell_h + 30);
    let mut fig = Figure::new(width as u32, height as u32);
    for (r, task) in tasks.iter().enumerate() {
        let y0 = MARGIN + r as i32 * (cell_h + 30);
        fig.push(Op::Text {
            x: MARGIN,
            y: y0 + 12,
            text: task_title(task),
            size: FONT + 1.0,
            color: image::Rgb([0, 0, 0]),
            align: Align::Left,
            bold: true,
        });
        let bound = style.bound.unwrap_or_else(|| task_bound(task));
        for (i, s) in stats.iter().filter(|s| s.task == *task).enumerate() {
            let cx = MARGIN + i as i32 * cell_w + cell_w / 2;
            let top = y0 + 30;
            fig.title(cx, top + 8, s.model.clone(), FONT);
            if let Some(year) = s.year {
                fig.text(cx, top + 26, year.to_string(), SMALL, Align::Center);
            }
            pie(&mut fig, cx, top + 126, 56, s.shares, SMALL);
            colorbar(
                &mut fig,
                cx - 70,
                top + 198,
                140,
                10,
                s.range,
                axis,
                bound,
                SMALL,
            );
        }
    }
    Ok(fig)
}
