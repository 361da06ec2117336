//! The networks: SRCNN, DnCNN, SRResNet (BasicSR's MSRResNet), EDSR (baseline) and RCAN
//! (global-pool or AP16 channel attention), with PyTorch's parameter names.

use super::layers::{conv, lrelu, shift_by_div2k_mean, ResBlock, Upsampler};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// SRCNN: bicubic upsampling (`align_corners=True`) by `scale` inside the network,
/// then conv 9x9 → ReLU → conv 5x5 → ReLU → conv 5x5 (`conv1..conv3`); scale 1 for
/// restoration.
#[derive(Debug)]
pub struct Srcnn {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    conv3: nn::Conv2D,
    scale: i64,
}

impl Srcnn {
    /// SRCNN with `feats` (64) and `feats / 2` channels.
    pub fn new(p: &nn::Path, feats: i64, scale: i64) -> Self {
        Srcnn {
            conv1: conv(p / "conv1", 3, feats, 9),
            conv2: conv(p / "conv2", feats, feats / 2, 5),
            conv3: conv(p / "conv3", feats / 2, 3, 5),
            scale,
        }
    }
}

impl Srcnn {
    /// SRCNN's first step, the authors' bicubic upsampling by `scale` with
    /// `align_corners=True` (the input itself at scale 1): all a fresh SRCNN can do,
    /// and the bar the shipped SRCNN-s is held to (`data/models/README.md`). It is
    /// misaligned with PIL's bicubic by up to `(scale - 1) / 2` output pixels at the
    /// image's edges.
    ///
    /// ```
    /// use cem::zoo::Srcnn;
    /// let x = tch::Tensor::ones([1, 3, 4, 5], (tch::Kind::Float, tch::Device::Cpu));
    /// assert_eq!(Srcnn::upsample(&x, 4).size(), vec![1, 3, 16, 20]);
    /// ```
    pub fn upsample(x: &Tensor, scale: i64) -> Tensor {
        if scale == 1 {
            x.shallow_clone()
        } else {
            let (h, w) = (x.size()[2], x.size()[3]);
            x.upsample_bicubic2d([h * scale, w * scale], true, None, None)
        }
    }
}

impl Module for Srcnn {
    fn forward(&self, x: &Tensor) -> Tensor {
        Srcnn::upsample(x, self.scale)
            .apply(&self.conv1)
            .relu()
            .apply(&self.conv2)
            .relu()
            .apply(&self.conv3)
    }
}

/// DnCNN (KAIR layout, `model.0 ... model.{2(depth-1)}`): conv → ReLU, depth - 2 times
/// conv → ReLU, conv; predicts the noise, returns `x - noise`.
#[derive(Debug)]
pub struct Dncnn {
    convs: Vec<nn::Conv2D>,
}

impl Dncnn {
    /// DnCNN with `depth` convolutions (20 for the colour blind model) of `feats`.
    pub fn new(p: &nn::Path, feats: i64, depth: usize) -> Self {
        let m = p / "model";
        let convs = (0..depth)
            .map(|i| {
                let c_in = if i == 0 { 3 } else { feats };
                let c_out = if i + 1 == depth { 3 } else { feats };
                conv(&m / (2 * i), c_in, c_out, 3)
            })
            .collect();
        Dncnn { convs }
    }
}

impl Module for Dncnn {
    fn forward(&self, x: &Tensor) -> Tensor {
        let last = self.convs.len() - 1;
        let noise = self
            .convs
            .iter()
            .enumerate()
            .fold(x.shallow_clone(), |h, (i, c)| {
                let h = h.apply(c);
                if i < last {
                    h.relu()
                } else {
                    h
                }
            });
        x - noise
    }
}

