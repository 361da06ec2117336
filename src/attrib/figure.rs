//! The paper's Fig. 7 layout: one row per model, LAM blended over the input with its
//! diffusion index, the causal effect map, its pie and colour bar.

use super::files::{StoredLam, LAM_JSON};
use crate::error::{Error, Result};
use crate::map::MapRun;
use crate::plot::{
    colorbar, fit, map_image, pie, with_roi_box, Align, Figure, MapStyle, Op, Shares,
};
use std::path::{Path, PathBuf};

/// Folders under `paths` (searched recursively) that hold a `lam.json`.
pub fn find_lams(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        if dir.join(LAM_JSON).is_file() {
            out.push(dir.to_path_buf());
        }
        let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subs.sort();
        for s in subs {
            walk(&s, out)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.file_name().is_some_and(|f| f == LAM_JSON) {
            out.push(p.parent().unwrap_or(Path::new(".")).to_path_buf());
        }
    }
    out.dedup();
    Ok(out)
}

/// Pairs each stored LAM with the stored map of the same model and ROI (and image,
/// when both name one).
pub fn pair_lams_with_maps(
    lams: Vec<StoredLam>,
    maps: Vec<MapRun>,
) -> Result<Vec<(StoredLam, MapRun)>> {
    let mut pairs = Vec::new();
    for lam in lams {
        let found = maps.iter().find(|v| {
            let i = &v.map.info;
            i.model == lam.info.model
                && i.roi == lam.info.roi
                && (lam.info.image.is_empty() || i.image.is_empty() || i.image == lam.info.image)
        });
        match found {
            Some(v) => pairs.push((lam, v.clone())),
            None => {
                return Err(Error::invalid(
                    "LAM result",
                    lam.dir.display(),
                    format!(
                        "no stored map of model '{}' with ROI {} among the given folders",
                        lam.info.model, lam.info.roi
                    ),
                ))
            }
        }
    }
    if pairs.is_empty() {
        return Err(Error::invalid(
            "lam-vs-cem",
            "no LAM results",
            "give folders with lam.json and cem.json",
        ));
    }
    Ok(pairs)
}

/// Fig. 7: one row per model: LAM blended over the input (DI in the caption), the
/// causal effect map, its pie and colour bar.
pub fn lam_vs_cem(rows: &[(StoredLam, MapRun)], style: &MapStyle) -> Result<Figure> {
    let tile = 240u32;
    let (margin, gap, side_w, title_h, row_h) = (16i32, 16i32, 200i32, 28i32, tile as i32 + 56);
    let width = margin * 2 + 2 * (tile as i32 + gap) + side_w;
    let height = margin * 2 + title_h + rows.len() as i32 * row_h;
    let mut fig = Figure::new(width as u32, height as u32);
    fig.title(width / 2, margin + 8, "LAM vs CEM", 18.0);
    let mut top = margin + title_h;
    for (lam, view) in rows {
        let m = &view.map;
        fig.text(
            margin,
            top + 8,
            format!("{} · {} · ROI {}", m.info.model, m.info.image, m.info.roi),
            14.0,
            Align::Left,
        );
        let y = top + 20;
        let blended = with_roi_box(&lam.blended()?, lam.info.roi, 1);
        fig.push(Op::Image {
            x: margin,
            y,
            image: fit(&blended, tile),
        });
        fig.text(
            margin + tile as i32 / 2,
            y + tile as i32 + 14,
            format!("LAM · DI {:.2}", lam.info.diffusion_index),
            13.0,
            Align::Center,
        );
        let x2 = margin + tile as i32 + gap;
        fig.push(Op::Image {
            x: x2,
            y,
            image: fit(&map_image(m, view.input.as_ref(), style)?, tile),
        });
        fig.text(
            x2 + tile as i32 / 2,
            y + tile as i32 + 14,
            "CEM",
            13.0,
            Align::Center,
        );
        let x3 = x2 + tile as i32 + gap;
        let cx = x3 + side_w / 2;
        pie(&mut fig, cx, y + 80, 64, Shares::of(m), 12.0);
        let (lo, hi) = m.range();
        let range = if lo.is_finite() && hi.is_finite() {
            (lo, hi)
        } else {
            (0.0, 0.0)
        };
        colorbar(
            &mut fig,
            x3 + 20,
            y + 172,
            side_w as u32 - 40,
            14,
            range,
            range,
            style.bound_for(m),
            12.0,
        );
        fig.text(cx, y + 216, "effect (dB)", 12.0, Align::Center);
        top += row_h;
    }
    Ok(fig)
}
