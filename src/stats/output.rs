//! The output type [`Table`]: numbers in a polars frame, text laid out as the paper
//! prints it, and writers for CSV, Parquet, Markdown, HTML and plain text (the tables'
//! computations are in [`super::compute`]).

use crate::error::{Error, Result};
use polars::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// A group of rows, optionally under a sub-header (Table I's "Super-Resolution (SR)").
#[derive(Clone, Debug)]
pub struct Section {
    /// The sub-header, if any.
    pub title: Option<String>,
    /// The formatted cells, one `Vec` per row.
    pub rows: Vec<Vec<String>>,
}

/// A table built from stored maps.
///
/// [`Table::frame`] holds the unrounded numbers (what CSV and Parquet get); the text
/// forms (Markdown, HTML, plain, TSV) use the paper's formatting. In evcxr a table
/// shows as HTML, with plain text for front ends without HTML.
#[derive(Clone)]
pub struct Table {
    /// What the table shows, e.g. "Table I: ...".
    pub title: String,
    /// Column headers of the text forms.
    pub headers: Vec<String>,
    /// The rows of the text forms, grouped.
    pub sections: Vec<Section>,
    /// Remarks printed under the table (what was averaged, what was left out).
    pub notes: Vec<String>,
    frame: DataFrame,
}

impl Table {
    /// A table from its parts.
    pub fn new(
        title: impl Into<String>,
        headers: Vec<String>,
        sections: Vec<Section>,
        notes: Vec<String>,
        frame: DataFrame,
    ) -> Self {
        Table {
            title: title.into(),
            headers,
            sections,
            notes,
            frame,
        }
    }

    /// Any frame as a table: one text row per frame row, floats with 4 decimals.
    pub fn from_frame(title: impl Into<String>, frame: DataFrame) -> Result<Self> {
        let headers = frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let rows = (0..frame.height())
            .map(|i| {
                frame
                    .columns()
                    .iter()
                    .map(|c| {
                        Ok(match c.get(i)? {
                            AnyValue::Float64(v) => fixed(v, 4),
                            AnyValue::Float32(v) => fixed(v as f64, 4),
                            AnyValue::String(v) => v.to_string(),
                            AnyValue::Null => String::new(),
                            other => other.to_string(),
                        })
                    })
                    .collect::<Result<Vec<String>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Table::new(
            title,
            headers,
            vec![Section { title: None, rows }],
            vec![],
            frame,
        ))
    }

    /// The numbers, unrounded, one row per table row.
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }

    /// The rows as tab-separated lines laid out as in the paper: the header line,
    /// each sub-header on a line of its own, then the rows.
    pub fn to_tsv(&self) -> String {
        let mut out = self.headers.join("\t") + "\n";
        for s in &self.sections {
            if let Some(t) = &s.title {
                out += &format!("{t}\n");
            }
            for r in &s.rows {
                out += &(r.join("\t") + "\n");
            }
        }
        out
    }

    /// GitHub-flavoured Markdown; sub-headers become bold rows.
    pub fn to_markdown(&self) -> String {
        let n = self.headers.len();
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut out = format!("**{}**\n\n", self.title);
        out += &line(&self.headers);
        out += &format!("|{}\n", "---|".repeat(n));
        for s in &self.sections {
            if let Some(t) = &s.title {
                let mut cells = vec![format!("**{t}**")];
                cells.resize(n, String::new());
                out += &line(&cells);
            }
            for r in &s.rows {
                out += &line(r);
            }
        }
        for note in &self.notes {
            out += &format!("\n{note}\n");
        }
        out
    }

    /// An HTML `<table>` with a caption; sub-headers span all columns.
    pub fn to_html(&self) -> String {
        let n = self.headers.len();
        let mut out = String::from("<table style=\"border-collapse:collapse\">\n");
        let _ = writeln!(
            out,
            "<caption style=\"font-weight:bold\">{}</caption>",
            esc(&self.title)
        );
        out += "<thead><tr>";
        for h in &self.headers {
            let _ = write!(out, "<th style=\"padding:2px 8px\">{}</th>", esc(h));
        }
        out += "</tr></thead>\n<tbody>\n";
        for s in &self.sections {
            if let Some(t) = &s.title {
                let _ = writeln!(
                    out,
                    "<tr><td colspan=\"{n}\" style=\"font-weight:bold;text-align:left\">{}</td></tr>",
                    esc(t)
                );
            }
            for r in &s.rows {
                out += "<tr>";
                for (i, c) in r.iter().enumerate() {
                    let align = if i == 0 { "left" } else { "right" };
                    let _ = write!(
                        out,
                        "<td style=\"padding:2px 8px;text-align:{align}\">{}</td>",
                        esc(c)
                    );
                }
                out += "</tr>\n";
            }
        }
        out += "</tbody>\n</table>\n";
        for note in &self.notes {
            let _ = writeln!(out, "<p style=\"font-size:smaller\">{}</p>", esc(note));
        }
        out
    }

