//! The intervention library seen through its gradient `G` (Sec. VI-C, Fig. 17): example
//! patches per range of `G`, the histogram of `G`, and how often `D` and `U` sampling
//! ([`Sampling::Density`], [`Sampling::Ranges`]) draw from each range.
//!
//! ```
//! use cem::library::Library;
//! # fn main() -> cem::Result<()> {
//! let lib = Library::from_images(
//!     &[("coffee".into(), cem::library::builtin_photo("coffee.png")?)], 300, 8, 0)?;
//! let counts = cem::plot::range_counts(&lib, 128, 2_000, 0)?;
//! assert_eq!(counts.iter().map(|r| r.patches).sum::<usize>(), 300);
//! assert_eq!(counts.iter().map(|r| r.u_draws).sum::<usize>(), 2_000);
//! let fig = cem::plot::library_patches(&lib, 128, 4, 6, 0)?;  // Fig. 17
//! assert!(fig.width > 0);
//! # Ok(()) }
//! ```

use super::figure::{Align, Figure, Op};
use crate::error::{Error, Result};
use crate::library::{Library, Sampling};
use ::image::{imageops, RgbImage};
use plotters::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// One range of `G` and what falls in it: the library's patches, and how many of a
/// number of draws `D` and `U` sampling put in it.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeCount {
    /// Lower edge of the range (inclusive), in units of `G`.
    pub from: f64,
    /// Upper edge (exclusive).
    pub to: f64,
    /// The library's patches with `G` in the range.
    pub patches: usize,
    /// Draws with [`Sampling::Density`] (`D`) that fell in the range.
    pub d_draws: usize,
    /// Draws with [`Sampling::Ranges`] (`U`, ranges of the same width) that fell in it.
    pub u_draws: usize,
}

fn check_width(width: u32) -> Result<()> {
    if width == 0 {
        return Err(Error::invalid(
            "gradient range width",
            width,
            "must be a positive number of G units (Fig. 17 uses 128)",
        ));
    }
    Ok(())
}

fn range_of(g: f64, width: u32) -> usize {
    (g.max(0.0) / width as f64) as usize // NaN -> 0, like the library's own bins
}

