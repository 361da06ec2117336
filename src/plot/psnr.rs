//! The test-set PSNR panel of Fig. 12 and 13 ("the average PSNR values of models
//! testing on the test set are also noted"), and the figure that puts it beside the
//! average pies of single-task, mix-trained and MIO networks.

use super::colors::{NEGATIVE_BLUE, NONE_GREY, POSITIVE_RED};
use super::figure::{Align, Figure, Op};
use super::layouts::{pies, PieStats};
use super::parts::MapStyle;
use crate::error::{Error, Result};
use crate::stats::task_title;
use image::Rgb;

const MARGIN: i32 = 16;
const FONT: f64 = 15.0;
const SMALL: f64 = 12.0;
/// A task's block is as tall as a row of [`pies`], so the two line up side by side.
const ROW_H: i32 = 282;
const LABEL_W: i32 = 150;
const BAR_W: i32 = 230;
const VALUE_W: i32 = 70;

/// One bar of [`psnr_panel`]: a model's mean PSNR on one task over a test set.
#[derive(Clone, Debug, PartialEq)]
pub struct PsnrBar {
    /// Task name (`sr`, `dn`, `dr`, ...), one block per task.
    pub task: String,
    /// Model name.
    pub model: String,
    /// Its mean PSNR (dB).
    pub psnr: f64,
    /// Doing nothing's mean PSNR on the same images (the bicubic upsampling for SR,
    /// the degraded input otherwise), drawn as a grey line; `None` leaves it out.
    pub baseline: Option<f64>,
}

/// The colour of a bar: mix-trained in blue, MIO in red, single-task in grey, read from
/// the model name (`_mix`, `_MIO`).
fn bar_color(model: &str) -> Rgb<u8> {
    if model.contains("_MIO") {
        POSITIVE_RED
    } else if model.contains("_mix") {
        NEGATIVE_BLUE
    } else {
        Rgb([120, 120, 120])
    }
}

/// **Test-set PSNR** (Fig. 12, 13): one block per task in first-seen order, one
/// horizontal bar per model with its value; the axis of each block starts 1 dB under
/// its lowest value so the differences show, and doing nothing is a grey line. Blocks
/// are as tall as a row of [`pies`]. A value that is not finite is an error naming it.
///
/// ```
/// use cem::plot::{psnr_panel, PsnrBar};
/// # fn main() -> cem::Result<()> {
/// let bar = |model: &str, psnr| PsnrBar { task: "dn".into(), model: model.into(), psnr, baseline: Some(15.3) };
/// let fig = psnr_panel(&[bar("SRResNet-s", 27.6), bar("SRResNet_mix-s", 26.1)])?;
/// assert!(fig.width > 0 && fig.height > 0);
/// # Ok(()) }
/// ```
pub fn psnr_panel(bars: &[PsnrBar]) -> Result<Figure> {
    if bars.is_empty() {
        return Err(Error::invalid(
            "PSNR bars",
            "none",
            "the panel needs at least one model's PSNR",
        ));
    }
    for b in bars {
        if !b.psnr.is_finite() || b.baseline.is_some_and(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "PSNR",
                format!("{} / {:?}", b.psnr, b.baseline),
                format!("{} on {}: PSNRs must be finite", b.model, b.task),
            ));
        }
    }
    let mut tasks: Vec<&str> = Vec::new();
    for b in bars {
        if !tasks.contains(&b.task.as_str()) {
            tasks.push(&b.task);
        }
    }
    let width = MARGIN * 2 + LABEL_W + BAR_W + VALUE_W;
    let height = MARGIN * 2 + tasks.len() as i32 * ROW_H;
    let mut fig = Figure::new(width as u32, height as u32);
    for (r, task) in tasks.iter().enumerate() {
        let y0 = MARGIN + r as i32 * ROW_H;
        fig.push(Op::Text {
            x: MARGIN,
            y: y0 + 12,
            text: format!("{}: test-set PSNR (dB)", task_title(task)),
            size: FONT + 1.0,
            color: Rgb([0, 0, 0]),
            align: Align::Left,
            bold: true,
        });
        let rows: Vec<&PsnrBar> = bars.iter().filter(|b| b.task == *task).collect();
        let values = rows
            .iter()
            .flat_map(|b| std::iter::once(b.psnr).chain(b.baseline));
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, z), v| {
            (a.min(v), z.max(v))
        });
        let (lo, hi) = ((lo - 1.0).floor(), hi.ceil().max(lo.floor() + 1.0));
        let x0 = MARGIN + LABEL_W;
        let at = |v: f64| x0 + ((v - lo) / (hi - lo) * BAR_W as f64).round() as i32;
        let top = y0 + 36;
        let pitch = ((ROW_H - 90) / rows.len().max(1) as i32).min(30);
        for (i, b) in rows.iter().enumerate() {
            let y = top + i as i32 * pitch;
            fig.text(x0 - 8, y + pitch / 2, b.model.clone(), SMALL, Align::Right);
            fig.push(Op::Rect {
                from: (x0, y + 4),
                to: (at(b.psnr).max(x0 + 1), y + pitch - 4),
                color: bar_color(&b.model),
                stroke: 0,
            });
            fig.text(
                at(b.psnr) + 6,
                y + pitch / 2,
                format!("{:.2}", b.psnr),
                SMALL,
                Align::Left,
            );
        }
        let bottom = top + rows.len() as i32 * pitch;
        let baselines: Vec<f64> = rows.iter().filter_map(|b| b.baseline).collect();
        if !baselines.is_empty() {
            let v = baselines.iter().sum::<f64>() / baselines.len() as f64;
            fig.push(Op::Rect {
                from: (at(v) - 1, top),
                to: (at(v) + 1, bottom),
                color: NONE_GREY,
                stroke: 0,
            });
            fig.text(
                at(v),
                bottom + 12,
                format!("doing nothing {v:.2}"),
                SMALL,
                Align::Center,
            );
        }
        fig.push(Op::Rect {
            from: (x0, bottom + 26),
            to: (x0 + BAR_W, bottom + 27),
            color: Rgb([0, 0, 0]),
            stroke: 0,
        });
        for v in [lo, hi] {
            fig.text(at(v), bottom + 38, format!("{v:.0}"), SMALL, Align::Center);
        }
    }
    Ok(fig)
}

