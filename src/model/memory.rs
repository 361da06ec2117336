//! Memory: what one forward pass needs, what the device has free, and the batch that
//! fits, so that a large image stops with a clear error before libtorch fails on an
//! allocation (issue 16: a 2048x2048 image used to panic inside a convolution).
//!
//! The estimate is deliberately conservative: the input and output, three live
//! feature maps of the model's width at the input's resolution and two at the
//! output's (no-grad inference keeps about that many alive), and a convolution's
//! 3x3 unfolding workspace of one feature map on the CPU.
//!
//! ```
//! use cem::model::memory::{estimate_per_item, plan_batch_with, PlanInputs};
//! # use tch::Device;
//! let per_item = estimate_per_item(256, 256, 1, 64, Device::Cpu);
//! let plan = plan_batch_with(&PlanInputs {
//!     device: Device::Cpu, per_item, available: Some(64 << 30),
//!     requested: None, what: "one input".into(),
//! }).unwrap();
//! assert_eq!(plan.batch, 8); // the CPU's default, well within 64 GiB
//! ```

use crate::error::{Error, Result};
use crate::model::device::device_name;
use tch::Device;

/// Name of the variable that caps the memory `cem` plans with (bytes, or with a
/// `K`, `M`, `G` or `T` suffix, powers of 1024), below what the device reports free.
pub const MEMORY_LIMIT_VAR: &str = "CEM_MEMORY_LIMIT";

/// Feature channels assumed for a model that does not say (most restoration networks
/// are 64 wide).
pub const DEFAULT_FEATURE_CHANNELS: i64 = 64;

/// The share of the free memory a plan may use (the rest is left for libtorch's own
/// workspaces, fragmentation and the rest of the process).
pub const USABLE_SHARE: f64 = 0.7;

/// Estimated bytes one input of `width x height` pixels needs through a model of
/// `feats` feature channels at `scale` (see the module docs for what is counted).
pub fn estimate_per_item(width: u32, height: u32, scale: u32, feats: i64, device: Device) -> u64 {
    let pixels = width as u64 * height as u64;
    let s2 = (scale as u64).pow(2);
    let c = feats.max(3) as u64;
    let images = 3 + 3 * s2;
    let features = 3 * c + if scale > 1 { 2 * c * s2 } else { 0 };
    let workspace = if device == Device::Cpu { 9 * c } else { 0 };
    4 * pixels * (images + features + workspace)
}

/// What a batch plan is made from.
#[derive(Debug, Clone)]
pub struct PlanInputs {
    /// The device the model runs on.
    pub device: Device,
    /// Estimated bytes per item ([`estimate_per_item`]).
    pub per_item: u64,
    /// Bytes free on the device (`None`: unknown, the default batch is used).
    pub available: Option<u64>,
    /// The batch the user asked for, if any.
    pub requested: Option<usize>,
    /// What one item is, for messages ("one 2048x2048 input through dncnn").
    pub what: String,
}

/// The batch chosen for a run, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPlan {
    /// Items per model call.
    pub batch: usize,
    /// Estimated bytes per item.
    pub per_item: u64,
    /// Bytes free on the device, when known.
    pub available: Option<u64>,
    /// Whether the free memory lowered the batch below the default or the request.
    pub limited: bool,
    /// The device.
    pub device: String,
}

impl std::fmt::Display for BatchPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "batch: {} intervention{} per model call (about {} each",
            self.batch,
            if self.batch == 1 { "" } else { "s" },
            human_bytes(self.per_item)
        )?;
        if let Some(a) = self.available {
            write!(f, ", {} free on {}", human_bytes(a), self.device)?;
        }
        write!(f, ")")
    }
}

/// The default batch on `device` when memory does not limit it.
pub fn default_batch(device: Device) -> usize {
    match device {
        Device::Cpu => 8,
        _ => 64,
    }
}

/// Chooses the batch: the request or the device's default, lowered to what fits in
/// [`USABLE_SHARE`] of the free memory; an error when not even one item fits.
pub fn plan_batch_with(p: &PlanInputs) -> Result<BatchPlan> {
    let want = p
        .requested
        .unwrap_or_else(|| default_batch(p.device))
        .max(1);
    let device = device_name(p.device);
    let Some(available) = p.available else {
        return Ok(BatchPlan {
            batch: want,
            per_item: p.per_item,
            available: None,
            limited: false,
            device,
        });
    };
    let usable = (available as f64 * USABLE_SHARE) as u64;
    let fits = usable.checked_div(p.per_item.max(1)).unwrap_or(0) as usize;
    if fits == 0 {
        return Err(Error::OutOfMemory {
            device,
            what: p.what.clone(),
            needed: Some(p.per_item),
            available: Some(available),
        });
    }
    Ok(BatchPlan {
        batch: want.min(fits),
        per_item: p.per_item,
        available: Some(available),
        limited: fits < want,
        device,
    })
}

