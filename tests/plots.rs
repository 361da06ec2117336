//! Figures: pixel checks on rendered maps, pies, colour bars and layouts.

use cem::map::{CausalEffectMap, MapInfo};
use cem::plot::{self, Figure, MapStyle, Shares};
use cem::prelude::*;
use image::Rgb;
use std::process::Command;

const INF: f64 = f64::INFINITY;

/// A 4x4 map, block 8 (32x32 output): ROI at (0,0), +1 dB at (0,2), -1 dB at (1,1),
/// +0.3 at (2,3), the rest 0.
fn small_map(model: &str, task: &str) -> CausalEffectMap {
    let mut e = vec![0.0; 16];
    e[0] = INF;
    e[2] = 1.0;
    e[5] = -1.0;
    e[11] = 0.3;
    let mut info = MapInfo::new(model, task, "img.png", Roi::new(0, 0, 8), 8);
    info.original_psnr = 27.5;
    CausalEffectMap::from_effects(4, 4, &e, info).unwrap()
}

fn red_dominant(p: Rgb<u8>) -> bool {
    p[0] as i32 > p[2] as i32 + 50 && p[0] as i32 > p[1] as i32 + 50
}

fn blue_dominant(p: Rgb<u8>) -> bool {
    p[2] as i32 > p[0] as i32 + 50 && p[2] as i32 > p[1] as i32 + 50
}

fn near_white(p: Rgb<u8>) -> bool {
    p.0.iter().all(|&c| c >= 240)
}

#[test]
fn map_cells_take_their_colours() {
    let map = small_map("m", "dn");
    let bare = MapStyle {
        input_alpha: 0.0,
        ..MapStyle::default()
    };
    let img = plot::map_image(&map, None, &bare).unwrap();
    assert_eq!(img.dimensions(), (32, 32));
    assert_eq!(
        *img.get_pixel(4, 4),
        plot::ROI_GREEN,
        "ROI cell is pure green"
    );
    assert_eq!(*img.get_pixel(0, 0), Rgb([0, 110, 0]), "ROI is outlined");
    assert!(
        red_dominant(*img.get_pixel(20, 4)),
        "{:?}",
        img.get_pixel(20, 4)
    );
    assert!(
        blue_dominant(*img.get_pixel(12, 12)),
        "{:?}",
        img.get_pixel(12, 12)
    );
    assert!(
        near_white(*img.get_pixel(28, 28)),
        "{:?}",
        img.get_pixel(28, 28)
    );
    // +0.3 dB under DN's 1 dB bound is a lighter red than +1 dB
    let (weak, strong) = (*img.get_pixel(28, 20), *img.get_pixel(20, 4));
    assert!(
        weak[0] == 255 && weak[1] > strong[1],
        "{weak:?} vs {strong:?}"
    );

    // blended over an input: 10 % of a black input darkens white to 230
    let black = RgbImage::new(32, 32);
    let img = plot::map_image(&map, Some(&black), &MapStyle::default()).unwrap();
    assert_eq!(*img.get_pixel(28, 28), Rgb([230, 230, 230]));
    assert_eq!(
        *img.get_pixel(4, 4),
        plot::ROI_GREEN,
        "the ROI is not blended"
    );
    // an SR input (8x8 for a 32x32 output) is upscaled first
    let small = RgbImage::from_pixel(8, 8, Rgb([255, 255, 255]));
    let img = plot::map_image(&map, Some(&small), &MapStyle::default()).unwrap();
    assert_eq!(*img.get_pixel(28, 28), Rgb([255, 255, 255]));

    let bad = MapStyle {
        bound: Some(0.0),
        ..MapStyle::default()
    };
    let err = plot::map_image(&map, None, &bad).unwrap_err().to_string();
    assert!(err.contains("bound"), "{err}");
}

