//! Finding stored maps: folders (searched recursively), `cem.json`/`cem.csv` paths and
//! glob patterns.

use crate::error::{Error, Result};
use crate::map::JSON_NAME;
use std::path::{Path, PathBuf};

/// The result folders (each holding `cem.json` and `cem.csv`) named by `patterns`,
/// sorted and without duplicates.
///
/// Each pattern is a folder (searched recursively), the path of a `cem.json` or
/// `cem.csv`, or a glob such as `runs/*/dncnn-*`. A path that does not exist, a glob
/// that matches nothing and a set of patterns that holds no map at all are errors that
/// name the pattern.
pub fn find_maps<P: AsRef<Path>>(patterns: &[P]) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for pattern in patterns {
        let pattern = pattern.as_ref();
        let text = pattern.to_string_lossy();
        if text.contains(['*', '?', '[']) {
            let matches = glob::glob(&text)
                .map_err(|e| Error::invalid("glob pattern", &text, e.to_string()))?;
            let mut any = false;
            for m in matches {
                let path = m.map_err(|e| Error::io(e.path().to_path_buf(), e.into()))?;
                any = true;
                collect(&path, &mut dirs)?;
            }
            if !any {
                return Err(Error::invalid("glob pattern", &text, "matches no file"));
            }
        } else {
            if !pattern.exists() {
                return Err(Error::io(
                    pattern,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
                ));
            }
            collect(pattern, &mut dirs)?;
        }
    }
    dirs.sort();
    dirs.dedup();
    if dirs.is_empty() {
        let names: Vec<String> = patterns
            .iter()
            .map(|p| p.as_ref().display().to_string())
            .collect();
        return Err(Error::invalid(
            "map paths",
            names.join(" "),
            format!("no {JSON_NAME} found there"),
        ));
    }
    Ok(dirs)
}

fn collect(path: &Path, dirs: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_dir() {
        if path.join(JSON_NAME).is_file() {
            dirs.push(path.to_path_buf());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            // a study unit still being computed (see cem::study)
            .filter(|p| !p.to_string_lossy().ends_with(".partial"))
            .collect();
        entries.sort();
        for entry in entries {
            collect(&entry, dirs)?;
        }
    } else if matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("cem.json" | "cem.csv")
    ) {
        dirs.push(path.parent().unwrap_or(Path::new(".")).to_path_buf());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_folders_files_and_globs() {
        let tmp = tempfile::tempdir().unwrap();
        for d in ["a", "b/c", "b/d"] {
            std::fs::create_dir_all(tmp.path().join(d)).unwrap();
            std::fs::write(tmp.path().join(d).join("cem.json"), "{}").unwrap();
        }
        std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
        let all = find_maps(&[tmp.path()]).unwrap();
        assert_eq!(all.len(), 3);
        let glob = find_maps(&[tmp.path().join("b/*")]).unwrap();
        assert_eq!(glob, vec![tmp.path().join("b/c"), tmp.path().join("b/d")]);
        let file = find_maps(&[tmp.path().join("a/cem.json"), tmp.path().join("a")]).unwrap();
        assert_eq!(file, vec![tmp.path().join("a")]);
        let err = find_maps(&[tmp.path().join("empty")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no cem.json"), "{err}");
        let err = find_maps(&[tmp.path().join("nope")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
        let err = find_maps(&[tmp.path().join("x*")]).unwrap_err().to_string();
        assert!(err.contains("matches no file"), "{err}");
    }
}
