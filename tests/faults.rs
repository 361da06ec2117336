//! Fault injection on the `cem` binary: interrupt once (SIGINT, SIGTERM), twice, kill -9,
//! two writers into one folder, corrupted checkpoints, an unwritable folder. Every run
//! either ends with exactly the uninterrupted map (`cem.csv` byte for byte) or refuses
//! with a clear message.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Side of the test image (a crop of the cat).
const SIDE: u32 = 32;
const ROI: &str = "8,8,8";
const STRATEGY: &str = "full:120";

/// The shipped DnCNN on a small crop of the cat, every intervention on the whole
/// image, one per call: a few seconds, long enough to be interrupted after the first
/// checkpoint (written after 2 s).
fn args(image: &Path, out: &Path) -> Vec<String> {
    [
        "map",
        "--model",
        "shipped:dncnn-s-dn50",
        "--image",
        image.to_str().unwrap(),
        "--task",
        "dn",
        "--roi",
        ROI,
        "--strategy",
        STRATEGY,
        "--no-locality",
        "--batch-size",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn cem(image: &Path, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cem"));
    c.args(args(image, out))
        .env("OMP_NUM_THREADS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

struct Fixture {
    _dir: tempfile::TempDir,
    image: PathBuf,
    reference: String,
}

/// The image and the uninterrupted map, made once.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("cat.png");
        cem::image::save_rgb(&common::cat(40, 40, SIDE), &image).unwrap();
        let out = dir.path().join("reference");
        let o = cem(&image, &out).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let reference = std::fs::read_to_string(out.join("cem.csv")).unwrap();
        assert!(!out.join("cem.partial.json").exists());
        assert!(!out.join(cem::map::LOCK_NAME).exists());
        Fixture {
            _dir: dir,
            image,
            reference,
        }
    })
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn checkpoint(out: &Path) -> PathBuf {
    out.join("cem.partial.json")
}

/// Waits until the run has written its first checkpoint.
fn wait_for_checkpoint(child: &mut Child, out: &Path) {
    let start = Instant::now();
    while !checkpoint(out).exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: sends a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

/// Runs to completion in `out` (resuming) and checks the map equals the reference.
fn finish_and_compare(out: &Path) -> String {
    let f = fixture();
    let o = cem(&f.image, out).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(out.join("cem.csv")).unwrap();
    assert_eq!(csv, f.reference, "the resumed map differs");
    assert!(
        !checkpoint(out).exists(),
        "the checkpoint is removed at the end"
    );
    text(&o)
}

/// The checkpoint parses as JSON (it is never torn).
fn assert_whole(out: &Path) {
    let t = std::fs::read_to_string(checkpoint(out)).unwrap();
    serde_json::from_str::<serde_json::Value>(&t).expect("a whole checkpoint");
}

fn interrupted_once(sig: i32) {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut child = cem(&f.image, &out).spawn().unwrap();
    wait_for_checkpoint(&mut child, &out);
    signal(&child, sig);
    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(130), "{t}");
    assert!(
        t.contains("stopping after this batch") && t.contains("interrupted after"),
        "{t}"
    );
    assert_eq!(t.matches("stopping after this batch").count(), 1, "{t}");
    assert_whole(&out);
    assert!(
        !out.join(cem::map::LOCK_NAME).exists(),
        "the lock is released"
    );
    let t = finish_and_compare(&out);
    assert!(
        t.contains("resumed: ") && t.contains("inferences from the checkpoint"),
        "{t}"
    );
}

#[test]
fn one_sigint_stops_saves_and_resumes_to_the_same_map() {
    interrupted_once(libc::SIGINT);
}

#[test]
fn one_sigterm_stops_saves_and_resumes_to_the_same_map() {
    interrupted_once(libc::SIGTERM);
}

#[test]
fn a_second_sigint_exits_at_once_without_a_crash() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut child = cem(&f.image, &out).spawn().unwrap();
    wait_for_checkpoint(&mut child, &out);
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(30));
    signal(&child, libc::SIGINT);
    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    // 130, never 139 (SIGSEGV) or a signal death
    assert_eq!(o.status.code(), Some(130), "{t}");
    assert_whole(&out);
    // the aborted run's lock is stale and recovered
    finish_and_compare(&out);
}

#[test]
fn kill_9_loses_at_most_the_last_seconds() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut child = cem(&f.image, &out).spawn().unwrap();
    wait_for_checkpoint(&mut child, &out);
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    assert_whole(&out);
    assert!(
        out.join(cem::map::LOCK_NAME).exists(),
        "kill -9 leaves its lock"
    );
    let t = finish_and_compare(&out);
    assert!(t.contains("recovered a stale lock"), "{t}");
}

#[test]
fn a_second_writer_is_refused_and_the_first_finishes() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let first = cem(&f.image, &out).spawn().unwrap();
    let start = Instant::now();
    while !out.join(cem::map::LOCK_NAME).exists() {
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = cem(&f.image, &out).output().unwrap();
    let t = text(&second);
    assert_eq!(second.status.code(), Some(1), "{t}");
    assert!(
        t.contains("already in use by another cem run") && t.contains("pid"),
        "{t}"
    );
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("cem.csv")).unwrap(),
        f.reference
    );
}

#[test]
fn corrupted_checkpoints_are_refused_clearly() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut child = cem(&f.image, &out).spawn().unwrap();
    wait_for_checkpoint(&mut child, &out);
    signal(&child, libc::SIGINT);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let good = std::fs::read_to_string(checkpoint(&out)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&good).unwrap();
    let results = json["results"]["full"].as_array().unwrap().clone();
    assert!(results.len() > 2, "{good}");
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut j = json.clone();
        f(&mut j);
        j.to_string()
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "a results list made 20x longer",
            with(&|j| {
                let long: Vec<_> = results
                    .iter()
                    .cycle()
                    .take(results.len() * 20)
                    .cloned()
                    .collect();
                j["results"]["full"] = long.into();
            }),
        ),
        (
            "an edited value",
            with(&|j| j["results"]["full"][1] = 30.0.into()),
        ),
        (
            "a null value",
            with(&|j| j["results"]["full"][0] = serde_json::Value::Null),
        ),
        (
            "an unknown stage",
            with(&|j| j["results"]["extra"] = vec![1.0].into()),
        ),
        (
            "no digest",
            with(&|j| j["digest"] = serde_json::Value::Null),
        ),
        ("a torn file", good[..good.len() / 2].to_string()),
    ];
    for (what, body) in cases {
        std::fs::write(checkpoint(&out), body).unwrap();
        let o = cem(&f.image, &out).output().unwrap();
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {t}");
        assert!(t.contains("delete it to start over"), "{what}: {t}");
        assert!(
            !out.join("cem.csv").exists(),
            "{what}: no map from a bad checkpoint"
        );
    }
    // the untouched checkpoint still resumes to the same map
    std::fs::write(checkpoint(&out), good).unwrap();
    finish_and_compare(&out);
}

#[test]
fn an_unwritable_out_is_refused_before_any_inference() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let start = Instant::now();
    let o = cem(&f.image, &file.join("out")).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("cannot write results to"), "{t}");
    assert!(start.elapsed() < Duration::from_secs(20), "{t}");
}
