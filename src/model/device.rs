//! Devices, and making CUDA work with the PyPI libtorch.
//!
//! Cargo links with `--as-needed`, which drops `libtorch_cuda.so` (nothing references
//! its symbols directly), so libtorch never registers its CUDA backend and CUDA looks
//! absent. [`ensure_cuda_loaded`] loads it at run time, next to the `libtorch_cpu.so`
//! the process already uses, which works in binaries, tests and evcxr kernels alike
//! and costs nothing on machines without CUDA.

use crate::error::{Error, Result};
use std::sync::OnceLock;
use tch::Device;

/// Loads `libtorch_cuda.so` once, from the folder of the loaded `libtorch_cpu.so`.
/// Returns whether it is loaded (false on a CPU-only libtorch).
pub fn ensure_cuda_loaded() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        disable_tf32_unless_asked();
        let dir = loaded_libtorch_dir();
        let candidates: Vec<String> = match &dir {
            Some(d) => vec![format!("{d}/libtorch_cuda.so"), "libtorch_cuda.so".into()],
            None => vec!["libtorch_cuda.so".into()],
        };
        candidates.iter().any(|path| {
            let c = std::ffi::CString::new(path.as_str()).expect("no NUL in path");
            // SAFETY: dlopen with a valid C string; the handle is deliberately leaked
            // so the library stays loaded for the life of the process.
            let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
            !handle.is_null()
        })
    })
}

/// Name of the variable that keeps TF32 on when set (to anything).
pub const ALLOW_TF32_VAR: &str = "CEM_ALLOW_TF32";

/// Whether CUDA convolutions and matrix products run in full fp32 (the default) rather
/// than TF32.
///
/// libtorch lets cuDNN use TF32 for fp32 convolutions by default. Measured on an H200:
/// the real DnCNN's ROI PSNR on the reference input came out 24.0377 dB with TF32 against
/// the reference 24.0414 dB, and 2 of 1,024 cells changed kind. CEM subtracts PSNRs that
/// differ by hundredths of a dB, so the toolkit turns TF32 off through NVIDIA's own
/// switch `NVIDIA_TF32_OVERRIDE=0` before CUDA starts, unless `CEM_ALLOW_TF32` is set
/// or the user set `NVIDIA_TF32_OVERRIDE` themselves.
pub fn full_fp32_on_cuda() -> bool {
    std::env::var("NVIDIA_TF32_OVERRIDE").is_ok_and(|v| v.trim() == "0")
}

fn disable_tf32_unless_asked() {
    if std::env::var_os(ALLOW_TF32_VAR).is_none()
        && std::env::var_os("NVIDIA_TF32_OVERRIDE").is_none()
    {
        std::env::set_var("NVIDIA_TF32_OVERRIDE", "0");
    }
}

fn loaded_libtorch_dir() -> Option<String> {
    // The binary links libtorch_cpu, so it is mapped from the start; this call only
    // makes sure of it. It must not touch CUDA: libtorch caches its CUDA hooks on
    // first use (`has_cuda`, `Cuda::is_available`), and a lookup made before
    // `libtorch_cuda.so` is loaded pins the stub that reports no GPU.
    let _ = tch::get_num_threads();
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.ends_with("/libtorch_cpu.so"))
        .and_then(|p| p.rsplit_once('/').map(|(d, _)| d.to_string()))
}

/// Whether a CUDA device can be used (loads the CUDA backend first).
pub fn cuda_available() -> bool {
    ensure_cuda_loaded() && tch::Cuda::is_available()
}

/// Parses `cpu`, `cuda`, `cuda:N` or `auto` (CUDA when available, else CPU).
pub fn parse_device(name: &str) -> Result<Device> {
    let lower = name.trim().to_ascii_lowercase();
    let want_cuda = |index: usize| {
        if !cuda_available() {
            return Err(Error::invalid(
                "device",
                name,
                "CUDA is not available with this libtorch/machine",
            ));
        }
        if index as i64 >= tch::Cuda::device_count() {
            return Err(Error::invalid(
                "device",
                name,
                format!("only {} CUDA device(s)", tch::Cuda::device_count()),
            ));
        }
        Ok(Device::Cuda(index))
    };
    match lower.as_str() {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(if cuda_available() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }),
        "cuda" | "gpu" => want_cuda(0),
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(i)) => want_cuda(i),
            _ => Err(Error::invalid(
                "device",
                name,
                "expected cpu, cuda, cuda:N or auto",
            )),
        },
    }
}

/// A short name for a device (`cpu`, `cuda:0`).
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert!(parse_device("tpu").is_err());
        let auto = parse_device("auto").unwrap();
        assert_eq!(auto == Device::Cpu, !cuda_available());
    }
}
