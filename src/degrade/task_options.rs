//! Task names with settings: `NAME` or `NAME:key=value,key=value`.
//!
//! | task       | keys (defaults)                          | where the default comes from |
//! |------------|------------------------------------------|------------------------------|
//! | `sr-up`    | `scale` (the `--scale` argument, 4)      | the paper's x4 |
//! | `blur`     | `kernel` (15), `sigma` (2.0)             | MIO draws the kernel from {7, 9, ..., 21} and sigma from U(1, 3) per image; the middles |
//! | `jpeg`     | `quality` (50)                           | MIO draws the quality from U(30, 70); the middle |
//! | `haze`     | `airlight` (0.9), `beta` (1.8)           | the fixed values in the MIO authors' data script (`A = 0.9`, `B = 1.8`, commented out beside their U(0.8, 1) and U(0.5, 2.5) draws) |
//! | `lowlight` | `gamma` (2.0), `scale` (1.0), `sigma` (0)| MIO darkens by `x^gamma` with gamma from U(1, 3) (the middle) and no scale or noise |
//!
//! MIO: Kong et al. 2024, "Towards effective multiple-in-one image restoration: a
//! sequential and prompt learning strategy", `data_script/add_MiO_train_degradation.py`
//! and `add_MiO_test_degradation.py` of the authors' repository `Xiangtaokong/MiOIR`.
//!
//! ```
//! use cem::prelude::*;
//! assert_eq!(Task::parse("jpeg:quality=30", 4, 50.0)?, Task::Jpeg { quality: 30 });
//! assert!(Task::parse("jpeg:quality=0", 4, 50.0).is_err());
//! # Ok::<(), cem::Error>(())
//! ```

use super::{GaussianBlur, Haze, Jpeg, LowLight, Task};
use crate::error::{Error, Result};

/// Default blur kernel side (see the module table).
pub const BLUR_KERNEL: u32 = 15;
/// Default blur sigma.
pub const BLUR_SIGMA: f64 = 2.0;
/// Default JPEG quality.
pub const JPEG_QUALITY: u8 = 50;
/// Default atmospheric light.
pub const HAZE_AIRLIGHT: f64 = 0.9;
/// Default scattering coefficient.
pub const HAZE_BETA: f64 = 1.8;
/// Default low-light gamma.
pub const LOWLIGHT_GAMMA: f64 = 2.0;

const NAMES: [&str; 5] = ["sr-up", "blur", "jpeg", "haze", "lowlight"];

/// Whether `name` (without settings) is one of the tasks this module parses.
pub(crate) fn is_mio_name(name: &str) -> bool {
    NAMES.contains(&name.to_ascii_lowercase().as_str())
}