#[test]
fn pie_slices_and_colour_bar_ends() {
    let mut fig = Figure::new(200, 200);
    let shares = Shares {
        positive: 50.0,
        negative: 25.0,
        none: 25.0,
    };
    plot::pie(&mut fig, 100, 100, 80, shares, 12.0);
    plot::colorbar(
        &mut fig,
        20,
        185,
        160,
        8,
        (-1.0, 2.0),
        (-1.0, 2.0),
        2.5,
        10.0,
    );
    let img = fig.to_image().unwrap();
    let at = |deg: f64, r: f64| {
        let a = deg.to_radians();
        *img.get_pixel((100.0 + r * a.sin()) as u32, (100.0 - r * a.cos()) as u32)
    };
    // clockwise from 12 o'clock: positive 0-180, negative 180-270, none 270-360
    assert_eq!(at(30.0, 72.0), plot::POSITIVE_RED);
    assert_eq!(at(200.0, 72.0), plot::NEGATIVE_BLUE);
    assert_eq!(at(290.0, 72.0), plot::NONE_GREY);
    assert!(near_white(*img.get_pixel(2, 2)));
    // the bar runs from the colour of -1 dB to that of +2 dB
    assert!(
        blue_dominant(*img.get_pixel(22, 189)),
        "{:?}",
        img.get_pixel(22, 189)
    );
    assert!(
        red_dominant(*img.get_pixel(177, 189)),
        "{:?}",
        img.get_pixel(177, 189)
    );
    // the percentage labels were rendered (white text on red)
    let label_px = (94..106)
        .flat_map(|y| (130..170).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y)[1] > 150)
        .count();
    assert!(label_px > 5, "no label pixels on the red slice");
}

#[test]
fn panel_shows_input_output_map_and_titled_text() {
    let map = small_map("tiny-net", "dn");
    let input = RgbImage::from_pixel(32, 32, Rgb([100, 100, 100]));
    let view = MapRun::new(map)
        .with_input(input.clone())
        .with_output(input);
    let fig = plot::panel(&view, &MapStyle::default()).unwrap();
    let img = fig.to_image().unwrap();
    assert_eq!(img.dimensions(), (fig.width, fig.height));
    // three 256 tiles + the pie column
    assert_eq!(fig.width, 16 * 2 + 3 * (256 + 16) + 200);
    // the map tile is the third: its ROI cell (upscaled 8x) is green
    let (mx, my) = (16 + 2 * (256 + 16), 16 + 40);
    assert_eq!(*img.get_pixel(mx + 32, my + 32), plot::ROI_GREEN);
    assert!(blue_dominant(*img.get_pixel(mx + 96, my + 96)));
    // the title band holds rendered text (dark pixels)
    let dark = (0..fig.width)
        .flat_map(|x| (16..50).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 100))
        .count();
    assert!(dark > 100, "title text missing: {dark} dark pixels");
    // the same figure as SVG
    let svg = fig.to_svg().unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<text") && svg.contains("tiny-net"));
    assert!(
        svg.contains("data:png;base64") || svg.contains("<image"),
        "bitmaps are embedded"
    );
}

#[test]
fn layouts_compose_and_check_their_arguments() {
    let views: Vec<MapRun> = ["A", "B"]
        .iter()
        .flat_map(|m| ["sr", "dn", "dr"].map(|t| MapRun::new(small_map(m, t))))
        .collect();
    let style = MapStyle::default();
    let grid = plot::grid_by_model_and_task(&views, &style).unwrap();
    let img = grid.to_image().unwrap();
    // 2 model rows x 3 task columns of 200 px tiles
    assert_eq!(grid.width as i32, 16 + 130 + 3 * 216 + 16 - 16);
    assert_eq!(
        *img.get_pixel(16 + 130 + 216 + 10, 16 + 36 + 10),
        plot::ROI_GREEN
    );

    let cmp = plot::compare(&views[..3], None, &style).unwrap();
    assert_eq!(cmp.width, 16 * 2 + 3 * 272 - 16);
    let err = plot::compare(&views[..3], Some(&["x".to_string()]), &style).unwrap_err();
    assert!(err.to_string().contains("comparison titles"), "{err}");
    let err = plot::grid(&[vec![Some(&views[0])]], &[], &["c".into()], &style).unwrap_err();
    assert!(err.to_string().contains("grid titles"), "{err}");
    assert!(plot::compare(&[], None, &style).is_err());

    let dir = tempfile::tempdir().unwrap();
    for (i, v) in views.iter().enumerate() {
        cem::map::save(&v.map, dir.path().join(format!("m{i}"))).unwrap();
    }
    let rows = MapSet::load(&[dir.path()]).unwrap().table1_rows().unwrap();
    let years = [("A".to_string(), 2018)].into_iter().collect();
    let stats = plot::PieStats::from_table1(&rows, &years);
    assert_eq!(stats.len(), 6);
    assert_eq!(stats[0].year, Some(2018));
    let pies = plot::pies(&stats, &style).unwrap();
    pies.to_png().unwrap();
}

