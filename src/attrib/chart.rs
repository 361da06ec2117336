//! A small line chart (plotters, the shipped font) rendered to an image, for the
//! trace and single-pixel figures.

use crate::error::{Error, Result};
use ::image::RgbImage;
use plotters::prelude::*;

/// One line: a legend label and its points.
pub type Series = (String, Vec<(f64, f64)>);

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Draws `series` as lines on one chart of `width x height` pixels, with a dashed
/// horizontal reference line at `reference` if given.
pub fn line_chart(
    series: &[Series],
    title: &str,
    x_label: &str,
    y_label: &str,
    reference: Option<f64>,
    (width, height): (u32, u32),
) -> Result<RgbImage> {
    crate::plot::register_fonts();
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let finite: Vec<(f64, f64)> = points
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .copied()
        .collect();
    if finite.is_empty() {
        return Err(Error::Figure(format!(
            "line chart '{title}': no finite points to draw"
        )));
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &finite {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if let Some(r) = reference {
        y0 = y0.min(r);
        y1 = y1.max(r);
    }
    let pad = ((y1 - y0) * 0.08).max(1e-3);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let mut buf = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| Error::plot(format!("line chart {title:?}"), e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .margin_right(30)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| Error::plot(format!("line chart {title:?}"), e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            // counts (interventions, iterations): whole numbers
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc(y_label)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| Error::plot(format!("line chart {title:?}"), e))?;
        if let Some(r) = reference {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, r), (x1, r)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(|e| Error::plot(format!("line chart {title:?}"), e))?;
        }
        for (i, (label, pts)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let pts: Vec<(f64, f64)> = pts
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .copied()
                .collect();
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(|e| Error::plot(format!("line chart {title:?}"), e))?
                .label(label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        if series.len() > 1 || series.iter().any(|(l, _)| !l.is_empty()) {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|e| Error::plot(format!("line chart {title:?}"), e))?;
        }
        root.present()
            .map_err(|e| Error::plot(format!("line chart {title:?}"), e))?;
    }
    RgbImage::from_raw(width, height, buf)
        .ok_or_else(|| Error::Figure("line chart buffer has the wrong size".into()))
}
