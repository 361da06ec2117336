//! The pieces every figure is made of: the map image, the pie, the colour bar, and an
//! image with its ROI boxed.

use super::colors::{
    effect_color, task_bound, NEGATIVE_BLUE, NONE_GREY, POSITIVE_RED, ROI_GREEN, ROI_OUTLINE,
};
use super::figure::{Align, Figure, Op};
use crate::error::{Error, Result};
use crate::image::Roi;
use crate::map::{CausalEffectMap, CellKind};
use image::{imageops, Rgb, RgbImage};

/// How a map is drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct MapStyle {
    /// Colour bound in dB (the colour map saturates there); `None` takes the task's
    /// (SR 2.5, DN 1, DR 2).
    pub bound: Option<f64>,
    /// Weight of the input image in the blend; the map gets `1 - input_alpha`.
    /// The paper uses 0.1; 0 draws the bare map.
    pub input_alpha: f64,
    /// Outline the ROI.
    pub outline_roi: bool,
}

impl Default for MapStyle {
    fn default() -> Self {
        MapStyle {
            bound: None,
            input_alpha: 0.1,
            outline_roi: true,
        }
    }
}

impl MapStyle {
    /// The bound used for `map`.
    pub fn bound_for(&self, map: &CausalEffectMap) -> f64 {
        self.bound.unwrap_or_else(|| task_bound(&map.info.task))
    }
}

/// The map at output scale (`cols*block x rows*block`): each cell a block in the
/// seismic colour of its effect, blended over `input` (resized to the map when its
/// size differs, e.g. an SR input), ROI cells pure green and outlined.
pub fn map_image(
    map: &CausalEffectMap,
    input: Option<&RgbImage>,
    style: &MapStyle,
) -> Result<RgbImage> {
    let block = map.info.block.max(1);
    let (w, h) = (map.cols * block, map.rows * block);
    if !(0.0..=1.0).contains(&style.input_alpha) {
        return Err(Error::invalid(
            "input_alpha",
            style.input_alpha,
            "must lie in [0, 1]",
        ));
    }
    let bound = style.bound_for(map);
    if !(bound > 0.0 && bound.is_finite()) {
        return Err(Error::invalid(
            "bound",
            bound,
            "must be a positive number of dB",
        ));
    }
    let backdrop = input.map(|i| {
        if i.dimensions() == (w, h) {
            i.clone()
        } else {
            imageops::resize(i, w, h, imageops::FilterType::CatmullRom)
        }
    });
    let a = style.input_alpha;
    let mut out = RgbImage::new(w, h);
    for cell in &map.cells {
        let color = match cell.kind {
            CellKind::Roi => None,
            _ => Some(effect_color(cell.effect_db, bound)),
        };
        for y in cell.row * block..(cell.row + 1) * block {
            for x in cell.col * block..(cell.col + 1) * block {
                let px = match (color, &backdrop) {
                    (None, _) => ROI_GREEN,
                    (Some(c), None) => c,
                    (Some(c), Some(b)) => {
                        let p = b.get_pixel(x, y);
                        Rgb(std::array::from_fn(|k| {
                            ((1.0 - a) * c[k] as f64 + a * p[k] as f64).round() as u8
                        }))
                    }
                };
                out.put_pixel(x, y, px);
            }
        }
    }
    if style.outline_roi {
        if let Some((x0, y0, x1, y1)) = roi_box(map) {
            outline(
                &mut out,
                (x0 * block, y0 * block),
                (x1 * block, y1 * block),
                ROI_OUTLINE,
                1,
            );
        }
    }
    Ok(out)
}

