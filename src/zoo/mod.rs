//! Native networks in `tch`, usable by the engine like any model, with PyTorch weights.
//!
//! The paper's representative architectures with PyTorch's parameter names, so a
//! state_dict loads one to one: [`Arch::Srcnn`], [`Arch::Dncnn`], [`Arch::SrResNet`]
//! (BasicSR's MSRResNet), [`Arch::Edsr`] (baseline), [`Arch::Rcan`] and
//! [`Arch::RcanAp16`] (Fig. 9a) and [`Arch::SwinIr`] (the lightweight configuration by
//! default); and the authors' scale-1 networks for mixed (SR + DN + DR) and
//! Multiple-In-One training (Figs. 12, 13), which take an SR input already upsampled to
//! the output size: [`Arch::SrResNetMix`] (`SRResNet_mix`, also `SRResNet_MIO`: no
//! upsampler, the input added back), [`Arch::RcanMix`] (`RCAN_mix`: no upsampler and no
//! residual from the input image) and [`Arch::SwinIrMix`] (`SwinIR_mix`, also
//! `SwinIR_MIO`: the classical pixel-shuffle head kept at scale 1, no residual from the
//! input image). Weights come from safetensors, or from `.pth`
//! checkpoints through the project's Python torch (libtorch's C++ loader reads neither
//! legacy `.pth` files nor PyTorch 2.x state_dicts); see [`convert_weights`].
//!
//! ```no_run
//! use cem::zoo::{Arch, NetConfig, Network};
//! # fn main() -> cem::Result<()> {
//! let mut net = Network::load(NetConfig::new(Arch::SrResNet, 4), "msrresnet_x4.pth", tch::Device::Cpu)?;
//! net.export_torchscript("msrresnet_x4.pt", 64)?;   // for PyTorch users
//! # Ok(()) }
//! ```

mod authors;
mod layers;
mod nets;
mod shipped;
mod swinir;
mod weights;

pub use authors::{authors_checkpoint, AuthorsCheckpoint, AUTHORS_CHECKPOINTS};
pub use nets::{Dncnn, Edsr, Pooling, Rcan, SrResNet, Srcnn};
pub use shipped::{
    models_dir, shipped, shipped_family, shipped_info, shipped_names, ShippedModel, MODELS_ENV,
};
pub use swinir::SwinIr;
pub use weights::{convert_weights, load_into, python, ConvertOptions};

use crate::error::{Error, Result};
use crate::model::Model;
use std::path::Path;
use tch::nn::{self, Module};
use tch::{Device, Tensor};

/// An architecture of the zoo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// SRCNN (three convolutions after a bicubic upsampling).
    Srcnn,
    /// DnCNN (residual noise prediction, KAIR layout).
    Dncnn,
    /// SRResNet as BasicSR's MSRResNet.
    SrResNet,
    /// EDSR.
    Edsr,
    /// RCAN with global-average-pool channel attention.
    Rcan,
    /// RCAN with 16x16 average-pool channel attention (RCAN_AP16, Fig. 9a).
    RcanAp16,
    /// SwinIR (6 heads, 8x8 windows, MLP ratio 2).
    SwinIr,
    /// The authors' `SRResNet_mix` (and `SRResNet_MIO`): MSRResNet at scale 1 with no
    /// upsampler, the input added to the output.
    #[serde(rename = "srresnet_mix")]
    SrResNetMix,
    /// The authors' `RCAN_mix`: RCAN at scale 1 with no upsampler (the long skip from
    /// `conv_first`, no residual from the input image).
    #[serde(rename = "rcan_mix")]
    RcanMix,
    /// The authors' `SwinIR_mix` (and `SwinIR_MIO`): SwinIR's body with the classical
    /// pixel-shuffle head at scale 1 ([`SwinIr::mix`]).
    #[serde(rename = "swinir_mix")]
    SwinIrMix,
}

impl Arch {
    /// All architectures.
    pub const ALL: [Arch; 10] = [
        Arch::Srcnn,
        Arch::Dncnn,
        Arch::SrResNet,
        Arch::Edsr,
        Arch::Rcan,
        Arch::RcanAp16,
        Arch::SwinIr,
        Arch::SrResNetMix,
        Arch::RcanMix,
        Arch::SwinIrMix,
    ];

