//! The small trained models shipped in `data/models/` (embedded in the crate), so the
//! demo, tests and notebooks have real networks without downloads. Their model cards
//! are in `data/models/README.md`.

use super::{Arch, NetConfig, Network};
use crate::error::{Error, Result};
use tch::Device;

/// A shipped model: its name, architecture and size, and weights.
struct Entry {
    name: &'static str,
    config: fn() -> NetConfig,
    weights: &'static [u8],
}

const ENTRIES: [Entry; 2] = [
    Entry {
        name: "dncnn-s-dn50",
        config: || NetConfig::new(Arch::Dncnn, 1).feats(32).blocks(10),
        weights: include_bytes!("../../data/models/dncnn-s-dn50.safetensors"),
    },
    Entry {
        name: "srresnet-s-x4",
        config: || NetConfig::new(Arch::SrResNet, 4).feats(32).blocks(6),
        weights: include_bytes!("../../data/models/srresnet-s-x4.safetensors"),
    },
];

/// Names of the shipped models: `dncnn-s-dn50` (DN, sigma 50) and `srresnet-s-x4`
/// (SR x4).
pub fn shipped_names() -> impl Iterator<Item = &'static str> {
    ENTRIES.iter().map(|e| e.name)
}

/// Loads a shipped model by name onto `device`.
pub fn shipped(name: &str, device: Device) -> Result<Network> {
    let entry = ENTRIES.iter().find(|e| e.name == name).ok_or_else(|| {
        let names: Vec<&str> = shipped_names().collect();
        Error::invalid(
            "shipped model",
            name,
            format!("expected one of {}", names.join(", ")),
        )
    })?;
    // unique per call: threads of one process may load the same model at once
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let tmp = std::env::temp_dir().join(format!(
        "cem-{}-{}-{}.safetensors",
        entry.name,
        std::process::id(),
        CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&tmp, entry.weights).map_err(|e| Error::io(&tmp, e))?;
    let net = Network::load((entry.config)(), &tmp, device);
    let _ = std::fs::remove_file(&tmp);
    Ok(net?.with_name(entry.name))
}
