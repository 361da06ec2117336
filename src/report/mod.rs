//! `cem report`: one self-contained HTML file over stored maps and studies (the
//! authors' `{task}_{prefix}_Result.html`, richer): Tables I-III sortable by any
//! column, a thumbnail panel per map (input with the ROI, the map, the pie) linking to
//! its detail section (settings, timings, the Table I line, the full panel), and the
//! studies' settings. Images are inline data URIs; the one script (sorting) is inline;
//! nothing is loaded from the network.
//!
//! Sorting: click a column header (again for descending), or open the file with a
//! fragment `#sort=TABLE:COLUMN[:desc]` (e.g. `report.html#sort=table1:1:desc`; tables
//! are `table1`, `table2`, `table3`, `maps`; columns count from 0).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let html = cem::report::Report::load(&["runs/dn"])?.to_html()?;
//! std::fs::write("report.html", html)?;
//! # Ok(()) }
//! ```

mod html;

use crate::error::{Error, Result};
use crate::map::{CausalEffectMap, MapRun};
use crate::plot::{self, MapStyle};
use crate::stats::{MapSet, Table};
use crate::study::{StudyDir, STUDY_YAML};
use ::image::RgbImage;
use std::path::{Path, PathBuf};

pub use html::{data_uri, escape};

/// A study found among the report's paths: its folder, config text and unit counts.
#[derive(Debug, Clone)]
pub struct StudySummary {
    /// The study folder.
    pub dir: PathBuf,
    /// Its `study.yaml`.
    pub config: String,
    /// `(state, count)` for done, running, failed, pending.
    pub counts: Vec<(&'static str, usize)>,
}

/// What a report shows: the maps under its paths and the studies among them.
pub struct Report {
    maps: MapSet,
    studies: Vec<StudySummary>,
    style: MapStyle,
}

impl Report {
    /// Loads every map under `paths` (folders searched recursively, globs) and every
    /// study folder among them.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Report> {
        let maps = MapSet::load(paths)?;
        let mut studies = Vec::new();
        for p in paths {
            let dir = p.as_ref();
            if StudyDir::is_study(dir) {
                let config = std::fs::read_to_string(dir.join(STUDY_YAML))
                    .map_err(|e| Error::io(dir.join(STUDY_YAML), e))?;
                let states = crate::study::unit_states(dir)?;
                let counts = ["done", "running", "failed", "pending"]
                    .into_iter()
                    .map(|n| (n, states.iter().filter(|(_, s)| s.name() == n).count()))
                    .collect();
                studies.push(StudySummary {
                    dir: dir.to_path_buf(),
                    config,
                    counts,
                });
            }
        }
        Ok(Report {
            maps,
            studies,
            style: MapStyle::default(),
        })
    }

    /// The studies among the paths.
    pub fn studies(&self) -> &[StudySummary] {
        &self.studies
    }

    /// Number of maps.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether there is no map.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// The whole page.
    pub fn to_html(&self) -> Result<String> {
        let mut body = String::new();
        body += &format!(
            "<h1>Causal effect maps</h1>\n<p class=\"meta\">{} maps · made by cem {}</p>\n",
            self.maps.len(),
            env!("CARGO_PKG_VERSION")
        );
        body += "<nav><a href=\"#studies\">Studies</a> · <a href=\"#tables\">Tables</a> · <a href=\"#thumbs\">Maps</a> · <a href=\"#details\">Details</a></nav>\n";
        body += "<h2 id=\"studies\">Studies</h2>\n";
        if self.studies.is_empty() {
            body += "<p>No study folder among the paths (maps only).</p>\n";
        }
        for s in &self.studies {
            let counts: Vec<String> = s.counts.iter().map(|(n, c)| format!("{c} {n}")).collect();
            body += &format!(
                "<details open><summary>{} — {}</summary>\n<pre class=\"config\">{}</pre></details>\n",
                escape(&s.dir.display().to_string()),
                escape(&counts.join(", ")),
                escape(&s.config)
            );
        }
        body += "<h2 id=\"tables\">Tables</h2>\n<p class=\"meta\">Click a column header to sort (again for descending).</p>\n";
        let tables: [(&str, Result<Table>); 4] = [
            ("table1", self.maps.table1()),
            ("table2", self.maps.table2()),
            ("table3", self.maps.table3()),
            ("maps", self.maps_table()),
        ];
        for (id, table) in tables {
            match table {
                // the maps' first column (the folder) links to the detail sections,
                // in the order of the thumbnails
                Ok(t) => body += &html::sortable_table(id, &t, id == "maps"),
                Err(e) => {
                    body += &format!(
                        "<p id=\"{id}\" class=\"missing\">{id}: not available here: {}</p>\n",
                        escape(&e.to_string())
                    )
                }
            }
        }
        body += "<h2 id=\"thumbs\">Maps</h2>\n<div class=\"thumbs\">\n";
        let mut details = String::from("<h2 id=\"details\">Details</h2>\n");
        for (i, (dir, _)) in self.maps.maps().enumerate() {
            let run = MapRun::load(dir)?;
            body += &self.thumbnail(i, &run.map, run.input.as_ref())?;
            details += &self.detail(i, dir, &run)?;
        }
        body += "</div>\n";
        body += &details;
        Ok(html::page("CEM report", &body))
    }