/// Parses `NAME[:key=value,...]` for the tasks in the module table; `scale` is the
/// default SR scale of `sr-up`.
pub fn parse(spec: &str, scale: u32) -> Result<Task> {
    let (name, opts) = spec.split_once(':').unwrap_or((spec, ""));
    let name = name.to_ascii_lowercase();
    let mut pairs = Vec::new();
    for item in opts.split(',').filter(|s| !s.trim().is_empty()) {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            Error::invalid("task setting", item, "expected key=value, e.g. quality=30")
        })?;
        pairs.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let keys: &[&str] = match name.as_str() {
        "sr-up" => &["scale"],
        "blur" => &["kernel", "sigma"],
        "jpeg" => &["quality"],
        "haze" => &["airlight", "beta"],
        "lowlight" => &["gamma", "scale", "sigma"],
        "sr" | "dn" | "dr" => {
            return Err(Error::invalid(
                "task",
                spec,
                "sr, dn and dr take no settings here (use --scale and --sigma)",
            ))
        }
        _ => return Err(Error::UnknownTask(spec.to_string())),
    };
    for (k, _) in &pairs {
        if !keys.contains(&k.as_str()) {
            return Err(Error::invalid(
                &format!("{name} setting"),
                k,
                format!("expected one of {}", keys.join(", ")),
            ));
        }
    }
    let num = |key: &str, default: f64| -> Result<f64> {
        match pairs.iter().rev().find(|(k, _)| k == key) {
            None => Ok(default),
            Some((_, v)) => v
                .parse::<f64>()
                .map_err(|_| Error::invalid(&format!("{name} {key}"), v, "is not a number")),
        }
    };
    let int = |key: &str, default: u32| -> Result<u32> {
        match pairs.iter().rev().find(|(k, _)| k == key) {
            None => Ok(default),
            Some((_, v)) => v
                .parse::<u32>()
                .map_err(|_| Error::invalid(&format!("{name} {key}"), v, "is not a whole number")),
        }
    };
    let task = match name.as_str() {
        "sr-up" => Task::SrUp {
            scale: int("scale", scale)?,
        },
        "blur" => Task::Blur {
            kernel: int("kernel", BLUR_KERNEL)?,
            sigma: num("sigma", BLUR_SIGMA)?,
        },
        "jpeg" => {
            let q = int("quality", JPEG_QUALITY as u32)?;
            if q == 0 || q > 100 {
                return Err(Error::invalid("jpeg quality", q, "must be 1..=100"));
            }
            Task::Jpeg { quality: q as u8 }
        }
        "haze" => Task::Haze {
            airlight: num("airlight", HAZE_AIRLIGHT)?,
            beta: num("beta", HAZE_BETA)?,
        },
        _ => Task::Lowlight {
            gamma: num("gamma", LOWLIGHT_GAMMA)?,
            scale: num("scale", 1.0)?,
            sigma: num("sigma", 0.0)?,
        },
    };
    validate(&task)?;
    Ok(task)
}

/// Checks a task's settings (the same checks its degradation's constructor makes).
pub fn validate(task: &Task) -> Result<()> {
    match *task {
        Task::SrUp { scale } => super::BicubicUpsampled::new(scale).map(|_| ()),
        Task::Blur { kernel, sigma } => GaussianBlur::new(kernel, sigma).map(|_| ()),
        Task::Jpeg { quality } => Jpeg::new(quality).map(|_| ()),
        Task::Haze { airlight, beta } => Haze::new(airlight, beta, 0).map(|_| ()),
        Task::Lowlight {
            gamma,
            scale,
            sigma,
        } => LowLight::new(gamma, scale, sigma, 0).map(|_| ()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_settings_and_errors() {
        assert_eq!(parse("sr-up", 4).unwrap(), Task::SrUp { scale: 4 });
        assert_eq!(parse("SR-UP:scale=2", 4).unwrap(), Task::SrUp { scale: 2 });
        assert_eq!(
            parse("blur", 4).unwrap(),
            Task::Blur {
                kernel: 15,
                sigma: 2.0
            }
        );
        assert_eq!(
            parse("blur:kernel=21,sigma=3", 4).unwrap(),
            Task::Blur {
                kernel: 21,
                sigma: 3.0
            }
        );
        assert_eq!(parse("jpeg", 4).unwrap(), Task::Jpeg { quality: 50 });
        assert_eq!(
            parse("haze:beta=1", 4).unwrap(),
            Task::Haze {
                airlight: 0.9,
                beta: 1.0
            }
        );
        assert_eq!(
            parse("lowlight:gamma=2.5,scale=0.5,sigma=5", 4).unwrap(),
            Task::Lowlight {
                gamma: 2.5,
                scale: 0.5,
                sigma: 5.0
            }
        );
        for (bad, needle) in [
            ("jpeg:quality=0", "0"),
            ("jpeg:quality=101", "101"),
            ("jpeg:quality=high", "high"),
            ("blur:kernel=4", "4"),
            ("blur:radius=3", "radius"),
            ("haze:airlight=2", "2"),
            ("lowlight:gamma", "gamma"),
            ("deblur:k=3", "deblur"),
            ("dn:sigma=5", "--sigma"),
        ] {
            let e = parse(bad, 4).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