/// **Fig. 12a-c / 13a-c with the PSNRs noted**: the average pies of [`pies`] (one row per
/// task) and, beside them, the [`psnr_panel`] of the same tasks, block by block on the
/// same rows. Order `stats` and `bars` by task the same way.
///
/// ```
/// use cem::plot::{pies_with_psnr, MapStyle, PieStats, PsnrBar, Shares};
/// # fn main() -> cem::Result<()> {
/// let shares = Shares { positive: 5.0, negative: 1.0, none: 94.0 };
/// let stats = [PieStats { task: "dn".into(), model: "RCAN_mix-s".into(), year: None, shares, range: (-0.1, 0.8) }];
/// let bars = [PsnrBar { task: "dn".into(), model: "RCAN_mix-s".into(), psnr: 26.0, baseline: Some(15.3) }];
/// let fig = pies_with_psnr(&stats, &bars, &MapStyle::default())?;
/// # Ok(()) }
/// ```
pub fn pies_with_psnr(stats: &[PieStats], bars: &[PsnrBar], style: &MapStyle) -> Result<Figure> {
    let left = pies(stats, style)?;
    let right = psnr_panel(bars)?;
    let mut fig = Figure::new(left.width + right.width, left.height.max(right.height));
    fig.place(&left, 0, 0);
    fig.place(&right, left.width as i32, 0);
    Ok(fig)
}

