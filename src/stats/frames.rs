//! Stored maps as polars frames: one row per map, or one row per cell.

use super::collect::find_maps;
use crate::error::{Error, Result};
use crate::map::{self, CausalEffectMap, CSV_NAME};
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// A set of stored maps, loaded once, from which the frames and tables are built.
///
/// ```no_run
/// # fn main() -> cem::Result<()> {
/// let maps = cem::stats::MapSet::load(&["runs/"])?;
/// println!("{}", maps.frame()?);       // one row per map
/// let table1 = maps.table1()?;        // shows as HTML in a notebook
/// table1.write("table1.md")?;
/// # Ok(()) }
/// ```
pub struct MapSet {
    entries: Vec<(PathBuf, CausalEffectMap)>,
}

impl MapSet {
    /// Loads every map under `patterns` (folders searched recursively, `cem.json`
    /// paths, globs; see [`find_maps`]). A corrupt map fails the load, naming its file.
    pub fn load<P: AsRef<Path>>(patterns: &[P]) -> Result<Self> {
        let entries = find_maps(patterns)?
            .into_iter()
            .map(|dir| map::load(&dir).map(|m| (dir, m)))
            .collect::<Result<Vec<_>>>()?;
        Ok(MapSet { entries })
    }

    /// A set from maps already in memory; `path` identifies each (it need not exist
    /// unless [`MapSet::cells`] is used).
    pub fn from_maps(entries: Vec<(PathBuf, CausalEffectMap)>) -> Self {
        MapSet { entries }
    }

    /// Number of maps.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The maps with the folders they came from.
    pub fn maps(&self) -> impl Iterator<Item = (&Path, &CausalEffectMap)> {
        self.entries.iter().map(|(p, m)| (p.as_path(), m))
    }

    /// One row per map: identifying columns (`path, model, task, image, library,
    /// library_path, strategy, seed, roi_x, roi_y, roi_size, block, scale, device`) and
    /// statistics (`positive_pct, negative_pct, none_pct, min_effect_db,
    /// max_effect_db, original_psnr_db, inferences, seconds, cells`; the effect range
    /// is null for a map without a cell outside its ROI). The statistics
    /// are computed from the cells, as Table I counts them (ROI cells are positive).
    pub fn frame(&self) -> Result<DataFrame> {
        let rows: Vec<Row> = self.entries.iter().map(|(p, m)| Row::of(p, m)).collect();
        let s = |f: fn(&Row) -> String| rows.iter().map(f).collect::<Vec<String>>();
        let u = |f: fn(&Row) -> u64| rows.iter().map(f).collect::<Vec<u64>>();
        let x = |f: fn(&Row) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
        Ok(df!(
            "path" => s(|r| r.path.clone()),
            "model" => s(|r| r.model.clone()),
            "task" => s(|r| r.task.clone()),
            "image" => s(|r| r.image.clone()),
            "library" => s(|r| r.library.clone()),
            "library_path" => s(|r| r.library_path.clone()),
            "strategy" => s(|r| r.strategy.clone()),
            "seed" => u(|r| r.seed),
            "roi_x" => u(|r| r.roi.0),
            "roi_y" => u(|r| r.roi.1),
            "roi_size" => u(|r| r.roi.2),
            "block" => u(|r| r.block),
            "scale" => u(|r| r.scale),
            "device" => s(|r| r.device.clone()),
            "positive_pct" => x(|r| r.positive_pct),
            "negative_pct" => x(|r| r.negative_pct),
            "none_pct" => x(|r| r.none_pct),
            "min_effect_db" => rows.iter().map(|r| r.range.map(|r| r.0)).collect::<Vec<_>>(),
            "max_effect_db" => rows.iter().map(|r| r.range.map(|r| r.1)).collect::<Vec<_>>(),
            "original_psnr_db" => x(|r| r.original_psnr),
            "inferences" => u(|r| r.inferences),
            "seconds" => x(|r| r.seconds),
            "cells" => u(|r| r.cells),
        )?)
    }