/// Plans the batch for `model` on inputs of `width x height` at `scale`, with the
/// device's free memory (capped by [`MEMORY_LIMIT_VAR`]).
pub fn plan_batch(
    model: &dyn crate::model::Model,
    (width, height): (u32, u32),
    scale: u32,
    requested: Option<usize>,
) -> Result<BatchPlan> {
    let device = model.device();
    let feats = model.feature_channels().unwrap_or(DEFAULT_FEATURE_CHANNELS);
    plan_batch_with(&PlanInputs {
        device,
        per_item: estimate_per_item(width, height, scale, feats, device),
        available: available_memory(device)?,
        requested,
        what: format!("one {width}x{height} input through {}", model.name()),
    })
}

/// Bytes free on `device`, capped by [`MEMORY_LIMIT_VAR`]; `None` when unknown.
pub fn available_memory(device: Device) -> Result<Option<u64>> {
    let limit = memory_limit()?;
    let free = match device {
        Device::Cpu => cpu_available(),
        Device::Cuda(i) => cuda_free(i),
        _ => None,
    };
    Ok(match (free, limit) {
        (Some(f), Some(l)) => Some(f.min(l)),
        (f, l) => f.or(l),
    })
}

/// The cap set by [`MEMORY_LIMIT_VAR`], if any.
fn memory_limit() -> Result<Option<u64>> {
    match std::env::var(MEMORY_LIMIT_VAR) {
        Ok(text) => parse_bytes(&text).map(Some).ok_or_else(|| {
            Error::invalid(
                MEMORY_LIMIT_VAR,
                &text,
                "expected bytes, or a number with K, M, G or T",
            )
        }),
        Err(_) => Ok(None),
    }
}

/// Parses `123`, `512M`, `1.5G`, `2GiB` (powers of 1024).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.trim_end_matches("IB").trim_end_matches('B');
    let (num, mult) = match t.chars().last()? {
        'K' => (&t[..t.len() - 1], 1u64 << 10),
        'M' => (&t[..t.len() - 1], 1 << 20),
        'G' => (&t[..t.len() - 1], 1 << 30),
        'T' => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some((v * mult as f64) as u64)
}

/// `MemAvailable` from `/proc/meminfo`, capped by a cgroup v2 or v1 memory limit.
fn cpu_available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let avail = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)?;
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    let cgroup = match (
        read("/sys/fs/cgroup/memory.max"),
        read("/sys/fs/cgroup/memory.current"),
    ) {
        (Some(max), Some(cur)) => Some(max.saturating_sub(cur)),
        _ => match (
            read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
            read("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
        ) {
            (Some(max), Some(cur)) => Some(max.saturating_sub(cur)),
            _ => None,
        },
    };
    Some(cgroup.map_or(avail, |c| c.min(avail)))
}

/// Free bytes on CUDA device `index`, from the CUDA runtime libtorch loaded
/// (`cudaMemGetInfo`); `None` when it cannot be asked.
fn cuda_free(index: usize) -> Option<u64> {
    type GetInfo = unsafe extern "C" fn(*mut usize, *mut usize) -> i32;
    type GetDevice = unsafe extern "C" fn(*mut i32) -> i32;
    type SetDevice = unsafe extern "C" fn(i32) -> i32;
    if !crate::model::device::ensure_cuda_loaded() {
        return None;
    }
    let lookup = |name: &str| -> Option<*mut libc::c_void> {
        let sym = std::ffi::CString::new(name).ok()?;
        // SAFETY: dlsym with a valid C string on the global scope, then on the CUDA
        // runtimes a PyTorch wheel may have loaded (RTLD_NOLOAD: never loads one).
        unsafe {
            let p = libc::dlsym(libc::RTLD_DEFAULT, sym.as_ptr());
            if !p.is_null() {
                return Some(p);
            }
            for lib in ["libcudart.so.13", "libcudart.so.12", "libcudart.so"] {
                let l = std::ffi::CString::new(lib).ok()?;
                let h = libc::dlopen(l.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD);
                if !h.is_null() {
                    let p = libc::dlsym(h, sym.as_ptr());
                    if !p.is_null() {
                        return Some(p);
                    }
                }
            }
            None
        }
    };
    let (get_info, get_dev, set_dev) = (
        lookup("cudaMemGetInfo")?,
        lookup("cudaGetDevice")?,
        lookup("cudaSetDevice")?,
    );
    // SAFETY: the symbols are the CUDA runtime's functions with these signatures; the
    // current device is restored after the query.
    unsafe {
        let get_info: GetInfo = std::mem::transmute(get_info);
        let get_dev: GetDevice = std::mem::transmute(get_dev);
        let set_dev: SetDevice = std::mem::transmute(set_dev);
        let mut current = 0i32;
        if get_dev(&mut current) != 0 {
            return None;
        }
        if set_dev(index as i32) != 0 {
            return None;
        }
        let (mut free, mut total) = (0usize, 0usize);
        let rc = get_info(&mut free, &mut total);
        set_dev(current);
        (rc == 0).then_some(free as u64)
    }
}