#[test]
fn cem_plot_writes_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    for (i, t) in ["sr", "dn"].iter().enumerate() {
        cem::map::save(&small_map("net", t), dir.path().join(format!("m{i}"))).unwrap();
    }
    for (layout, file) in [
        ("panel", "p.png"),
        ("grid", "g.svg"),
        ("compare", "c.png"),
        ("pies", "pies.png"),
    ] {
        let out = dir.path().join(file);
        let run = Command::new(env!("CARGO_BIN_EXE_cem"))
            .arg("plot")
            .arg(dir.path())
            .args(["--layout", layout, "--years", "net=2020", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{layout}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let bytes = std::fs::read(&out).unwrap();
        if file.ends_with(".png") {
            let img = image::load_from_memory(&bytes).unwrap();
            assert!(img.width() > 200 && img.height() > 200, "{layout}");
        } else {
            assert!(String::from_utf8_lossy(&bytes).starts_with("<svg"));
        }
    }
    let run = Command::new(env!("CARGO_BIN_EXE_cem"))
        .arg("plot")
        .arg(dir.path())
        .args(["--out"])
        .arg(dir.path().join("x.gif"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains(".png or .svg"));
}

#[test]
fn small_neighbouring_slices_get_labels_that_do_not_overlap() {
    // two small slices side by side at 12 o'clock (Fig. 10's DR pies): both labels
    // outside on the right, one line apart, reading away from the pie
    let mut fig = Figure::new(200, 200);
    let shares = Shares {
        positive: 3.1,
        negative: 2.1,
        none: 94.8,
    };
    let font = 11.0;
    plot::pie(&mut fig, 100, 100, 56, shares, font);
    let labels: Vec<(String, i32, i32, plot::Align)> = fig
        .ops
        .iter()
        .filter_map(|op| match op {
            plot::Op::Text {
                text, x, y, align, ..
            } => Some((text.clone(), *x, *y, *align)),
            _ => None,
        })
        .collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    let (a, b) = (&labels[0], &labels[1]);
    assert_eq!((a.0.as_str(), b.0.as_str()), ("3.1%", "2.1%"));
    assert!((a.2 - b.2).abs() as f64 >= font, "{labels:?}");
    assert!(
        a.3 == plot::Align::Left && b.3 == plot::Align::Left,
        "{labels:?}"
    );
    // each clear of the pie's rim at its height
    for l in [a, b] {
        let dy = (l.2 - 100) as f64;
        let rim = (56.0f64 * 56.0 - dy * dy).max(0.0).sqrt();
        assert!((l.1 - 100) as f64 > rim, "{l:?}");
    }
    // the big slice's label stays inside
    assert_eq!(labels[2].3, plot::Align::Center);
}

#[test]
fn the_labels_of_a_short_colour_bar_stand_apart() {
    // a narrow range on a wide shared scale: -0.05 at x = 42 and 0.02 at x = 45
    let mut fig = Figure::new(200, 60);
    plot::colorbar(
        &mut fig,
        20,
        10,
        160,
        8,
        (-0.05, 0.02),
        (-0.7, 4.0),
        2.5,
        12.0,
    );
    let img = fig.to_image().unwrap();
    let dark = |x: u32| (20..45).any(|y| img.get_pixel(x, y)[0] < 160);
    // both labels were drawn, one on each side of the ends' positions
    assert!((20..42).any(dark) && (46..90).any(dark));
    // and a clear gap of several pixels lies between them
    let blank: Vec<u32> = (30..60).filter(|&x| !dark(x)).collect();
    assert!(
        (38..=49).all(|x| blank.contains(&x)),
        "label pixels between the two labels: blank columns {blank:?}"
    );
}