    /// One row per cell of every map, scanned lazily from the `cem.csv` files:
    /// `path, model, task, image, library, strategy, seed, row, col, effect_db,
    /// samples, std_err, kind` (`effect_db` is `+inf` for ROI cells).
    ///
    /// ```no_run
    /// # fn main() -> cem::Result<()> {
    /// use polars::prelude::*;
    /// let maps = cem::stats::MapSet::load(&["runs/"])?;
    /// // the most negative cell of every map
    /// let worst = maps.cells()?
    ///     .group_by([col("path")])
    ///     .agg([col("effect_db").min()])
    ///     .collect()?;
    /// # Ok(()) }
    /// ```
    pub fn cells(&self) -> Result<LazyFrame> {
        let schema = Arc::new(Schema::from_iter([
            Field::new("row".into(), DataType::UInt32),
            Field::new("col".into(), DataType::UInt32),
            Field::new("effect_db".into(), DataType::Float64),
            Field::new("samples".into(), DataType::UInt32),
            Field::new("std_err".into(), DataType::Float64),
            Field::new("kind".into(), DataType::String),
        ]));
        let frames = self
            .entries
            .iter()
            .map(|(dir, m)| {
                let csv = dir.join(CSV_NAME);
                if !csv.is_file() {
                    return Err(Error::io(
                        &csv,
                        std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                    ));
                }
                let row = Row::of(dir, m);
                let path = PlRefPath::try_from_path(&csv)?;
                Ok(LazyCsvReader::new(path)
                    .with_has_header(true)
                    .with_schema(Some(schema.clone()))
                    .finish()
                    .map_err(|source| Error::TableFile {
                        op: "read",
                        path: csv.clone(),
                        source,
                    })?
                    .with_columns([
                        lit(row.path).alias("path"),
                        lit(row.model).alias("model"),
                        lit(row.task).alias("task"),
                        lit(row.image).alias("image"),
                        lit(row.library).alias("library"),
                        lit(row.strategy).alias("strategy"),
                        lit(row.seed).alias("seed"),
                    ]))
            })
            .collect::<Result<Vec<_>>>()?;
        let all = concat(frames, UnionArgs::default())?;
        Ok(all.select([
            col("path"),
            col("model"),
            col("task"),
            col("image"),
            col("library"),
            col("strategy"),
            col("seed"),
            col("row"),
            col("col"),
            col("effect_db"),
            col("samples"),
            col("std_err"),
            col("kind"),
        ]))
    }
}

/// One map's identifying values and statistics.
struct Row {
    path: String,
    model: String,
    task: String,
    image: String,
    library: String,
    library_path: String,
    strategy: String,
    seed: u64,
    roi: (u64, u64, u64),
    block: u64,
    scale: u64,
    device: String,
    positive_pct: f64,
    negative_pct: f64,
    none_pct: f64,
    /// `None`: no cell outside the ROI.
    range: Option<(f64, f64)>,
    original_psnr: f64,
    inferences: u64,
    seconds: f64,
    cells: u64,
}

impl Row {
    fn of(path: &Path, m: &CausalEffectMap) -> Row {
        let c = m.counts();
        let info = &m.info;
        Row {
            path: path.display().to_string(),
            model: info.model.clone(),
            task: info.task.clone(),
            image: info.image.clone(),
            library: library_name(&info.library),
            library_path: info.library.clone(),
            strategy: info.strategy.clone(),
            seed: info.seed,
            roi: (info.roi.x as u64, info.roi.y as u64, info.roi.size as u64),
            block: info.block as u64,
            scale: info.scale as u64,
            device: info.device.clone(),
            positive_pct: c.positive_pct(),
            negative_pct: c.negative_pct(),
            none_pct: c.none_pct(),
            range: m.measured_range(),
            original_psnr: info.original_psnr,
            inferences: m.inferences() as u64,
            seconds: m.seconds(),
            cells: c.total as u64,
        }
    }
}

/// A string column as owned strings (`""` for nulls).
pub(crate) fn column_strings(frame: &DataFrame, name: &str) -> Result<Vec<String>> {
    Ok(frame
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect())
}

/// A float column as `f64`s (NaN for nulls).
pub(crate) fn column_floats(frame: &DataFrame, name: &str) -> Result<Vec<f64>> {
    Ok(frame
        .column(name)?
        .f64()?
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

/// A short name for a library source: `builtin` for the embedded one, else the last
/// component of its path (`/data/patches-div2k-8` → `patches-div2k-8`).
pub(crate) fn library_name(source: &str) -> String {
    if source.starts_with("builtin") {
        return "builtin".into();
    }
    Path::new(source.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names() {
        assert_eq!(
            library_name("../shared/data/patches-div2k-8/"),
            "patches-div2k-8"
        );
        assert_eq!(library_name("builtin: 10000 crops"), "builtin");
        assert_eq!(library_name("flickr2k"), "flickr2k");
    }
}