    /// Plain text with aligned columns.
    pub fn to_text(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in self.sections.iter().flat_map(|s| &s.rows) {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect();
            parts.join("  ").trim_end().to_string() + "\n"
        };
        let mut out = format!("{}\n", self.title);
        out += &line(&self.headers);
        out += &format!(
            "{}\n",
            "-".repeat(widths.iter().sum::<usize>() + 2 * (n - 1))
        );
        for s in &self.sections {
            if let Some(t) = &s.title {
                out += &format!("{t}\n");
            }
            for r in &s.rows {
                out += &line(r);
            }
        }
        for note in &self.notes {
            out += &format!("{note}\n");
        }
        out
    }

    /// Writes the table; the format follows the extension: `.csv` and `.parquet` get
    /// the numbers ([`Table::frame`]), `.md` Markdown, `.html` HTML, `.tsv` the
    /// paper's layout, `.txt` plain text.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let ext = crate::paths::extension(path);
        crate::paths::create_parent(path)?;
        let text = match ext.as_str() {
            "csv" | "parquet" => {
                let mut file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
                let mut frame = self.frame.clone();
                let written = if ext == "csv" {
                    CsvWriter::new(&mut file).finish(&mut frame)
                } else {
                    ParquetWriter::new(&mut file).finish(&mut frame).map(|_| ())
                };
                return written.map_err(|source| Error::TableFile {
                    op: "write",
                    path: path.to_path_buf(),
                    source,
                });
            }
            "md" => self.to_markdown(),
            "html" => self.to_html(),
            "tsv" => self.to_tsv(),
            "txt" => self.to_text(),
            _ => {
                return Err(Error::invalid(
                    "table output",
                    path.display(),
                    "the extension must be .csv, .parquet, .md, .html, .tsv or .txt",
                ))
            }
        };
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    /// Shows the table in an evcxr notebook cell: HTML, with plain text beside it.
    #[cfg(feature = "evcxr")]
    pub fn evcxr_display(&self) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = write!(
            out,
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/plain\n{}\nEVCXR_END_CONTENT\n",
            self.to_html(),
            self.to_text()
        );
        let _ = out.flush();
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `value` with `decimals` places; negative zero prints as `0.00`.
pub(crate) fn fixed(value: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, value + 0.0);
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// The paper's range cell: `(-0.21, 1.22)`; `(no cell)` when there was no cell outside
/// the ROI to measure.
pub(crate) fn range_cell(range: Option<(f64, f64)>) -> String {
    match range {
        Some((lo, hi)) => format!("({}, {})", fixed(lo, 2), fixed(hi, 2)),
        None => "(no cell)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table::new(
            "T",
            vec!["Models".into(), "Value".into()],
            vec![Section {
                title: Some("Group <1>".into()),
                rows: vec![
                    vec!["a".into(), "1.00".into()],
                    vec!["bb".into(), "22.50".into()],
                ],
            }],
            vec!["note".into()],
            df!("model" => ["a", "bb"], "value" => [1.0, 22.5]).unwrap(),
        )
    }

    #[test]
    fn renders_every_form() {
        let t = sample();
        assert_eq!(t.to_tsv(), "Models\tValue\nGroup <1>\na\t1.00\nbb\t22.50\n");
        let md = t.to_markdown();
        assert!(
            md.contains("| Models | Value |\n|---|---|\n| **Group <1>** |  |\n| a | 1.00 |"),
            "{md}"
        );
        let html = t.to_html();
        assert!(
            html.contains(
                "<td colspan=\"2\" style=\"font-weight:bold;text-align:left\">Group &lt;1&gt;</td>"
            ),
            "{html}"
        );
        assert!(t.to_text().contains("bb      22.50\n"), "{}", t.to_text());
    }

    #[test]
    fn writes_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let t = sample();
        for ext in ["csv", "parquet", "md", "html", "tsv", "txt"] {
            t.write(dir.path().join(format!("t.{ext}"))).unwrap();
        }
        let csv = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
        assert_eq!(csv, "model,value\na,1.0\nbb,22.5\n");
        let back = ParquetReader::new(std::fs::File::open(dir.path().join("t.parquet")).unwrap())
            .finish()
            .unwrap();
        assert!(back.equals(t.frame()));
        let err = t.write(dir.path().join("t.xlsx")).unwrap_err().to_string();
        assert!(err.contains("t.xlsx") && err.contains(".parquet"), "{err}");
    }

    #[test]
    fn formats_like_the_paper() {
        assert_eq!(range_cell(Some((-0.21, 1.22))), "(-0.21, 1.22)");
        assert_eq!(range_cell(Some((-0.0, 0.004))), "(0.00, 0.00)");
        assert_eq!(range_cell(None), "(no cell)");
        assert_eq!(fixed(-0.001, 2), "0.00");
        assert_eq!(fixed(-0.006, 2), "-0.01");
    }
}