/// SRResNet as BasicSR's MSRResNet: `conv_first` → leaky ReLU, `blocks` residual
/// blocks (`body.i.conv1/conv2`), sub-pixel upsampling (`upconv1`, `upconv2`) with
/// leaky ReLU, `conv_hr` → leaky ReLU, `conv_last`, plus the bilinear upsampled input.
#[derive(Debug)]
pub struct SrResNet {
    conv_first: nn::Conv2D,
    body: Vec<ResBlock>,
    up: Upsampler,
    conv_hr: nn::Conv2D,
    conv_last: nn::Conv2D,
    scale: i64,
}

impl SrResNet {
    /// MSRResNet with `feats` channels and `blocks` residual blocks.
    pub fn new(p: &nn::Path, feats: i64, blocks: usize, scale: i64) -> Self {
        SrResNet {
            conv_first: conv(p / "conv_first", 3, feats, 3),
            body: (0..blocks)
                .map(|i| {
                    let b = p / "body" / i;
                    ResBlock::new(&b / "conv1", &b / "conv2", feats, 1.0)
                })
                .collect(),
            up: Upsampler::new(p, |i| format!("upconv{}", i + 1), feats, scale, true),
            conv_hr: conv(p / "conv_hr", feats, feats, 3),
            conv_last: conv(p / "conv_last", feats, 3, 3),
            scale,
        }
    }
}

impl Module for SrResNet {
    fn forward(&self, x: &Tensor) -> Tensor {
        let feat = lrelu(&x.apply(&self.conv_first));
        let out = self.body.iter().fold(feat, |h, b| b.forward(&h));
        let out = lrelu(&self.up.forward(&out).apply(&self.conv_hr)).apply(&self.conv_last);
        let base = if self.scale == 1 {
            x.shallow_clone()
        } else {
            let (h, w) = (x.size()[2], x.size()[3]);
            x.upsample_bilinear2d([h * self.scale, w * self.scale], false, None, None)
        };
        out + base
    }
}

/// EDSR (the original code's layout): `sub_mean` (1x1), `head.0`, `blocks` residual
/// blocks (`body.i.body.0/2`) and `body.{blocks}`, a long skip, the upsampler
/// (`tail.0.0`, `tail.0.2`, ...) and `tail.1`, then `add_mean`.
#[derive(Debug)]
pub struct Edsr {
    sub_mean: nn::Conv2D,
    add_mean: nn::Conv2D,
    head: nn::Conv2D,
    body: Vec<ResBlock>,
    body_last: nn::Conv2D,
    up: Upsampler,
    tail: nn::Conv2D,
}

impl Edsr {
    /// EDSR with `feats` channels, `blocks` residual blocks, `res_scale` (1 for the
    /// baseline, 0.1 for the large model).
    pub fn new(p: &nn::Path, feats: i64, blocks: usize, scale: i64, res_scale: f64) -> Self {
        let one = |name: &str, c_in, c_out| conv(p / name, c_in, c_out, 1);
        Edsr {
            sub_mean: one("sub_mean", 3, 3),
            add_mean: one("add_mean", 3, 3),
            head: conv(p / "head" / 0, 3, feats, 3),
            body: (0..blocks)
                .map(|i| {
                    let b = p / "body" / i / "body";
                    ResBlock::new(&b / 0, &b / 2, feats, res_scale)
                })
                .collect(),
            body_last: conv(p / "body" / blocks, feats, feats, 3),
            up: Upsampler::new(&(p / "tail" / 0), even, feats, scale, false),
            tail: conv(p / "tail" / 1, feats, 3, 3),
        }
    }
}

impl Module for Edsr {
    fn forward(&self, x: &Tensor) -> Tensor {
        let h = x.apply(&self.sub_mean).apply(&self.head);
        let r = self
            .body
            .iter()
            .fold(h.shallow_clone(), |t, b| b.forward(&t));
        let r = r.apply(&self.body_last) + h;
        self.up.forward(&r).apply(&self.tail).apply(&self.add_mean)
    }
}

/// How RCAN's channel attention pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Global average pooling to 1x1 (the original RCAN).
    Global,
    /// `AvgPool2d(k, stride k)` then nearest upsampling back (RCAN_AP16 for k = 16).
    Average(i64),
}

