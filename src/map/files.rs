//! A map's files, written atomically: `cem.csv` (one row per cell), `cem.json` (the
//! record and a summary) and `cem.npy` (the effect grid for NumPy).
//!
//! Format versions of `cem.json`: 2 (this version) keeps the locality record, the
//! traces and the model's name as typed fields; 1 kept them under `extra`
//! (`extra.locality` was `"off"` or the record). Both are read.

use super::{CausalEffectMap, Cell, CellKind, MapInfo, Stage};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of the per-cell table.
pub const CSV_NAME: &str = "cem.csv";
/// File name of the metadata.
pub const JSON_NAME: &str = "cem.json";
/// File name of the effect grid as a NumPy array (`rows x cols` float64, `inf` for
/// ROI cells), for `numpy.load`.
pub const NPY_NAME: &str = "cem.npy";
/// File name of the model input saved beside a map (`cem map`, `cem demo`).
pub const INPUT_NAME: &str = "input.png";
/// File name of the model output saved beside a map (u8, as the ROI PSNR measures it).
pub const OUTPUT_NAME: &str = "output.png";
/// File name of the ground truth saved beside a map.
pub const HR_NAME: &str = "hr.png";
const CSV_HEADER: &str = "row,col,effect_db,samples,std_err,kind";
/// The result files' format version this crate writes.
pub(crate) const FORMAT: u32 = 2;
/// The oldest format version this crate reads.
const OLDEST_FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct JsonFile {
    #[serde(flatten)]
    info: MapInfo,
    rows: u32,
    cols: u32,
    summary: Summary,
    /// Per cell, row-major: the stage its effect came from.
    cell_stages: Vec<Stage>,
}

#[derive(Serialize, Deserialize)]
struct Summary {
    positive_pct: f64,
    negative_pct: f64,
    none_pct: f64,
    positive: usize,
    negative: usize,
    none: usize,
    roi_cells: usize,
    cells: usize,
    #[serde(deserialize_with = "f64_or_nan")]
    min_effect_db: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    max_effect_db: f64,
    inferences: usize,
    seconds: f64,
}

/// Reads a number that JSON may hold as `null` (serde_json writes NaN and infinities
/// so) as NaN.
pub(crate) fn f64_or_nan<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// What can be wrong with a stored cell: effects are finite, or `+inf` for an ROI cell
/// (never NaN or `-inf`); the standard error is finite and >= 0; the kind is the
/// effect's.
fn check_cell(c: &Cell) -> std::result::Result<(), String> {
    if c.effect_db.is_nan() || c.effect_db == f64::NEG_INFINITY {
        return Err(format!("effect_db {} is not a valid effect", c.effect_db));
    }
    if (c.effect_db == f64::INFINITY) != (c.kind == CellKind::Roi) {
        return Err(format!(
            "effect_db {} with kind {} (only ROI cells have +inf)",
            c.effect_db,
            c.kind.as_str()
        ));
    }
    if CellKind::of(c.effect_db) != c.kind {
        return Err(format!(
            "kind {} does not match effect_db {}",
            c.kind.as_str(),
            c.effect_db
        ));
    }
    if !(c.std_err.is_finite() && c.std_err >= 0.0) {
        return Err(format!(
            "std_err {} must be a finite number >= 0",
            c.std_err
        ));
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never
/// sees half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    // a second Ctrl-C waits for this lock before exiting (see engine::signals)
    let _writing = crate::engine::signals::write_guard();
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Saves `map` as `dir/cem.csv`, `dir/cem.json` and `dir/cem.npy` (creating `dir`).
/// A whole result with its images: [`super::MapRun::save`].
pub fn save(map: &CausalEffectMap, dir: impl AsRef<Path>) -> Result<()> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut csv = String::with_capacity(map.cells.len() * 40);
    csv.push_str(CSV_HEADER);
    csv.push('\n');
    for c in &map.cells {
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            c.row,
            c.col,
            c.effect_db,
            c.samples,
            c.std_err,
            c.kind.as_str()
        ));
    }
    let counts = map.counts();
    let (lo, hi) = map.range();
    let json = JsonFile {
        info: map.info.clone(),
        rows: map.rows,
        cols: map.cols,
        summary: Summary {
            positive_pct: counts.positive_pct(),
            negative_pct: counts.negative_pct(),
            none_pct: counts.none_pct(),
            positive: counts.positive,
            negative: counts.negative,
            none: counts.none,
            roi_cells: counts.roi,
            cells: counts.total,
            min_effect_db: lo,
            max_effect_db: hi,
            inferences: map.inferences(),
            seconds: map.seconds(),
        },
        cell_stages: map.cells.iter().map(|c| c.stage).collect(),
    };
    let npy_path = dir.join(NPY_NAME);
    let mut npy = Vec::new();
    ndarray_npy::WriteNpyExt::write_npy(&map.effects(), &mut npy).map_err(|e| {
        Error::ResultFile {
            path: npy_path.clone(),
            reason: format!("cannot encode the effect grid: {e}"),
        }
    })?;
    write_atomic(&dir.join(CSV_NAME), csv.as_bytes())?;
    write_atomic(&npy_path, &npy)?;
    write_atomic(&dir.join(JSON_NAME), &serde_json::to_vec_pretty(&json)?)
}

