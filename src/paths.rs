//! Small file-system helpers shared by the writers and folder readers.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Creates the folder `path` goes into, if it names one.
pub(crate) fn create_parent(path: &Path) -> Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| Error::FolderNotWritable {
            dir: dir.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

/// The extension of `path`, lower-cased (`""` when it has none).
pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The files in `dir` whose extension (any case) is one of `exts`, sorted.
pub(crate) fn files_with_extension(dir: &Path, exts: &[&str]) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| exts.contains(&extension(p).as_str()))
        .collect();
    files.sort();
    Ok(files)
}
