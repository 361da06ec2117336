//! Stopping a run from outside: a process-wide request (the `cem` binary's Ctrl-C
//! handler sets it) and per-run flags ([`crate::engine::Cem::stop_flag`]). A stopped
//! run ends after its current batch with [`crate::Error::Interrupted`], its checkpoint
//! saved.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Asks a running map to stop after its current batch, saving its checkpoint (call it
/// from a Ctrl-C handler; the `cem` binary does).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether a stop was requested (the trainer honours it too); cleared by
/// [`clear_stop`] and at the start of every map.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Clears a stop request.
pub fn clear_stop() {
    STOP.store(false, Ordering::SeqCst);
}

/// Takes a pending process-wide stop request (true once per request).
pub(crate) fn take_request() -> bool {
    STOP.swap(false, Ordering::SeqCst)
}