    /// Parses `srcnn`, `dncnn`, `srresnet` (or `msrresnet`), `edsr`, `rcan`,
    /// `rcan_ap16`, `swinir`, `srresnet_mix` (or `srresnet_mio`), `rcan_mix`,
    /// `swinir_mix` (or `swinir_mio`); case and `-`/`_` do not matter.
    ///
    /// ```
    /// use cem::zoo::Arch;
    /// assert_eq!(Arch::parse("SwinIR-MIO").unwrap(), Arch::SwinIrMix);
    /// assert!(Arch::parse("swin").is_err());
    /// ```
    pub fn parse(name: &str) -> Result<Arch> {
        match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "srcnn" => Ok(Arch::Srcnn),
            "dncnn" => Ok(Arch::Dncnn),
            "srresnet" | "msrresnet" => Ok(Arch::SrResNet),
            "edsr" => Ok(Arch::Edsr),
            "rcan" => Ok(Arch::Rcan),
            "rcan_ap16" | "rcanap16" => Ok(Arch::RcanAp16),
            "swinir" => Ok(Arch::SwinIr),
            "srresnet_mix" | "srresnet_mio" => Ok(Arch::SrResNetMix),
            "rcan_mix" => Ok(Arch::RcanMix),
            "swinir_mix" | "swinir_mio" => Ok(Arch::SwinIrMix),
            _ => Err(Error::invalid(
                "arch",
                name,
                "expected srcnn, dncnn, srresnet, edsr, rcan, rcan_ap16, swinir, \
                 srresnet_mix, rcan_mix or swinir_mix",
            )),
        }
    }

    /// The name [`Arch::parse`] reads.
    pub fn name(&self) -> &'static str {
        match self {
            Arch::Srcnn => "srcnn",
            Arch::Dncnn => "dncnn",
            Arch::SrResNet => "srresnet",
            Arch::Edsr => "edsr",
            Arch::Rcan => "rcan",
            Arch::RcanAp16 => "rcan_ap16",
            Arch::SwinIr => "swinir",
            Arch::SrResNetMix => "srresnet_mix",
            Arch::RcanMix => "rcan_mix",
            Arch::SwinIrMix => "swinir_mix",
        }
    }

    /// Whether every output pixel depends on the whole input: RCAN's and RCAN_mix's
    /// channel attention average-pools each feature map over the whole image (RCAN_AP16
    /// pools 16x16 windows and stays local). Every intervention on such a network is a
    /// whole-image pass ([`crate::engine`]'s locality crop cannot shrink it), so its maps
    /// cost minutes on a CPU where the local networks' cost seconds.
    ///
    /// ```
    /// use cem::zoo::Arch;
    /// assert!(Arch::Rcan.pools_globally() && Arch::RcanMix.pools_globally());
    /// assert!(!Arch::RcanAp16.pools_globally() && !Arch::SwinIr.pools_globally());
    /// ```
    pub fn pools_globally(&self) -> bool {
        matches!(self, Arch::Rcan | Arch::RcanMix)
    }

    /// Whether the architecture only restores at scale 1 (DnCNN and the authors'
    /// mixed networks).
    pub fn scale_one_only(&self) -> bool {
        matches!(
            self,
            Arch::Dncnn | Arch::SrResNetMix | Arch::RcanMix | Arch::SwinIrMix
        )
    }
}

/// An architecture and its size. [`NetConfig::new`] gives the published sizes; the
/// builder methods shrink them (small models for tests and CPUs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetConfig {
    /// The architecture.
    pub arch: Arch,
    /// Upscaling factor; 1 for denoising and deraining.
    pub scale: i64,
    /// Feature channels.
    pub feats: i64,
    /// Residual blocks (SRResNet, EDSR), blocks per group (RCAN), or convolutions
    /// (DnCNN).
    pub blocks: usize,
    /// Residual groups (RCAN), residual Swin Transformer blocks (SwinIR).
    pub groups: usize,
}

impl NetConfig {
    /// The published size: SRCNN 64; DnCNN 64 x 20 (the colour blind model);
    /// SRResNet and EDSR baseline 64 x 16; RCAN 64, 10 groups x 20 blocks; SwinIR
    /// lightweight, 60 channels, 4 groups x 6 blocks. The mixed networks as the CEM
    /// authors build them: SRResNet_mix 64 x 16; RCAN_mix 64, 10 groups x 16 blocks;
    /// SwinIR_mix 180 channels, 6 groups x 6 blocks.
    pub fn new(arch: Arch, scale: i64) -> Self {
        let (feats, blocks, groups) = match arch {
            Arch::Srcnn => (64, 0, 0),
            Arch::Dncnn => (64, 20, 0),
            Arch::SrResNet | Arch::Edsr | Arch::SrResNetMix => (64, 16, 0),
            Arch::Rcan | Arch::RcanAp16 => (64, 20, 10),
            Arch::RcanMix => (64, 16, 10),
            Arch::SwinIr => (60, 6, 4),
            Arch::SwinIrMix => (180, 6, 6),
        };
        NetConfig {
            arch,
            scale,
            feats,
            blocks,
            groups,
        }
    }