/// The library's patches per range of `G` of `width` (the last range is the one
/// holding the largest `G`), and where `draws` draws of `D` and of `U` (ranges of the
/// same width) fall, each draw seeded from `seed`. Fails for a width or a draw count
/// of 0.
pub fn range_counts(
    library: &Library,
    width: u32,
    draws: usize,
    seed: u64,
) -> Result<Vec<RangeCount>> {
    check_width(width)?;
    if draws == 0 {
        return Err(Error::invalid(
            "draws",
            draws,
            "must be positive: the D and U counts are over that many draws",
        ));
    }
    let g: Vec<f64> = library.patches().iter().map(|p| p.gradient).collect();
    let n = g.iter().map(|&v| range_of(v, width) + 1).max().unwrap_or(1);
    let mut counts: Vec<RangeCount> = (0..n)
        .map(|k| RangeCount {
            from: (k as u64 * width as u64) as f64,
            to: ((k as u64 + 1) * width as u64) as f64,
            patches: 0,
            d_draws: 0,
            u_draws: 0,
        })
        .collect();
    for &v in &g {
        counts[range_of(v, width)].patches += 1;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let u = Sampling::ranges(width)?;
    for _ in 0..draws {
        counts[range_of(g[library.sample(Sampling::Density, &mut rng)], width)].d_draws += 1;
        counts[range_of(g[library.sample(u, &mut rng)], width)].u_draws += 1;
    }
    Ok(counts)
}

const TILE: u32 = 56;
const GAP: i32 = 10;

/// **Fig. 17**: up to `per_range` patches of each of the first `ranges` ranges of `G`
/// of `width` (Fig. 17: four ranges of 128), picked at random (seeded) among the
/// library's patches in that range, enlarged without smoothing, each with its `G`
/// above it; one row per range, titled with its bounds and share of the library. An
/// empty range says so. Fails for a width, range count or `per_range` of 0.
pub fn library_patches(
    library: &Library,
    width: u32,
    ranges: usize,
    per_range: usize,
    seed: u64,
) -> Result<Figure> {
    check_width(width)?;
    if ranges == 0 || per_range == 0 {
        return Err(Error::invalid(
            "library figure",
            format!("ranges={ranges} per_range={per_range}"),
            "both must be positive",
        ));
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); ranges];
    for (i, p) in library.patches().iter().enumerate() {
        let k = range_of(p.gradient, width);
        if k < ranges {
            members[k].push(i);
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let label_w = 190;
    let row_h = TILE as i32 + 44;
    let w = label_w + per_range as i32 * (TILE as i32 + GAP) + GAP;
    let h = 16 + ranges as i32 * row_h;
    let mut fig = Figure::new(w as u32, h as u32);
    let total = library.len().max(1) as f64;
    for (k, m) in members.iter_mut().enumerate() {
        m.shuffle(&mut rng);
        let y = 12 + k as i32 * row_h;
        let (lo, hi) = (k as u64 * width as u64, (k as u64 + 1) * width as u64);
        let letter = (b'a' + (k % 26) as u8) as char;
        fig.push(Op::Text {
            x: 8,
            y: y + 20,
            text: format!("({letter}) G {lo}-{hi}"),
            size: 15.0,
            color: image::Rgb([0, 0, 0]),
            align: Align::Left,
            bold: true,
        });
        fig.text(
            8,
            y + 42,
            format!(
                "{} patches, {:.1} %",
                m.len(),
                100.0 * m.len() as f64 / total
            ),
            12.0,
            Align::Left,
        );
        if m.is_empty() {
            fig.text(
                label_w,
                y + 20 + TILE as i32 / 2,
                "(no patch in this range)",
                13.0,
                Align::Left,
            );
            continue;
        }
        let mut picked: Vec<usize> = m.iter().take(per_range).copied().collect();
        picked.sort_by(|a, b| {
            library.patches()[*a]
                .gradient
                .total_cmp(&library.patches()[*b].gradient)
        });
        for (j, &i) in picked.iter().enumerate() {
            let p = &library.patches()[i];
            let x = label_w + j as i32 * (TILE as i32 + GAP);
            fig.text(
                x + TILE as i32 / 2,
                y + 8,
                format!("{:.0}", p.gradient),
                12.0,
                Align::Center,
            );
            let big: RgbImage =
                imageops::resize(&p.pixels, TILE, TILE, imageops::FilterType::Nearest);
            fig.push(Op::Image {
                x,
                y: y + 18,
                image: big,
            });
        }
    }
    Ok(fig)
}

/// **The histogram of `G`** over the library (bins of `bin_width`, the share of
/// patches per bin, range edges of `width` dashed) beside the share of draws per range
/// under `D` and `U` from [`range_counts`] (`draws` each, seeded). Fails for a bin
/// width that is not a positive number, or as [`range_counts`] does.
pub fn gradient_histogram(
    library: &Library,
    bin_width: f64,
    width: u32,
    draws: usize,
    seed: u64,
) -> Result<Figure> {
    if !(bin_width.is_finite() && bin_width > 0.0) {
        return Err(Error::invalid(
            "histogram bin width",
            bin_width,
            "must be a positive number of G units",
        ));
    }
    let counts = range_counts(library, width, draws, seed)?;
    crate::plot::register_fonts();
    let g: Vec<f64> = library.patches().iter().map(|p| p.gradient).collect();
    let bins = g
        .iter()
        .map(|&v| (v.max(0.0) / bin_width) as usize + 1)
        .max()
        .unwrap_or(1);
    let mut hist = vec![0usize; bins];
    for &v in &g {
        hist[(v.max(0.0) / bin_width) as usize] += 1;
    }
    let n = g.len().max(1) as f64;
    let x_max = (bins as f64 * bin_width).max(counts.len() as f64 * width as f64);
    let y_max = hist.iter().copied().max().unwrap_or(1) as f64 / n * 100.0 * 1.1;
    let (pw, ph) = (560u32, 340u32);
    let mut left = vec![255u8; (pw * ph * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut left, (pw, ph)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| Error::plot("the G histogram", e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("G over the library ({} patches)", g.len()),
                ("sans-serif", 17),
            )
            .margin(10)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max.max(1e-6))
            .map_err(|e| Error::plot("the G histogram", e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("G (Eq. 5)")
            .y_desc("patches per bin (%)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| Error::plot("the G histogram", e))?;
        let bar = RGBColor(110, 110, 110);
        chart
            .draw_series(hist.iter().enumerate().map(|(b, &c)| {
                let x0 = b as f64 * bin_width;
                Rectangle::new(
                    [(x0, 0.0), (x0 + bin_width, c as f64 / n * 100.0)],
                    bar.filled(),
                )
            }))
            .map_err(|e| Error::plot("the G histogram", e))?;
        for k in 1..counts.len() {
            let x = k as f64 * width as f64;
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x, 0.0), (x, y_max)],
                    5,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(|e| Error::plot("the G histogram", e))?;
        }
        root.present()
            .map_err(|e| Error::plot("the G histogram", e))?;
    }
    let mut right = vec![255u8; (pw * ph * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut right, (pw, ph)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| Error::plot("the G histogram", e))?;
        let share = |c: usize| c as f64 / draws as f64 * 100.0;
        let top = counts
            .iter()
            .map(|r| share(r.d_draws).max(share(r.u_draws)))
            .fold(0.0, f64::max)
            * 1.15;
        let k = counts.len();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{draws} draws per sampling, by range of G"),
                ("sans-serif", 17),
            )
            .margin(10)
            .margin_right(20)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..k as f64, 0.0..top.max(1e-6))
            .map_err(|e| Error::plot("the G histogram", e))?;
        let edges: Vec<String> = counts
            .iter()
            .map(|r| format!("{:.0}-{:.0}", r.from, r.to))
            .collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(2 * k + 1)
            .x_label_formatter(&|v| {
                let i = v.floor() as usize;
                if (v - i as f64 - 0.5).abs() < 0.26 && i < edges.len() {
                    edges[i].clone()
                } else {
                    String::new()
                }
            })
            .x_desc("range of G")
            .y_desc("draws (%)")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| Error::plot("the G histogram", e))?;
        let d_color = RGBColor(31, 119, 180);
        let u_color = RGBColor(255, 127, 14);
        chart
            .draw_series(counts.iter().enumerate().map(|(i, r)| {
                let x = i as f64;
                Rectangle::new(
                    [(x + 0.1, 0.0), (x + 0.5, share(r.d_draws))],
                    d_color.filled(),
                )
            }))
            .map_err(|e| Error::plot("the G histogram", e))?
            .label("D (the library's distribution)")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], d_color.filled()));
        chart
            .draw_series(counts.iter().enumerate().map(|(i, r)| {
                let x = i as f64;
                Rectangle::new(
                    [(x + 0.5, 0.0), (x + 0.9, share(r.u_draws))],
                    u_color.filled(),
                )
            }))
            .map_err(|e| Error::plot("the G histogram", e))?
            .label("U (uniform over ranges)")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], u_color.filled()));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| Error::plot("the G histogram", e))?;
        root.present()
            .map_err(|e| Error::plot("the G histogram", e))?;
    }
    let to_image = |buf: Vec<u8>| {
        RgbImage::from_raw(pw, ph, buf)
            .ok_or_else(|| Error::Figure("histogram buffer of the wrong size".into()))
    };
    let mut fig = Figure::new(2 * pw + 10, ph);
    fig.push(Op::Image {
        x: 0,
        y: 0,
        image: to_image(left)?,
    });
    fig.push(Op::Image {
        x: pw as i32 + 10,
        y: 0,
        image: to_image(right)?,
    });
    Ok(fig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Patch;

    /// A library of flat patches with the given gradients (set by hand: `G` is what
    /// the ranges are about, the pixels do not matter here).
    fn library(gradients: &[f64]) -> Library {
        let patches = gradients
            .iter()
            .enumerate()
            .map(|(i, &g)| Patch {
                pixels: RgbImage::from_pixel(8, 8, image::Rgb([i as u8, 0, 0])),
                gradient: g,
                name: format!("p{i}"),
            })
            .collect();
        Library::from_patches(patches, "test").unwrap()
    }

    #[test]
    fn range_counts_split_patches_and_draws_by_range() {
        // 8 patches in 0-128, 1 in 128-256, none in 256-384, 1 in 384-512
        let mut g = vec![5.0; 8];
        g.extend([130.0, 400.0]);
        let lib = library(&g);
        let c = range_counts(&lib, 128, 30_000, 7).unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(
            c.iter().map(|r| r.patches).collect::<Vec<_>>(),
            [8, 1, 0, 1]
        );
        assert_eq!((c[2].from, c[2].to), (256.0, 384.0));
        // D follows the library: 80 % / 10 % / 0 / 10 %
        let d: Vec<f64> = c.iter().map(|r| r.d_draws as f64 / 30_000.0).collect();
        assert!(
            (d[0] - 0.8).abs() < 0.02 && (d[1] - 0.1).abs() < 0.02,
            "{d:?}"
        );
        assert_eq!(c[2].d_draws, 0);
        // U: each non-empty range a third, the empty one never
        for k in [0, 1, 3] {
            let u = c[k].u_draws as f64 / 30_000.0;
            assert!((u - 1.0 / 3.0).abs() < 0.02, "range {k}: {u}");
        }
        assert_eq!(c[2].u_draws, 0);
        // the same seed, the same counts
        assert_eq!(c, range_counts(&lib, 128, 30_000, 7).unwrap());
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let lib = library(&[1.0, 2.0]);
        let e = range_counts(&lib, 0, 10, 0).unwrap_err().to_string();
        assert!(e.contains("gradient range width") && e.contains('0'), "{e}");
        let e = range_counts(&lib, 128, 0, 0).unwrap_err().to_string();
        assert!(e.contains("draws"), "{e}");
        let e = library_patches(&lib, 128, 0, 3, 0).unwrap_err().to_string();
        assert!(e.contains("ranges=0"), "{e}");
        let e = gradient_histogram(&lib, f64::NAN, 128, 10, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bin width") && e.contains("NaN"), "{e}");
    }

    #[test]
    fn fig17_shows_patches_of_each_range_in_gradient_order() {
        let lib = library(&[300.0, 10.0, 20.0, 140.0, 30.0]);
        let fig = library_patches(&lib, 128, 4, 2, 1).unwrap();
        let images: Vec<&RgbImage> = fig
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Image { image, .. } => Some(image),
                _ => None,
            })
            .collect();
        // two of range 0, one each of ranges 1 and 2, none of range 3
        assert_eq!(images.len(), 4);
        assert!(images.iter().all(|i| i.dimensions() == (TILE, TILE)));
        let texts: Vec<&str> = fig
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(texts.contains(&"(a) G 0-128") && texts.contains(&"(d) G 384-512"));
        assert!(texts.contains(&"3 patches, 60.0 %"));
        assert!(texts.contains(&"(no patch in this range)"));
        assert!(texts.contains(&"140") && texts.contains(&"300"));
        let png = gradient_histogram(&lib, 16.0, 128, 500, 0)
            .unwrap()
            .to_image()
            .unwrap();
        assert_eq!(png.dimensions(), (2 * 560 + 10, 340));
    }
}
