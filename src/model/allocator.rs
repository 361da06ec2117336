//! glibc's `malloc` and libtorch on the CPU.
//!
//! A CPU forward pass allocates its activations anew: for RCAN-s on a 256 x 256 image at
//! batch 8, each is 67 MB. By default glibc serves allocations that large with fresh
//! `mmap`s, and the per-thread arenas that libtorch's worker threads use give freed memory
//! back to the system. Every pass then faults its memory in again, page by page: in the
//! DN demo study (session 6) the kernel's page-fault handling took more CPU time than
//! the model (2,743 s system against 2,033 s user, 1.5 billion minor faults).
//!
//! [`keep_freed_memory`] sets glibc to keep freed memory for reuse: one arena, no
//! `mmap`ed chunks, no trimming of the heap's top. The same RCAN-s map then ran 3.3-3.7x
//! as many interventions a second on this repository's 2-core CPU (measured beside a
//! running study: 368 against 112 in 45 s; the DR demo study's RCAN unit went from 3.5 to
//! 12.8 interventions a second). All three settings are needed: each alone, or the
//! single arena with either of the others, changed nothing. The price: the process keeps
//! its peak memory until it exits. `cem`'s commands call it at start (set
//! `CEM_MALLOC=default` to keep glibc's defaults); a notebook or program can call it
//! first thing, before libtorch starts its threads.

/// The environment variable that, set to `default`, keeps glibc's allocator settings.
pub const MALLOC_ENV: &str = "CEM_MALLOC";

/// Sets glibc's `malloc` to keep freed memory for reuse (see the [module
/// docs](self)): returns whether it did. Does nothing where the C library is not glibc,
/// or when `CEM_MALLOC=default`.
///
/// ```
/// // in a program that maps on the CPU: first thing, before any model runs
/// let tuned = cem::model::keep_freed_memory();
/// assert_eq!(tuned, cfg!(all(target_os = "linux", target_env = "gnu"))
///     && std::env::var("CEM_MALLOC").as_deref() != Ok("default"));
/// ```
pub fn keep_freed_memory() -> bool {
    if std::env::var(MALLOC_ENV).as_deref() == Ok("default") {
        return false;
    }
    set_glibc()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_glibc() -> bool {
    // SAFETY: mallopt only changes allocator parameters; each call returns 1 on success.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1) == 1
            && libc::mallopt(libc::M_MMAP_MAX, 0) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_glibc() -> bool {
    false
}
