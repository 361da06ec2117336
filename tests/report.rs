//! `cem report`: a self-contained HTML file, checked in a real headless Chromium
//! (installed with apt when missing): every table has its rows, sorting works, and the
//! screenshot is not blank. The report and screenshot are kept in
//! `$CARGO_TARGET_TMPDIR/report/` to look at.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cem"))
        .args(args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A study of 4 units: DN, 2 images, C1F2 and its full pipeline Full1 (so Table III
/// has rows), blocks of 16 on 64x64 images.
fn tiny_study(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    cem::image::save_rgb(&common::cat(120, 40, 64), dir.join("images/cat_1.png")).unwrap();
    cem::image::save_rgb(&common::cat(200, 100, 64), dir.join("images/cat_2.png")).unwrap();
    let config = dir.join("study.yml");
    std::fs::write(
        &config,
        "task: 'DN'
Modellist: ['DnCNN <s>']
TextImg_path: images
Imagelist: ['cat_1.png', 'cat_2.png']
w: 16
h: 16
ROI_size: 16
mask_block_size: 16
strategies: [c1f2, full:1]
models:
  'DnCNN <s>': shipped:dncnn-s-dn50
",
    )
    .unwrap();
    let out = dir.join("study");
    let o = cem(&[
        "study",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    out
}

/// Chromium from PATH, installed with apt when missing and possible.
fn chromium() -> Option<PathBuf> {
    let find = || {
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .find_map(|n| {
                let o = Command::new("sh")
                    .args(["-c", &format!("command -v {n}")])
                    .output()
                    .ok()?;
                o.status
                    .success()
                    .then(|| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            })
    };
    if let Some(p) = find() {
        return Some(p);
    }
    let apt = Command::new("sh")
        .args([
            "-c",
            "command -v apt-get && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
        ])
        .output();
    match apt {
        Ok(o) if o.status.success() => find(),
        Ok(o) => {
            eprintln!(
                "SKIPPED the browser checks: installing chromium with apt failed: {}",
                text(&o)
            );
            None
        }
        Err(e) => {
            eprintln!("SKIPPED the browser checks: no apt ({e})");
            None
        }
    }
}

fn headless(browser: &Path, profile: &Path, extra: &[&str], url: &str) -> Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(extra)
        .arg(url)
        .output()
        .unwrap()
}

/// The text of column `col` of every data row of table `id` in an HTML document.
fn column(html: &str, id: &str, col: usize) -> Vec<String> {
    let start = html
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    table
        .split("<tr class=\"row\">")
        .skip(1)
        .map(|row| {
            let cell = row.split("<td>").nth(col + 1).unwrap();
            let cell = &cell[..cell.find("</td>").unwrap()];
            // strip a link
            match cell.find('>') {
                Some(i) if cell.starts_with("<a") => cell[i + 1..cell.find("</a>").unwrap()].into(),
                _ => cell.to_string(),
            }
        })
        .collect()
}

fn header_index(html: &str, id: &str, name: &str) -> usize {
    let start = html.find(&format!("<table id=\"{id}\"")).unwrap();
    let head = &html[start..start + html[start..].find("</thead>").unwrap()];
    head.split("<th ")
        .skip(1)
        .position(|th| th.contains(&format!(">{name}</th>")))
        .unwrap_or_else(|| panic!("no column {name} in {id}"))
}

#[test]
fn the_report_is_self_contained_and_sorts_and_renders_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let study = tiny_study(tmp.path());
    let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&keep).unwrap();
    let report = keep.join("report.html");
    let o = cem(&[
        "report",
        study.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&report).unwrap();
    // self-contained: no URL but data URIs and in-page anchors
    for bad in [
        "http:", "https:", "//cdn", "<link", "@import", "src=\"/", "url(",
    ] {
        assert!(!html.contains(bad), "the report references '{bad}'");
    }
    let imgs = html.matches("<img ").count();
    assert_eq!(imgs, html.matches("src=\"data:image/png;base64,").count());
    assert_eq!(imgs, 8, "4 thumbnails and 4 panels");
    // names are escaped
    assert!(html.contains("DnCNN &lt;s&gt;") && !html.contains("DnCNN <s>"));
    // every table has its rows (Table I: one model; II: one library; III: C1F2 against
    // Full1; maps: four)
    for (id, rows) in [("table1", 1), ("table2", 1), ("table3", 1), ("maps", 4)] {
        assert_eq!(column(&html, id, 0).len(), rows, "{id}");
    }
    // the studies' settings
    assert!(html.contains("strategies: [c1f2, full:1]") && html.contains("4 done"));
    // every thumbnail links to a detail section that exists
    for i in 0..4 {
        assert!(html.contains(&format!("href=\"#map-{i}\"")));
        assert!(html.contains(&format!("<section id=\"map-{i}\"")));
    }

    let Some(browser) = chromium() else {
        return;
    };
    let profile = tmp.path().join("profile");
    let url = format!("file://{}", report.display());
    // as loaded: the browser's DOM has every table's rows
    let o = headless(&browser, &profile, &["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        dom.contains("</html>"),
        "no DOM from chromium: {}",
        text(&o)
    );
    for (id, rows) in [("table1", 1), ("table2", 1), ("table3", 1), ("maps", 4)] {
        assert_eq!(column(&dom, id, 0).len(), rows, "{id} in the browser");
    }
    let inf = header_index(&dom, "maps", "inferences");
    let as_loaded: Vec<f64> = column(&dom, "maps", inf)
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    // sorted by the script: descending, then ascending, by inferences
    for (suffix, desc) in [(":desc", true), ("", false)] {
        let o = headless(
            &browser,
            &profile,
            &["--dump-dom"],
            &format!("{url}#sort=maps:{inf}{suffix}"),
        );
        let dom = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            dom.contains(&format!(
                "data-sorted=\"{inf}:{}\"",
                if desc { "desc" } else { "asc" }
            )),
            "the script did not sort"
        );
        let sorted: Vec<f64> = column(&dom, "maps", inf)
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        let mut want = as_loaded.clone();
        want.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if desc {
            want.reverse();
        }
        assert_eq!(sorted, want, "sorted {suffix}");
        assert_ne!(
            want.first(),
            want.last(),
            "the column must have distinct values"
        );
    }
    // a screenshot that is not blank
    let shot = keep.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let o = headless(
        &browser,
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1800",
        ],
        &url,
    );
    assert!(shot.is_file(), "no screenshot: {}", text(&o));
    let img = image::open(&shot).unwrap().to_rgb8();
    let non_white = img
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 235))
        .count();
    let share = non_white as f64 / (img.width() * img.height()) as f64;
    let reds = img
        .pixels()
        .filter(|p| p.0[0] > 150 && p.0[1] < 90 && p.0[2] < 90)
        .count();
    assert!(share > 0.03, "the screenshot is almost blank ({share:.4})");
    assert!(
        reds > 100,
        "no red pie or map cells in the screenshot ({reds})"
    );
}