    /// Sets the feature channels.
    pub fn feats(mut self, feats: i64) -> Self {
        self.feats = feats;
        self
    }

    /// Sets the blocks (per group for RCAN; convolutions for DnCNN).
    pub fn blocks(mut self, blocks: usize) -> Self {
        self.blocks = blocks;
        self
    }

    /// Sets RCAN's residual groups.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    fn check(&self) -> Result<()> {
        if !(1..=8).contains(&self.scale) {
            return Err(Error::invalid("scale", self.scale, "must be 1 to 8"));
        }
        if self.arch.scale_one_only() && self.scale != 1 {
            return Err(Error::invalid(
                "scale",
                self.scale,
                format!(
                    "{} restores at scale 1 (SR inputs upsampled to the output size first)",
                    self.arch.name()
                ),
            ));
        }
        if self.feats < 4 {
            return Err(Error::invalid("feats", self.feats, "must be at least 4"));
        }
        if matches!(self.arch, Arch::Rcan | Arch::RcanAp16 | Arch::RcanMix) && self.feats % 16 != 0
        {
            return Err(Error::invalid(
                "feats",
                self.feats,
                "RCAN's attention squeezes by 16: use a multiple of 16",
            ));
        }
        if matches!(self.arch, Arch::SwinIr | Arch::SwinIrMix) && self.feats % 6 != 0 {
            return Err(Error::invalid(
                "feats",
                self.feats,
                "SwinIR has 6 heads: use a multiple of 6",
            ));
        }
        if self.arch == Arch::Dncnn && self.blocks < 2 {
            return Err(Error::invalid(
                "blocks",
                self.blocks,
                "DnCNN needs at least 2 convolutions",
            ));
        }
        Ok(())
    }

    fn build(&self, p: &nn::Path) -> Box<dyn Module> {
        let (f, b, s) = (self.feats, self.blocks, self.scale);
        match self.arch {
            Arch::Srcnn => Box::new(Srcnn::new(p, f, s)),
            Arch::Dncnn => Box::new(Dncnn::new(p, f, b)),
            Arch::SrResNet => Box::new(SrResNet::new(p, f, b, s)),
            Arch::Edsr => Box::new(Edsr::new(p, f, b, s, 1.0)),
            Arch::Rcan => Box::new(Rcan::new(p, f, self.groups, b, 16, s, Pooling::Global)),
            Arch::RcanAp16 => {
                Box::new(Rcan::new(p, f, self.groups, b, 16, s, Pooling::Average(16)))
            }
            Arch::SwinIr => Box::new(SwinIr::new(p, f, self.groups, b, 6, 8, 2, s)),
            Arch::SrResNetMix => Box::new(SrResNet::new(p, f, b, s)),
            Arch::RcanMix => Box::new(Rcan::new(p, f, self.groups, b, 16, s, Pooling::Global)),
            Arch::SwinIrMix => Box::new(SwinIr::mix(p, f, self.groups, b, 6, 8, 2, s)),
        }
    }
}

/// A native network with its variables: a [`Model`] for the engine.
pub struct Network {
    vs: nn::VarStore,
    module: Box<dyn Module>,
    config: NetConfig,
    name: String,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Network({}, {:?}, {} parameters)",
            self.name,
            self.config,
            self.parameters()
        )
    }
}

impl Network {
    /// A freshly initialised network (PyTorch's default initialisation; seed with
    /// `tch::manual_seed` first for reproducibility).
    pub fn new(config: NetConfig, device: Device) -> Result<Self> {
        config.check()?;
        let vs = nn::VarStore::new(device);
        let module = config.build(&vs.root());
        if matches!(config.arch, Arch::SrResNet | Arch::SrResNetMix) {
            // BasicSR's MSRResNet initialisation: every convolution's default weights
            // scaled by 0.1, biases 0 (else the fresh network's output is far off)
            tch::no_grad(|| {
                for (name, mut var) in vs.variables() {
                    if name.ends_with(".bias") {
                        let _ = var.zero_();
                    } else {
                        let _ = var.g_mul_scalar_(0.1);
                    }
                }
            });
        } else {
            init_like_pytorch(&vs, config.arch);
        }
        let name = format!("{}_x{}", config.arch.name(), config.scale);
        Ok(Network {
            vs,
            module,
            config,
            name,
        })
    }