/// Grid bounds `(col0, row0, col1, row1)` (exclusive ends) of the ROI cells.
fn roi_box(map: &CausalEffectMap) -> Option<(u32, u32, u32, u32)> {
    map.cells
        .iter()
        .filter(|c| c.kind == CellKind::Roi)
        .fold(None, |acc, c| {
            let (x0, y0, x1, y1) = acc.unwrap_or((c.col, c.row, c.col + 1, c.row + 1));
            Some((
                x0.min(c.col),
                y0.min(c.row),
                x1.max(c.col + 1),
                y1.max(c.row + 1),
            ))
        })
}

/// Draws a `width`-pixel rectangle outline inside `[from, to)`.
pub fn outline(img: &mut RgbImage, from: (u32, u32), to: (u32, u32), color: Rgb<u8>, width: u32) {
    let (w, h) = img.dimensions();
    let (x1, y1) = (to.0.min(w), to.1.min(h));
    for y in from.1..y1 {
        for x in from.0..x1 {
            let edge =
                x < from.0 + width || x + width >= x1 || y < from.1 + width || y + width >= y1;
            if edge {
                img.put_pixel(x, y, color);
            }
        }
    }
}

/// `img` with the ROI (given in output pixels; `scale` maps it onto `img`, e.g. 4 for
/// an SR input) boxed in green.
pub fn with_roi_box(img: &RgbImage, roi: Roi, scale: u32) -> RgbImage {
    let mut out = img.clone();
    let s = scale.max(1);
    let (x0, y0) = (roi.x / s, roi.y / s);
    let side = (roi.size / s).max(1);
    let width = (img.width() / 128).clamp(1, 3);
    outline(
        &mut out,
        (x0.saturating_sub(width), y0.saturating_sub(width)),
        (x0 + side + width, y0 + side + width),
        ROI_GREEN,
        width,
    );
    out
}

/// Resizes (nearest neighbour, so cells stay crisp) to fit in a `side`-square.
pub fn fit(img: &RgbImage, side: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    if w == side && h <= side || h == side && w <= side {
        return img.clone();
    }
    let k = side as f64 / w.max(h) as f64;
    let (nw, nh) = (
        ((w as f64 * k).round() as u32).max(1),
        ((h as f64 * k).round() as u32).max(1),
    );
    imageops::resize(img, nw, nh, imageops::FilterType::Nearest)
}

/// Shares of a pie, in percent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shares {
    /// Positive cells (ROI included), %.
    pub positive: f64,
    /// Negative cells, %.
    pub negative: f64,
    /// Cells without effect, %.
    pub none: f64,
}

impl Shares {
    /// The shares of one map, counted as Table I counts them.
    pub fn of(map: &CausalEffectMap) -> Self {
        let c = map.counts();
        Shares {
            positive: c.positive_pct(),
            negative: c.negative_pct(),
            none: c.none_pct(),
        }
    }
}

