//! One writer per result folder: `cem.lock` names the host and process writing there.
//!
//! A second run into the same folder is refused with the holder's host and pid; a lock
//! left by a process that is gone (killed, or aborted by a second Ctrl-C) on this same
//! host is recovered with a note; a lock from another host is never guessed stale.
//! Taking the lock is also the check that the folder is writable, done before any
//! inference.
//!
//! ```no_run
//! # fn main() -> cem::Result<()> {
//! let _lock = cem::map::FolderLock::acquire("out/map")?; // released when dropped
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the lock inside a result folder.
pub const LOCK_NAME: &str = "cem.lock";

/// An exclusive claim on a result folder, released (the file removed) on drop.
#[derive(Debug)]
pub struct FolderLock {
    path: PathBuf,
    content: String,
}

/// Who holds a lock: `host=...` and `pid=...` lines.
fn parse_holder(text: &str) -> (Option<String>, Option<i32>) {
    let mut host = None;
    let mut pid = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("host=") {
            host = Some(h.trim().to_string());
        } else if let Some(p) = line.strip_prefix("pid=") {
            pid = p.trim().parse().ok();
        }
    }
    (host, pid)
}

/// This machine's host name.
pub(crate) fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Whether process `pid` exists on this host.
fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl FolderLock {
    /// Creates `dir` if needed and takes its lock; fails clearly when the folder cannot
    /// be written or another live process holds it.
    pub fn acquire(dir: impl AsRef<Path>) -> Result<FolderLock> {
        let dir = dir.as_ref();
        let not_writable = |source: std::io::Error| Error::FolderNotWritable {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(not_writable)?;
        let path = dir.join(LOCK_NAME);
        let host = host_name();
        let content = format!("host={host}\npid={}\n", std::process::id());
        for _ in 0..3 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(content.as_bytes()).map_err(not_writable)?;
                    return Ok(FolderLock { path, content });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let (h, pid) = parse_holder(&text);
                    let stale = h.as_deref() == Some(host.as_str()) && !pid.is_some_and(alive);
                    if !stale {
                        return Err(Error::FolderLocked {
                            dir: dir.to_path_buf(),
                            holder: format!(
                                "host {}, pid {}",
                                h.unwrap_or_else(|| "?".into()),
                                pid.map_or("?".into(), |p| p.to_string())
                            ),
                            lock: path,
                        });
                    }
                    eprintln!(
                        "note: recovered a stale lock in {} (pid {} is gone)",
                        dir.display(),
                        pid.map_or("?".into(), |p| p.to_string())
                    );
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(not_writable(e)),
            }
        }
        Err(Error::FolderLocked {
            dir: dir.to_path_buf(),
            holder: "another process (the lock kept coming back)".into(),
            lock: path,
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // remove it only if it is still ours
        if std::fs::read_to_string(&self.path).is_ok_and(|t| t == self.content) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_and_a_dead_holder_is_recovered() {
        let tmp = tempfile::tempdir().unwrap();
        let first = FolderLock::acquire(tmp.path()).unwrap();
        let err = FolderLock::acquire(tmp.path()).unwrap_err().to_string();
        assert!(
            err.contains("already in use") && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        assert!(!tmp.path().join(LOCK_NAME).exists());
        // a lock from a process that no longer exists on this host
        let dead = format!("host={}\npid={}\n", host_name(), i32::MAX - 7);
        std::fs::write(tmp.path().join(LOCK_NAME), dead).unwrap();
        let lock = FolderLock::acquire(tmp.path()).unwrap();
        assert!(std::fs::read_to_string(lock.path())
            .unwrap()
            .contains(&format!("pid={}", std::process::id())));
        drop(lock);
        // a lock from another host is never taken over
        std::fs::write(tmp.path().join(LOCK_NAME), "host=elsewhere\npid=1\n").unwrap();
        let err = FolderLock::acquire(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("host elsewhere"), "{err}");
    }

    #[test]
    fn an_unwritable_folder_is_found_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let err = FolderLock::acquire(file.join("sub"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot write") && err.contains("a-file"),
            "{err}"
        );
    }
}