    /// The network with weights from `path` (`.safetensors`, or a `.pth` checkpoint
    /// converted on the fly).
    pub fn load(config: NetConfig, path: impl AsRef<Path>, device: Device) -> Result<Self> {
        let path = path.as_ref();
        let mut net = Network::new(config, device)?;
        load_into(&mut net.vs, path)?;
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            net.name = stem.to_string();
        }
        Ok(net)
    }

    /// Renames the network (the name maps and tables show).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Its configuration.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// Its variables (for training).
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Its variables, mutably.
    pub fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }

    /// Number of trainable values.
    pub fn parameters(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }

    /// A digest of the weights: FNV-1a over every variable's name and float32 values, in
    /// name order, as 16 hex digits. Two networks with the same weights share it; a
    /// retrained one almost surely does not (a cached sweep uses it to refuse stale maps).
    pub fn weights_digest(&self) -> Result<String> {
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut bytes: Vec<u8> = vec![];
        for (name, t) in vars {
            bytes.extend_from_slice(name.as_bytes());
            let values: Vec<f32> = Vec::try_from(
                t.detach()
                    .to_device(Device::Cpu)
                    .to_kind(tch::Kind::Float)
                    .flatten(0, -1),
            )?;
            for v in values {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        Ok(crate::engine::checkpoint::fnv1a(&bytes))
    }

    /// The forward pass with gradients (for training); [`Model::forward`] runs without.
    pub fn forward_t(&self, x: &Tensor) -> Tensor {
        self.module.forward(x)
    }

    /// Saves the weights as safetensors (PyTorch's key names).
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
            return Err(Error::invalid(
                "weights file",
                path.display(),
                "must end in .safetensors",
            ));
        }
        self.vs.save(path).map_err(Error::from)
    }

    /// Exports to TorchScript by tracing on a `1 x 3 x side x side` input, so PyTorch
    /// users can `torch.jit.load` it (and `cem map --model` can run it).
    /// The weights are traced as constants, so they are frozen while tracing.
    pub fn export_torchscript(&mut self, path: impl AsRef<Path>, side: i64) -> Result<()> {
        let example = Tensor::rand([1, 3, side, side], (tch::Kind::Float, self.vs.device()));
        self.vs.freeze();
        // saved while frozen: the traced constants share the variables' storage
        let saved = {
            let module = &self.module;
            let mut closure = |inputs: &[Tensor]| vec![module.forward(&inputs[0])];
            // TorchScript module names are identifiers: `srresnet-s-x4` saves but does not load
            let modname: String = self
                .name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            tch::CModule::create_by_tracing(&modname, "forward", &[example], &mut closure)
                .and_then(|m| m.save(path.as_ref()))
        };
        self.vs.unfreeze();
        saved.map_err(Error::from)
    }
}

impl Model for Network {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        let _guard = tch::no_grad_guard();
        crate::model::guarded(|| Ok(self.module.forward(input)))
    }

    fn forward_grad(&self, input: &Tensor) -> Result<Tensor> {
        tch::with_grad(|| crate::model::guarded(|| Ok(self.module.forward(input))))
    }

    fn device(&self) -> Device {
        self.vs.device()
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn feature_channels(&self) -> Option<i64> {
        Some(self.config().feats)
    }
}

/// PyTorch's default initialisation, which the authors' training starts from, for the
/// networks without one of their own. `nn.Conv2d` draws from kaiming-uniform with
/// `a = sqrt(5)` (bound `1/sqrt(fan_in)`) where tch's default has the ReLU gain (bound
/// `sqrt(6/fan_in)`), so convolution weights are scaled by `1/sqrt(6)`; with tch's
/// bound, RCAN's 0-255 residual chain starts with outputs hundreds of levels off and
/// a few thousand CPU steps do not recover. SwinIR's linear layers are drawn from
/// N(0, 0.02) with zero biases (its `_init_weights`). EDSR's `sub_mean`/`add_mean`
/// start as the identity shifted by the DIV2K mean (the original `MeanShift`).
fn init_like_pytorch(vs: &nn::VarStore, arch: Arch) {
    let swin = matches!(arch, Arch::SwinIr | Arch::SwinIrMix);
    tch::no_grad(|| {
        for (name, mut var) in vs.variables() {
            let weight = name.ends_with(".weight");
            if arch == Arch::Edsr && (name.starts_with("sub_mean") || name.starts_with("add_mean"))
            {
                let sign = if name.starts_with("sub_mean") {
                    -1.0
                } else {
                    1.0
                };
                if weight {
                    let eye = Tensor::eye(3, (tch::Kind::Float, var.device())).view([3, 3, 1, 1]);
                    var.copy_(&eye);
                } else {
                    let mean = Tensor::from_slice(&[0.4488f32, 0.4371, 0.4040]).to(var.device());
                    var.copy_(&(mean * sign));
                }
            } else if weight && var.dim() == 4 {
                let _ = var.g_mul_scalar_(1.0 / 6f64.sqrt());
            } else if swin && weight && var.dim() == 2 {
                let _ = var.normal_(0.0, 0.02);
            } else if swin && name.ends_with(".bias") && !name.contains("norm") {
                let _ = var.zero_();
            }
        }
    });
}