#[derive(Debug)]
struct Rcab {
    c1: nn::Conv2D,
    c2: nn::Conv2D,
    squeeze: nn::Conv2D,
    excite: nn::Conv2D,
    pooling: Pooling,
}

impl Module for Rcab {
    fn forward(&self, x: &Tensor) -> Tensor {
        let r = x.apply(&self.c1).relu().apply(&self.c2);
        let pooled = match self.pooling {
            Pooling::Global => r.mean_dim(&[2i64, 3][..], true, Kind::Float),
            Pooling::Average(k) => r.avg_pool2d([k, k], [k, k], [0, 0], false, true, None::<i64>),
        };
        let mut y = pooled
            .apply(&self.squeeze)
            .relu()
            .apply(&self.excite)
            .sigmoid();
        if let Pooling::Average(_) = self.pooling {
            let (h, w) = (r.size()[2], r.size()[3]);
            y = y.upsample_nearest2d([h, w], None, None);
        }
        x + r * y
    }
}

/// RCAN (BasicSR layout): `conv_first`, `groups` residual groups of `blocks` RCABs
/// (`body.g.residual_group.b.rcab.{0,2}`, attention `rcab.3.attention.{1,3}`) each
/// closed by `body.g.conv`, `conv_after_body`, the upsampler (`upsample.0`, `.2`),
/// `conv_last`; inputs scaled to 0-255 around the DIV2K mean as BasicSR does.
#[derive(Debug)]
pub struct Rcan {
    conv_first: nn::Conv2D,
    groups: Vec<(Vec<Rcab>, nn::Conv2D)>,
    conv_after_body: nn::Conv2D,
    up: Upsampler,
    conv_last: nn::Conv2D,
}

impl Rcan {
    /// RCAN with `feats` channels, `groups` x `blocks` RCABs, attention reduction
    /// `squeeze` (16), and the given pooling.
    pub fn new(
        p: &nn::Path,
        feats: i64,
        groups: usize,
        blocks: usize,
        squeeze: i64,
        scale: i64,
        pooling: Pooling,
    ) -> Self {
        let groups = (0..groups)
            .map(|g| {
                let gp = p / "body" / g;
                let rcabs = (0..blocks)
                    .map(|b| {
                        let r = &gp / "residual_group" / b / "rcab";
                        let att = &r / 3 / "attention";
                        Rcab {
                            c1: conv(&r / 0, feats, feats, 3),
                            c2: conv(&r / 2, feats, feats, 3),
                            squeeze: conv(&att / 1, feats, feats / squeeze, 1),
                            excite: conv(&att / 3, feats / squeeze, feats, 1),
                            pooling,
                        }
                    })
                    .collect();
                (rcabs, conv(&gp / "conv", feats, feats, 3))
            })
            .collect();
        Rcan {
            conv_first: conv(p / "conv_first", 3, feats, 3),
            groups,
            conv_after_body: conv(p / "conv_after_body", feats, feats, 3),
            up: Upsampler::new(&(p / "upsample"), even, feats, scale, false),
            conv_last: conv(p / "conv_last", feats, 3, 3),
        }
    }
}

impl Module for Rcan {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = shift_by_div2k_mean(x, -1.0) * 255.0;
        let h = x.apply(&self.conv_first);
        let mut r = h.shallow_clone();
        for (rcabs, c) in &self.groups {
            let g = rcabs.iter().fold(r.shallow_clone(), |t, b| b.forward(&t));
            r = g.apply(c) + r;
        }
        let r = r.apply(&self.conv_after_body) + h;
        shift_by_div2k_mean(&(self.up.forward(&r).apply(&self.conv_last) / 255.0), 1.0)
    }
}

/// Step names `0`, `2`, `4`, ...: a `Sequential` of (conv, pixel shuffle) pairs.
fn even(i: usize) -> String {
    (2 * i).to_string()
}
