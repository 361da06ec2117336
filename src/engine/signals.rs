//! Interrupting a run: the first Ctrl-C (SIGINT) or SIGTERM asks every running map (and
//! the trainer) to stop after its current batch and save its checkpoint; a second one
//! exits at once with status 130, after any file write in progress has finished.
//!
//! Files are written through [`crate::map::files`]' temporary file + rename, under a
//! process-wide write lock: an abrupt exit never leaves a torn file, and the second
//! signal waits for that lock (a write takes milliseconds) so it does not even leave a
//! stray temporary file. The exit is `_exit(2)`: no atexit handlers or C++ static
//! destructors run while libtorch threads are still working (calling
//! `std::process::exit` there is what crashed with a segmentation fault).
//!
//! ```no_run
//! cem::engine::install_signal_handler().unwrap();
//! ```

use crate::error::{Error, Result};
#[cfg_attr(not(feature = "cli"), allow(unused_imports))]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Exit status of a run stopped by a signal (128 + SIGINT).
pub const INTERRUPTED_EXIT_CODE: i32 = 130;

static WRITES: Mutex<()> = Mutex::new(());
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// Holds the process-wide write lock while a result or checkpoint file is written.
pub(crate) fn write_guard() -> MutexGuard<'static, ()> {
    WRITES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Exits the process with `code` at once, once no file write is in progress (the
/// lock is never released, so no new write starts either). Skips destructors and
/// atexit handlers on purpose.
pub fn exit_now(code: i32) -> ! {
    let guard = write_guard();
    std::mem::forget(guard);
    // SAFETY: _exit only ends the process; it touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// What the handler does for the `n`-th signal (0-based).
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
fn on_signal(n: usize) {
    if n == 0 {
        eprintln!("\nstopping after this batch and saving the checkpoint (Ctrl-C again to abort at once)...");
        super::request_stop();
    } else {
        eprintln!("\naborting (the last checkpoint is kept; run again to resume)");
        exit_now(INTERRUPTED_EXIT_CODE);
    }
}

/// Installs the Ctrl-C / SIGTERM handler described in the module docs (once per process).
/// Needs the `cli` feature (the `ctrlc` crate); without it, an error says so.
pub fn install_signal_handler() -> Result<()> {
    #[cfg(feature = "cli")]
    return ctrlc::set_handler(|| on_signal(SIGNALS.fetch_add(1, Ordering::SeqCst))).map_err(|e| {
        Error::invalid(
            "signal handler",
            "Ctrl-C/SIGTERM",
            format!("could not be installed: {e}"),
        )
    });
    #[cfg(not(feature = "cli"))]
    Err(Error::invalid(
        "signal handler",
        "Ctrl-C/SIGTERM",
        "this build of cem has no `cli` feature (the ctrlc crate)",
    ))
}