/// The numbers of a [`psnr_panel`] as a table (polars frame inside): one section per
/// task, a row per model with its mean PSNR, doing nothing's and the gain over it.
///
/// ```
/// use cem::plot::{psnr_table, PsnrBar};
/// # fn main() -> cem::Result<()> {
/// let bars = [PsnrBar { task: "dr".into(), model: "SRResNet-s".into(), psnr: 22.0, baseline: Some(15.0) }];
/// let table = psnr_table(&bars)?;
/// assert!(table.to_text().contains("+7.00"));
/// assert_eq!(table.frame().height(), 1);
/// # Ok(()) }
/// ```
pub fn psnr_table(bars: &[PsnrBar]) -> Result<crate::stats::Table> {
    use crate::stats::{Section, Table};
    use polars::prelude::*;
    let mut sections: Vec<Section> = Vec::new();
    for b in bars {
        let title = task_title(&b.task);
        if sections.last().and_then(|s| s.title.as_ref()) != Some(&title) {
            sections.push(Section {
                title: Some(title),
                rows: vec![],
            });
        }
        let cells = vec![
            b.model.clone(),
            format!("{:.2}", b.psnr),
            b.baseline.map_or("-".into(), |v| format!("{v:.2}")),
            b.baseline
                .map_or("-".into(), |v| format!("{:+.2}", b.psnr - v)),
        ];
        sections.last_mut().expect("pushed above").rows.push(cells);
    }
    let frame = df!(
        "task" => bars.iter().map(|b| b.task.clone()).collect::<Vec<_>>(),
        "model" => bars.iter().map(|b| b.model.clone()).collect::<Vec<_>>(),
        "psnr_db" => bars.iter().map(|b| b.psnr).collect::<Vec<_>>(),
        "nothing_db" => bars.iter().map(|b| b.baseline).collect::<Vec<_>>(),
        "gain_db" => bars.iter().map(|b| b.baseline.map(|v| b.psnr - v)).collect::<Vec<_>>(),
    )?;
    Ok(Table::new(
        "Test-set PSNR (dB): mean over the images, model vs doing nothing",
        ["Models", "PSNR", "Doing nothing", "Gain"]
            .map(String::from)
            .to_vec(),
        sections,
        vec![],
        frame,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(task: &str, model: &str, psnr: f64) -> PsnrBar {
        PsnrBar {
            task: task.into(),
            model: model.into(),
            psnr,
            baseline: Some(20.0),
        }
    }

    #[test]
    fn one_block_per_task_and_bars_in_proportion() {
        let bars = [
            bar("sr", "A-s", 24.0),
            bar("sr", "A_mix-s", 22.0),
            bar("dn", "A-s", 28.0),
        ];
        let fig = psnr_panel(&bars).unwrap();
        assert_eq!(fig.height as i32, MARGIN * 2 + 2 * ROW_H);
        let widths: Vec<i32> = fig
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Rect {
                    from, to, color, ..
                } if *color == bar_color("A-s") || *color == bar_color("A_mix-s") => {
                    Some(to.0 - from.0)
                }
                _ => None,
            })
            .collect();
        // SR axis 19..24 dB: 24 fills the bar, 22 three fifths of it; DN axis 19..28
        assert_eq!(widths, vec![BAR_W, BAR_W * 3 / 5, BAR_W]);
        let texts: Vec<String> = fig
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        assert!(texts.contains(&"22.00".to_string()));
        assert!(texts.contains(&"doing nothing 20.00".to_string()));
        fig.to_png().unwrap();
    }

    #[test]
    fn bad_inputs_are_errors_naming_them() {
        let err = psnr_panel(&[]).unwrap_err().to_string();
        assert!(err.contains("at least one"), "{err}");
        let err = psnr_panel(&[bar("dr", "B_MIO-s", f64::NAN)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("B_MIO-s") && err.contains("NaN"), "{err}");
    }

    #[test]
    fn pies_and_panel_side_by_side_on_the_same_rows() {
        let shares = crate::plot::Shares {
            positive: 5.0,
            negative: 1.0,
            none: 94.0,
        };
        let stats: Vec<PieStats> = ["sr", "dn"]
            .iter()
            .map(|t| PieStats {
                task: t.to_string(),
                model: "A-s".into(),
                year: None,
                shares,
                range: (-0.1, 0.5),
            })
            .collect();
        let bars = [bar("sr", "A-s", 24.0), bar("dn", "A-s", 28.0)];
        let left = pies(&stats, &MapStyle::default()).unwrap();
        let fig = pies_with_psnr(&stats, &bars, &MapStyle::default()).unwrap();
        assert_eq!(left.height, fig.height, "rows of the same height");
        assert!(fig.width > left.width);
    }
}