/// `cem.json` of format 1 as format 2: `extra.locality` (`"off"` or the record),
/// `extra.traces` and `extra.model_spec` become fields.
fn upgrade_v1(json: &mut serde_json::Value) {
    let Some(obj) = json.as_object_mut() else {
        return;
    };
    let extra = obj.remove("extra").unwrap_or_default();
    let locality = match extra.get("locality") {
        Some(l) if l.is_object() => l.clone(),
        _ => serde_json::Value::Null,
    };
    obj.insert("locality".into(), locality);
    for key in ["traces", "model_spec"] {
        if let Some(v) = extra.get(key) {
            obj.insert(key.into(), v.clone());
        }
    }
    obj.insert("format".into(), FORMAT.into());
}

/// Loads a map saved by [`save`] from `dir` (or from the path of its `cem.csv`/`cem.json`).
pub fn load(path: impl AsRef<Path>) -> Result<CausalEffectMap> {
    let path = path.as_ref();
    if !path.exists() {
        return Err(Error::invalid(
            "map folder",
            path.display(),
            "no such folder or file (expected a folder written by cem map, or its cem.json)",
        ));
    }
    let dir = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    let json_path = dir.join(JSON_NAME);
    let csv_path = dir.join(CSV_NAME);
    let bad = |p: &Path, reason: String| Error::ResultFile {
        path: p.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(&json_path).map_err(|e| Error::io(&json_path, e))?;
    let mut value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(&json_path, e.to_string()))?;
    let format = value.get("format").and_then(|f| f.as_u64());
    match format {
        Some(f) if f == FORMAT as u64 => {}
        Some(f) if f == OLDEST_FORMAT as u64 => upgrade_v1(&mut value),
        _ => {
            return Err(bad(
                &json_path,
                format!(
                    "unknown \"format\" version {} (this cem {} reads versions {OLDEST_FORMAT} to {FORMAT})",
                    value.get("format").unwrap_or(&serde_json::Value::Null),
                    env!("CARGO_PKG_VERSION")
                ),
            ))
        }
    }
    let json: JsonFile =
        serde_json::from_value(value).map_err(|e| bad(&json_path, e.to_string()))?;
    let csv = std::fs::read_to_string(&csv_path).map_err(|e| Error::io(&csv_path, e))?;
    let mut lines = csv.lines();
    if lines.next().map(str::trim) != Some(CSV_HEADER) {
        return Err(bad(&csv_path, format!("first line must be '{CSV_HEADER}'")));
    }
    let n = (json.rows * json.cols) as usize;
    if json.cell_stages.len() != n {
        return Err(bad(
            &json_path,
            format!("{} cell stages for {n} cells", json.cell_stages.len()),
        ));
    }
    let mut cells = Vec::with_capacity(n);
    for (i, line) in lines.filter(|l| !l.trim().is_empty()).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let err = |what: &str| bad(&csv_path, format!("line {}: {what}: '{line}'", i + 2));
        if f.len() != 6 {
            return Err(err("expected 6 fields"));
        }
        let num = |s: &str| s.parse::<f64>().map_err(|_| err("not a number"));
        let cell = Cell {
            row: f[0].parse().map_err(|_| err("bad row"))?,
            col: f[1].parse().map_err(|_| err("bad col"))?,
            effect_db: num(f[2])?,
            samples: f[3].parse().map_err(|_| err("bad samples"))?,
            std_err: num(f[4])?,
            kind: CellKind::parse(f[5])
                .ok_or_else(|| err("kind must be roi, positive, negative or none"))?,
            stage: *json
                .cell_stages
                .get(i)
                .ok_or_else(|| err("more rows than cells"))?,
        };
        if cell.row * json.cols + cell.col != i as u32 {
            return Err(err("cells must be row-major"));
        }
        check_cell(&cell).map_err(|what| err(&what))?;
        cells.push(cell);
    }
    if cells.len() != n {
        return Err(bad(
            &csv_path,
            format!(
                "{} rows for a {}x{} grid",
                cells.len(),
                json.rows,
                json.cols
            ),
        ));
    }
    Ok(CausalEffectMap {
        rows: json.rows,
        cols: json.cols,
        cells,
        info: json.info,
    })
}
