//! Small building blocks shared by the networks, named as in PyTorch so state_dict keys
//! map one to one (`body.0.conv1.weight` is `vs / "body" / 0 / "conv1"`).

use tch::nn::{self, Module};
use tch::Tensor;

/// A 3x3 (or `k`x`k`) convolution with "same" padding and bias, as `nn.Conv2d(c_in,
/// c_out, k, padding=k//2)`.
pub fn conv(p: nn::Path, c_in: i64, c_out: i64, k: i64) -> nn::Conv2D {
    nn::conv2d(
        p,
        c_in,
        c_out,
        k,
        nn::ConvConfig {
            padding: k / 2,
            ..Default::default()
        },
    )
}

/// `F.leaky_relu(x, 0.1)`, BasicSR's activation.
pub fn lrelu(x: &Tensor) -> Tensor {
    x.maximum(&(x * 0.1))
}

/// Two convolutions with a ReLU between, added to the input: BasicSR's
/// `ResidualBlockNoBN` (`conv1`, `conv2`) and EDSR's `ResBlock` (`body.0`, `body.2`).
#[derive(Debug)]
pub struct ResBlock {
    a: nn::Conv2D,
    b: nn::Conv2D,
    res_scale: f64,
}

impl ResBlock {
    /// A block whose two convolutions live at `a` and `b`.
    pub fn new(a: nn::Path, b: nn::Path, feats: i64, res_scale: f64) -> Self {
        ResBlock {
            a: conv(a, feats, feats, 3),
            b: conv(b, feats, feats, 3),
            res_scale,
        }
    }
}

impl Module for ResBlock {
    fn forward(&self, x: &Tensor) -> Tensor {
        let r = x.apply(&self.a).relu().apply(&self.b);
        if self.res_scale == 1.0 {
            x + r
        } else {
            x + r * self.res_scale
        }
    }
}

/// Sub-pixel upsampling by `scale` (2, 3, 4 or 8): for 2^n, n times a conv to 4x
/// channels then a pixel shuffle by 2; for 3 once to 9x then by 3. `name(i)` names
/// the i-th convolution under `p` (e.g. `0`, `2` for `upsample.0`, `upsample.2`).
/// With `leaky`, MSRResNet's leaky ReLU runs after each shuffle.
#[derive(Debug)]
pub struct Upsampler {
    steps: Vec<(nn::Conv2D, i64)>,
    leaky: bool,
}

impl Upsampler {
    /// Builds the upsampler.
    pub fn new(
        p: &nn::Path,
        name: impl Fn(usize) -> String,
        feats: i64,
        scale: i64,
        leaky: bool,
    ) -> Self {
        let steps = factors(scale)
            .into_iter()
            .enumerate()
            .map(|(i, f)| (conv(p / name(i), feats, feats * f * f, 3), f))
            .collect();
        Upsampler { steps, leaky }
    }
}

/// The pixel-shuffle factors of each step for `scale`.
fn factors(scale: i64) -> Vec<i64> {
    match scale {
        1 => vec![],
        3 => vec![3],
        s if s > 0 && (s & (s - 1)) == 0 => {
            std::iter::repeat_n(2, s.trailing_zeros() as usize).collect()
        }
        _ => vec![scale],
    }
}

/// The DIV2K RGB mean that BasicSR's RCAN and SwinIR subtract.
const DIV2K_MEAN: [f64; 3] = [0.4488, 0.4371, 0.4040];

/// `x + sign * DIV2K_MEAN` per channel, with scalar arithmetic only (a traced tensor
/// constant makes an exported TorchScript harder to load).
pub fn shift_by_div2k_mean(x: &Tensor, sign: f64) -> Tensor {
    let parts: Vec<Tensor> = x
        .split(1, 1)
        .iter()
        .zip(DIV2K_MEAN)
        .map(|(c, m)| c + sign * m)
        .collect();
    Tensor::cat(&parts, 1)
}

impl Module for Upsampler {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.steps.iter().fold(x.shallow_clone(), |h, (c, f)| {
            let h = h.apply(c).pixel_shuffle(*f);
            if self.leaky {
                lrelu(&h)
            } else {
                h
            }
        })
    }
}