    /// One row per map, each linking to its detail section.
    fn maps_table(&self) -> Result<Table> {
        let frame = self.maps.frame()?;
        Table::from_frame(format!("{} maps", self.maps.len()), frame)
    }

    fn thumbnail(
        &self,
        i: usize,
        map: &CausalEffectMap,
        input: Option<&RgbImage>,
    ) -> Result<String> {
        let tile = 120u32;
        let mut fig = plot::Figure::new(3 * tile + 2 * 8, tile);
        let mut x = 0;
        if let Some(input) = input {
            let scale = (map.info.width / input.width().max(1)).max(1);
            fig.push(plot::Op::Image {
                x,
                y: 0,
                image: plot::fit(&plot::with_roi_box(input, map.info.roi, scale), tile),
            });
        }
        x += tile as i32 + 8;
        fig.push(plot::Op::Image {
            x,
            y: 0,
            image: plot::fit(&plot::map_image(map, input, &self.style)?, tile),
        });
        x += tile as i32 + 8;
        plot::pie(
            &mut fig,
            x + tile as i32 / 2,
            tile as i32 / 2,
            tile as i32 / 2 - 18,
            plot::Shares::of(map),
            11.0,
        );
        let png = fig.to_png()?;
        let c = map.counts();
        Ok(format!(
            "<a class=\"thumb\" href=\"#map-{i}\"><img alt=\"map {i}\" src=\"{}\"><span>{}</span><span class=\"meta\">positive {:.1}% · negative {:.1}% · none {:.1}%</span></a>\n",
            data_uri(&png),
            escape(&format!(
                "{} · {} · {} · {} · {}",
                map.info.task.to_uppercase(),
                map.info.model,
                map.info.image,
                map.info.strategy,
                map.info.roi
            )),
            c.positive_pct(),
            c.negative_pct(),
            c.none_pct()
        ))
    }

    fn detail(&self, i: usize, dir: &Path, run: &MapRun) -> Result<String> {
        let map = &run.map;
        let info = &map.info;
        let mut rows: Vec<(String, String)> = vec![
            ("folder".into(), dir.display().to_string()),
            ("model".into(), info.model.clone()),
            ("task".into(), info.task.clone()),
            ("degradation".into(), info.degradation.to_string()),
            ("image".into(), info.image.clone()),
            ("ROI".into(), info.roi.to_string()),
            ("block".into(), info.block.to_string()),
            ("scale".into(), info.scale.to_string()),
            ("strategy".into(), info.strategy.clone()),
            ("settings".into(), info.settings.to_string()),
            (
                "library".into(),
                format!("{} ({} patches)", info.library, info.library_size),
            ),
            ("seed".into(), info.seed.to_string()),
            ("tol".into(), format!("{} dB", info.tol)),
            ("device".into(), info.device.clone()),
            ("batch size".into(), info.batch_size.to_string()),
            (
                "original ROI PSNR".into(),
                format!("{:.4} dB", info.original_psnr),
            ),
        ];
        for (stage, s) in &info.stages {
            rows.push((
                format!("stage {stage}"),
                format!("{} inferences, {:.2} s", s.inferences, s.seconds),
            ));
        }
        rows.push((
            "total".into(),
            format!("{} inferences, {:.2} s", map.inferences(), map.seconds()),
        ));
        let line = map.table1_line();
        let panel = plot::panel(run, &self.style)?.to_png()?;
        let mut out = format!(
            "<section id=\"map-{i}\" class=\"detail\"><h3>{}</h3>\n<p class=\"line\">{}</p>\n<img class=\"panel\" alt=\"panel {i}\" src=\"{}\">\n<table class=\"settings\">",
            escape(&format!("{} · {} · {}", info.model, info.task.to_uppercase(), info.image)),
            escape(&line),
            data_uri(&panel)
        );
        for (k, v) in rows {
            out += &format!("<tr><th>{}</th><td>{}</td></tr>", escape(&k), escape(&v));
        }
        out += "</table>\n<p><a href=\"#thumbs\">back to the maps</a></p></section>\n";
        Ok(out)
    }
}