/// A pie of positive (red), negative (blue) and none (grey) centred at `(cx, cy)`,
/// starting at 12 o'clock, clockwise, with the percentages of slices of at least 1 %
/// (inside from 8 %, else just outside the rim, reading away from the pie; an outside
/// label that would touch the one before it on the same side moves one line further
/// clockwise, so that two small neighbouring slices keep legible labels).
pub fn pie(fig: &mut Figure, cx: i32, cy: i32, radius: i32, shares: Shares, font: f64) {
    let total = shares.positive + shares.negative + shares.none;
    if total <= 0.0 {
        return;
    }
    let mut start = 0.0f64;
    // outside labels so far: (right side?, y)
    let mut outside: Vec<(bool, i32)> = Vec::new();
    let line = (font * 1.3).ceil() as i32;
    for (value, color) in [
        (shares.positive, POSITIVE_RED),
        (shares.negative, NEGATIVE_BLUE),
        (shares.none, NONE_GREY),
    ] {
        if value <= 0.0 {
            continue;
        }
        let sweep = value / total * std::f64::consts::TAU;
        let steps = ((sweep / 0.05).ceil() as usize).max(2);
        let at = |angle: f64, r: f64| {
            (
                cx + (r * angle.sin()).round() as i32,
                cy - (r * angle.cos()).round() as i32,
            )
        };
        let mut points = vec![(cx, cy)];
        points.extend(
            (0..=steps).map(|i| at(start + sweep * i as f64 / steps as f64, radius as f64)),
        );
        fig.push(Op::Polygon { points, color });
        let share = value / total;
        if share >= 0.01 {
            // big slices carry their label inside; small ones just outside the rim
            let inside = share >= 0.08;
            let mid = start + sweep / 2.0;
            let (mut lx, mut ly) = at(mid, radius as f64 * if inside { 0.62 } else { 1.12 });
            let mut align = Align::Center;
            if !inside {
                // read away from the pie, and step clear of the label before
                let right = mid.sin() >= 0.0;
                let step = if right { line } else { -line };
                while outside
                    .iter()
                    .any(|&(side, y)| side == right && (y - ly).abs() < line)
                {
                    ly += step;
                }
                outside.push((right, ly));
                // on the label circle at that height, so a moved label clears the rim
                let r = radius as f64 * 1.12;
                let dy = (ly - cy) as f64;
                let dx = (r * r - dy * dy).max(0.0).sqrt().round() as i32 + 2;
                (lx, align) = if right {
                    (cx + dx, Align::Left)
                } else {
                    (cx - dx, Align::Right)
                };
            }
            let label = if value >= 10.0 {
                format!("{value:.0}%")
            } else {
                format!("{value:.1}%")
            };
            let on_dark = inside && color != NONE_GREY;
            fig.push(Op::Text {
                x: lx,
                y: ly,
                text: label,
                size: font,
                color: if on_dark {
                    Rgb([255, 255, 255])
                } else {
                    Rgb([0, 0, 0])
                },
                align,
                bold: false,
            });
        }
        start += sweep;
    }
}

/// A horizontal colour bar at `(x, y)` of `w x h`: the effects from `lo` to `hi` in the
/// map's colours under `bound`, drawn on an axis from `axis.0` to `axis.1` (equal to
/// `(lo, hi)` for a bar of one map; wider when several bars share a scale), labelled
/// with `lo` and `hi` underneath.
#[allow(clippy::too_many_arguments)]
pub fn colorbar(
    fig: &mut Figure,
    x: i32,
    y: i32,
    w: u32,
    h: u32,
    (lo, hi): (f64, f64),
    axis: (f64, f64),
    bound: f64,
    font: f64,
) {
    let (a0, a1) = (axis.0.min(lo), axis.1.max(hi));
    let span = (a1 - a0).max(1e-12);
    let mut bar = RgbImage::from_pixel(w, h, Rgb([245, 245, 245]));
    for i in 0..w {
        let v = a0 + span * (i as f64 + 0.5) / w as f64;
        if v >= lo - span / w as f64 && v <= hi + span / w as f64 {
            let c = effect_color(v, bound);
            for j in 0..h {
                bar.put_pixel(i, j, c);
            }
        }
    }
    outline(&mut bar, (0, 0), (w, h), Rgb([80, 80, 80]), 1);
    fig.push(Op::Image { x, y, image: bar });
    let pos = |v: f64| x + ((v - a0) / span * w as f64).round() as i32;
    let ty = y + h as i32 + (font * 0.8) as i32;
    let (lx, hx) = (pos(lo), pos(hi));
    let far_enough = hx - lx > (font * 3.0) as i32;
    // close ends: the low label ends and the high one starts a little apart, not touching
    let gap = if far_enough {
        0
    } else {
        (font * 0.35).ceil() as i32
    };
    fig.text(
        lx - gap,
        ty,
        format!("{lo:.2}"),
        font,
        if far_enough {
            Align::Center
        } else {
            Align::Right
        },
    );
    fig.text(
        hx + gap,
        ty,
        format!("{hi:.2}"),
        font,
        if far_enough {
            Align::Center
        } else {
            Align::Left
        },
    );
}
