//! The authors' checkpoints that `cem::zoo` builds natively: their `ModelZoo` names and
//! file names (`CEM_Demo/ModelZoo/__init__.py`), with the zoo architecture, scale and
//! task of each. One table serves the study runner (`cem study` with `CEM_WEIGHTS`)
//! and the notebooks' sweeps ([`crate::sweep::authors_subjects`]).
//!
//! The architectures are the published sizes ([`super::NetConfig::new`]). SwinIR's
//! classical SR model (180 channels, 6 x 6 blocks) is not here: the zoo's lightweight
//! head does not load it; export it to TorchScript instead.
//!
//! ```
//! use cem::zoo::{authors_checkpoint, Arch};
//! let mio = authors_checkpoint("SwinIR_MIO").unwrap();
//! assert_eq!((mio.arch, mio.file, mio.task), (Arch::SwinIrMix, "SwinIR_M.pth", "mixed"));
//! assert!(authors_checkpoint("HAT").is_none());
//! ```

use super::Arch;

/// One of the authors' checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorsCheckpoint {
    /// The `ModelZoo` name (`RCAN_DN`).
    pub name: &'static str,
    /// The zoo architecture its weights load into.
    pub arch: Arch,
    /// Its scale (1 for restoration and the mixed networks).
    pub scale: i64,
    /// What it was trained for: `sr` (x4), `dn` (sigma 50), `dr`, or `mixed` (SR as
    /// `sr-up`, DN and DR; also the multiple-in-one networks).
    pub task: &'static str,
    /// The checkpoint's file name.
    pub file: &'static str,
}

const fn ckpt(
    name: &'static str,
    arch: Arch,
    scale: i64,
    task: &'static str,
    file: &'static str,
) -> AuthorsCheckpoint {
    AuthorsCheckpoint {
        name,
        arch,
        scale,
        task,
        file,
    }
}

/// Every authors' checkpoint the zoo builds, by `ModelZoo` name.
pub const AUTHORS_CHECKPOINTS: [AuthorsCheckpoint; 14] = [
    ckpt("SRCNN", Arch::Srcnn, 4, "sr", "SRCNN_15000.pth"),
    ckpt("EDSR", Arch::Edsr, 4, "sr", "EDSR-64-16_15000.pth"),
    ckpt(
        "SRResNet",
        Arch::SrResNet,
        4,
        "sr",
        "MSRResNet_net_g_1000000.pth",
    ),
    ckpt(
        "RCAN_pooling16",
        Arch::RcanAp16,
        4,
        "sr",
        "RCAN_pooling16.pth",
    ),
    ckpt("DnCNN", Arch::Dncnn, 1, "dn", "dncnn_color_blind.pth"),
    ckpt("SRResNet_DN", Arch::SrResNet, 1, "dn", "SRResNet_DN.pth"),
    ckpt("RCAN_DN", Arch::Rcan, 1, "dn", "RCAN_DN.pth"),
    ckpt("SRResNet_DR", Arch::SrResNet, 1, "dr", "SRResNet_DR.pth"),
    ckpt("RCAN_DR", Arch::Rcan, 1, "dr", "RCAN_DR.pth"),
    ckpt(
        "SRResNet_mix",
        Arch::SrResNetMix,
        1,
        "mixed",
        "mix_SRResNet.pth",
    ),
    ckpt("RCAN_mix", Arch::RcanMix, 1, "mixed", "mix_RCAN.pth"),
    ckpt("SwinIR_mix", Arch::SwinIrMix, 1, "mixed", "mix_SwinIR.pth"),
    // the multiple-in-one networks (Kong et al.) in the same architectures
    ckpt(
        "SRResNet_MIO",
        Arch::SrResNetMix,
        1,
        "mixed",
        "SRResNet_M.pth",
    ),
    ckpt("SwinIR_MIO", Arch::SwinIrMix, 1, "mixed", "SwinIR_M.pth"),
];

/// The authors' checkpoint of this `ModelZoo` name, if the zoo builds it.
pub fn authors_checkpoint(name: &str) -> Option<&'static AuthorsCheckpoint> {
    AUTHORS_CHECKPOINTS.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_files_are_unique_and_scales_match_the_architectures() {
        for (i, a) in AUTHORS_CHECKPOINTS.iter().enumerate() {
            for b in &AUTHORS_CHECKPOINTS[i + 1..] {
                assert!(a.name != b.name && a.file != b.file, "{a:?} / {b:?}");
            }
            if a.arch.scale_one_only() {
                assert_eq!(a.scale, 1, "{a:?}");
            }
            assert_eq!(a.scale == 4, a.task == "sr", "{a:?}");
        }
    }
}