/// Whether libtorch's (or the allocator's) message says that memory ran out: CUDA's
/// `CUDA out of memory` / `CUDA error: out of memory`, the CPU allocator's `can't
/// allocate memory`, `std::bad_alloc`, cuDNN/cuBLAS `ALLOC_FAILED`, errno 12.
///
/// libtorch's `c10::OutOfMemoryError` reaches Rust only as text (tch's
/// `TchError::Torch(String)`), so the text is all there is to go by.
pub fn is_out_of_memory_text(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "out of memory",
        "can't allocate memory",
        "not enough memory",
        "cannot allocate memory",
        "std::bad_alloc",
        "alloc_failed",
        "outofmemoryerror",
        "error code 12",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// The typed error for a libtorch out-of-memory message: the device from the message
/// (CUDA or CPU) and its first line as what failed.
pub(crate) fn out_of_memory_from_text(message: &str) -> Error {
    let lower = message.to_ascii_lowercase();
    let device = if lower.contains("cuda") || lower.contains("gpu") {
        "cuda"
    } else {
        "cpu"
    };
    let first = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    Error::OutOfMemory {
        device: device.into(),
        what: format!("libtorch said \"{first}\""),
        needed: None,
        available: None,
    }
}

/// Bytes as `1.5 GiB`, `512.0 MiB`, `12 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(per_item: u64, available: Option<u64>, requested: Option<usize>) -> Result<BatchPlan> {
        plan_batch_with(&PlanInputs {
            device: Device::Cpu,
            per_item,
            available,
            requested,
            what: "one 8000x8000 input through dncnn".into(),
        })
    }

    #[test]
    fn the_batch_shrinks_to_the_free_memory_and_stops_when_one_does_not_fit() {
        let mib = 1u64 << 20;
        // plenty: the default
        let p = plan(100 * mib, Some(100_000 * mib), None).unwrap();
        assert_eq!((p.batch, p.limited), (8, false));
        // 1000 MiB free, 70% usable = 700 MiB: 7 items of 100 MiB
        let p = plan(100 * mib, Some(1000 * mib), None).unwrap();
        assert_eq!((p.batch, p.limited), (7, true));
        assert!(p.to_string().contains("batch: 7 interventions"), "{p}");
        // a request larger than fits is lowered, a smaller one kept
        assert_eq!(
            plan(100 * mib, Some(1000 * mib), Some(32)).unwrap().batch,
            7
        );
        assert_eq!(plan(100 * mib, Some(1000 * mib), Some(2)).unwrap().batch, 2);
        // exactly one
        let p = plan(600 * mib, Some(1000 * mib), None).unwrap();
        assert_eq!(p.batch, 1);
        // not even one: a clear error with both figures and the advice
        let err = plan(800 * mib, Some(1000 * mib), None).unwrap_err();
        assert!(matches!(err, Error::OutOfMemory { .. }));
        let text = err.to_string();
        assert!(
            text.contains("800.0 MiB")
                && text.contains("1000.0 MiB")
                && text.contains("8000x8000")
                && text.contains("crop"),
            "{text}"
        );
        // unknown free memory: the default
        assert_eq!(plan(800 * mib, None, None).unwrap().batch, 8);
    }

    #[test]
    fn estimates_grow_with_size_width_and_scale() {
        let small = estimate_per_item(256, 256, 1, 64, Device::Cpu);
        // 4 bytes x 65,536 px x (6 images + 192 features + 576 workspace)
        assert_eq!(small, 4 * 65_536 * (6 + 192 + 576));
        assert_eq!(estimate_per_item(512, 256, 1, 64, Device::Cpu), 2 * small);
        assert!(estimate_per_item(256, 256, 1, 64, Device::Cuda(0)) < small);
        assert!(estimate_per_item(256, 256, 4, 64, Device::Cpu) > small);
        // an 8000x8000 image through a 64-wide network needs tens of GiB
        assert!(estimate_per_item(8000, 8000, 1, 64, Device::Cpu) > 40 << 30);
    }

    #[test]
    fn out_of_memory_messages_are_recognised() {
        for m in [
            "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total capacity)",
            "CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported",
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to allocate 17179869184 bytes. Error code 12 (Cannot allocate memory)",
            "std::bad_alloc",
            "cuDNN error: CUDNN_STATUS_ALLOC_FAILED",
        ] {
            assert!(is_out_of_memory_text(m), "{m}");
        }
        for m in [
            "shape '[7, 7]' is invalid for input of size 120",
            "Expected all tensors to be on the same device",
        ] {
            assert!(!is_out_of_memory_text(m), "{m}");
        }
        let e = out_of_memory_from_text("CUDA out of memory. Tried to allocate 2.00 GiB\nmore");
        assert!(
            matches!(&e, Error::OutOfMemory { device, .. } if device == "cuda"),
            "{e}"
        );
        assert!(e.to_string().contains("Tried to allocate 2.00 GiB"), "{e}");
    }

    #[test]
    fn byte_sizes_parse_and_print() {
        assert_eq!(parse_bytes("512M"), Some(512 << 20));
        assert_eq!(parse_bytes("1.5G"), Some(3 << 29));
        assert_eq!(parse_bytes("2GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }
}
