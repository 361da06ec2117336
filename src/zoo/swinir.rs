//! SwinIR (Liang et al.), as its official code computes it: residual Swin Transformer
//! blocks (window attention with a relative position bias, shifted windows with the
//! attention mask), the lightweight configuration's pixel-shuffle-direct upsampler,
//! and, at scale 1, a residual `conv_last` head; and the CEM authors' `SwinIR_mix`
//! (the same body with the classical pixel-shuffle head, kept at scale 1, and no
//! residual from the input image). Parameter names as the official state_dict; its
//! buffers (`relative_position_index`, `attn_mask`) are recomputed for every input
//! size rather than loaded.

use super::layers::{conv, shift_by_div2k_mean, Upsampler};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

#[derive(Debug)]
struct Attention {
    qkv: nn::Linear,
    proj: nn::Linear,
    table: Tensor,
    heads: i64,
}

impl Attention {
    /// `x`: windows x N x C; `mask`: windows-per-image x N x N (or none).
    fn forward(&self, x: &Tensor, mask: Option<&Tensor>, index: &Tensor) -> Tensor {
        let (b, n, c) = x.size3().expect("3-d window batch");
        let hd = c / self.heads;
        let qkv = x
            .apply(&self.qkv)
            .reshape([b, n, 3, self.heads, hd])
            .permute([2, 0, 3, 1, 4]);
        let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
        let q = q * (hd as f64).powf(-0.5);
        let mut attn = q.matmul(&k.transpose(-2, -1));
        let bias = self
            .table
            .index_select(0, index)
            .view([n, n, -1])
            .permute([2, 0, 1])
            .contiguous();
        attn += bias.unsqueeze(0);
        if let Some(mask) = mask {
            let nw = mask.size()[0];
            attn = attn.view([b / nw, nw, self.heads, n, n]) + mask.unsqueeze(1).unsqueeze(0);
            attn = attn.view([-1, self.heads, n, n]);
        }
        let attn = attn.softmax(-1, Kind::Float);
        attn.matmul(&v)
            .transpose(1, 2)
            .reshape([b, n, c])
            .apply(&self.proj)
    }
}

/// The official `relative_position_index`, flattened: for window positions `i`, `j`,
/// `(hi - hj + ws - 1) * (2 ws - 1) + (wi - wj + ws - 1)`.
fn relative_index(ws: i64, device: Device) -> Tensor {
    let n = ws * ws;
    let idx: Vec<i64> = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            let (hi, wi, hj, wj) = (i / ws, i % ws, j / ws, j % ws);
            (hi - hj + ws - 1) * (2 * ws - 1) + (wi - wj + ws - 1)
        })
        .collect();
    Tensor::from_slice(&idx).to_device(device)
}

/// The official `calculate_mask` for an `h x w` feature map: -100 between positions of
/// a shifted window that come from different image regions, 0 elsewhere.
fn shift_mask(h: i64, w: i64, ws: i64, shift: i64, device: Device) -> Tensor {
    let region = |v: i64, size: i64| {
        if v < size - ws {
            0
        } else if v < size - shift {
            1
        } else {
            2
        }
    };
    let (nh, nw) = (h / ws, w / ws);
    let n = ws * ws;
    let mut out = Vec::with_capacity((nh * nw * n * n) as usize);
    for wy in 0..nh {
        for wx in 0..nw {
            let ids: Vec<i64> = (0..n)
                .map(|p| {
                    let (y, x) = (wy * ws + p / ws, wx * ws + p % ws);
                    region(y, h) * 3 + region(x, w)
                })
                .collect();
            for i in 0..n as usize {
                for j in 0..n as usize {
                    out.push(if ids[i] == ids[j] { 0.0f32 } else { -100.0 });
                }
            }
        }
    }
    Tensor::from_slice(&out)
        .view([nh * nw, n, n])
        .to_device(device)
}

fn window_partition(x: &Tensor, ws: i64) -> Tensor {
    let (b, h, w, c) = x.size4().expect("B H W C");
    x.view([b, h / ws, ws, w / ws, ws, c])
        .permute([0, 1, 3, 2, 4, 5])
        .contiguous()
        .view([-1, ws * ws, c])
}

fn window_reverse(windows: &Tensor, ws: i64, h: i64, w: i64) -> Tensor {
    let c = windows.size()[2];
    let b = windows.size()[0] / (h * w / ws / ws);
    windows
        .view([b, h / ws, w / ws, ws, ws, c])
        .permute([0, 1, 3, 2, 4, 5])
        .contiguous()
        .view([b, h, w, c])
}

#[derive(Debug)]
struct Block {
    norm1: nn::LayerNorm,
    attn: Attention,
    norm2: nn::LayerNorm,
    fc1: nn::Linear,
    fc2: nn::Linear,
    window: i64,
    shift: i64,
}

impl Block {
    /// `mask`: the shift mask for this feature size (used by shifted blocks only).
    fn forward(&self, x: &Tensor, h: i64, w: i64, mask: &Tensor, index: &Tensor) -> Tensor {
        let (b, l, c) = x.size3().expect("B L C");
        let ws = self.window;
        let t = x.apply(&self.norm1).view([b, h, w, c]);
        let t = if self.shift > 0 {
            t.roll([-self.shift, -self.shift], [1, 2])
        } else {
            t
        };
        let windows = window_partition(&t, ws);
        let mask = (self.shift > 0).then_some(mask);
        let attended = self.attn.forward(&windows, mask, index);
        let t = window_reverse(&attended, ws, h, w);
        let t = if self.shift > 0 {
            t.roll([self.shift, self.shift], [1, 2])
        } else {
            t
        };
        let x = x + t.view([b, l, c]);
        let m = x
            .apply(&self.norm2)
            .apply(&self.fc1)
            .gelu("none")
            .apply(&self.fc2);
        x + m
    }
}

#[derive(Debug)]
struct Rstb {
    blocks: Vec<Block>,
    conv: nn::Conv2D,
}

/// Channels of the classical head's `conv_before_upsample` (fixed in the official code).
const HEAD_FEATS: i64 = 64;

/// How the features become the image.
#[derive(Debug)]
enum Head {
    /// `upsample.0` then a pixel shuffle (lightweight SR, `pixelshuffledirect`).
    Direct(nn::Conv2D),
    /// `x + conv_last(features)` (official denoising / JPEG head, scale 1).
    Residual(nn::Conv2D),
    /// `conv_before_upsample.0` → leaky ReLU (slope 0.01) → `upsample.{0,2,..}` with
    /// pixel shuffles (none at scale 1) → `conv_last`, with no residual from the
    /// input (the classical `pixelshuffle` head as `SwinIR_mix` uses it).
    Classical {
        before: nn::Conv2D,
        up: Upsampler,
        last: nn::Conv2D,
    },
}

/// SwinIR: `conv_first`, `patch_embed.norm`, residual Swin Transformer blocks
/// (`layers.i.residual_group.blocks.j.*`, `layers.i.conv`), `norm`,
/// `conv_after_body`, then `upsample.0` + pixel shuffle (scale > 1) or a residual
/// `conv_last` (scale 1); or, built by [`SwinIr::mix`], the classical head
/// `conv_before_upsample.0`, `upsample`, `conv_last`. Inputs are padded (reflect) to a
/// multiple of the window.
#[derive(Debug)]
pub struct SwinIr {
    conv_first: nn::Conv2D,
    embed_norm: nn::LayerNorm,
    layers: Vec<Rstb>,
    norm: nn::LayerNorm,
    conv_after_body: nn::Conv2D,
    head: Head,
    scale: i64,
    window: i64,
}

impl SwinIr {
    /// SwinIR with `embed` channels, `groups` residual groups of `depth` blocks,
    /// `heads` heads, `window`-square windows and MLP ratio `mlp`. The lightweight
    /// SR model: 60, 4, 6, 6, 8, 2.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        p: &nn::Path,
        embed: i64,
        groups: usize,
        depth: usize,
        heads: i64,
        window: i64,
        mlp: i64,
        scale: i64,
    ) -> Self {
        let head = if scale > 1 {
            Head::Direct(conv(p / "upsample" / 0, embed, 3 * scale * scale, 3))
        } else {
            Head::Residual(conv(p / "conv_last", embed, 3, 3))
        };
        Self::with_head(p, embed, groups, depth, heads, window, mlp, scale, head)
    }

    /// The CEM authors' `SwinIR_mix` (and `SwinIR_MIO`, whose `img_size` only sizes
    /// the buffers recomputed here): the body of [`SwinIr::new`] with the classical
    /// pixel-shuffle head (64 channels, `upsample.0`, `.2`, ... for `scale` > 1, none at
    /// their scale 1). The authors' model: 180, 6, 6, 6, 8, 2, 1.
    /// (Their code takes only sides that are multiples of the window; other sizes are
    /// padded here as the official SwinIR pads them.)
    ///
    /// ```
    /// use tch::nn::{Module, VarStore};
    /// let vs = VarStore::new(tch::Device::Cpu);
    /// let net = cem::zoo::SwinIr::mix(&vs.root(), 12, 1, 2, 6, 8, 2, 1);
    /// let y = net.forward(&tch::Tensor::rand([1, 3, 16, 16], tch::kind::FLOAT_CPU));
    /// assert_eq!(y.size(), [1, 3, 16, 16]);
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn mix(
        p: &nn::Path,
        embed: i64,
        groups: usize,
        depth: usize,
        heads: i64,
        window: i64,
        mlp: i64,
        scale: i64,
    ) -> Self {
        let head = Head::Classical {
            before: conv(p / "conv_before_upsample" / 0, embed, HEAD_FEATS, 3),
            up: Upsampler::new(
                &(p / "upsample"),
                |i| (2 * i).to_string(),
                HEAD_FEATS,
                scale,
                false,
            ),
            last: conv(p / "conv_last", HEAD_FEATS, 3, 3),
        };
        Self::with_head(p, embed, groups, depth, heads, window, mlp, scale, head)
    }

    #[allow(clippy::too_many_arguments)]
    fn with_head(
        p: &nn::Path,
        embed: i64,
        groups: usize,
        depth: usize,
        heads: i64,
        window: i64,
        mlp: i64,
        scale: i64,
        head: Head,
    ) -> Self {
        let ln = |q: nn::Path| nn::layer_norm(q, vec![embed], Default::default());
        let lin = |q: nn::Path, i, o| nn::linear(q, i, o, Default::default());
        let layers = (0..groups)
            .map(|g| {
                let lp = p / "layers" / g;
                let blocks = (0..depth)
                    .map(|j| {
                        let bp = &lp / "residual_group" / "blocks" / j;
                        let ap = &bp / "attn";
                        Block {
                            norm1: ln(&bp / "norm1"),
                            attn: Attention {
                                qkv: lin(&ap / "qkv", embed, 3 * embed),
                                proj: lin(&ap / "proj", embed, embed),
                                table: ap.var(
                                    "relative_position_bias_table",
                                    &[(2 * window - 1) * (2 * window - 1), heads],
                                    nn::Init::Randn {
                                        mean: 0.0,
                                        stdev: 0.02,
                                    },
                                ),
                                heads,
                            },
                            norm2: ln(&bp / "norm2"),
                            fc1: lin(&bp / "mlp" / "fc1", embed, embed * mlp),
                            fc2: lin(&bp / "mlp" / "fc2", embed * mlp, embed),
                            window,
                            shift: if j % 2 == 0 { 0 } else { window / 2 },
                        }
                    })
                    .collect();
                Rstb {
                    blocks,
                    conv: conv(&lp / "conv", embed, embed, 3),
                }
            })
            .collect();
        SwinIr {
            conv_first: conv(p / "conv_first", 3, embed, 3),
            embed_norm: ln(p / "patch_embed" / "norm"),
            layers,
            norm: ln(p / "norm"),
            conv_after_body: conv(p / "conv_after_body", embed, embed, 3),
            head,
            scale,
            window,
        }
    }

    fn features(&self, x: &Tensor) -> Tensor {
        let (b, c, h, w) = x.size4().expect("B C H W");
        let embed = |t: &Tensor| t.flatten(2, 3).transpose(1, 2);
        let unembed = |t: &Tensor| t.transpose(1, 2).view([b, c, h, w]);
        // computed once per input size, shared by every block
        let mask = shift_mask(h, w, self.window, self.window / 2, x.device());
        let index = relative_index(self.window, x.device());
        let mut t = embed(x).apply(&self.embed_norm);
        for layer in &self.layers {
            let r = layer.blocks.iter().fold(t.shallow_clone(), |u, blk| {
                blk.forward(&u, h, w, &mask, &index)
            });
            t = embed(&unembed(&r).apply(&layer.conv)) + t;
        }
        unembed(&t.apply(&self.norm))
    }
}

impl Module for SwinIr {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (h, w) = (x.size()[2], x.size()[3]);
        let ws = self.window;
        let (ph, pw) = ((ws - h % ws) % ws, (ws - w % ws) % ws);
        let padded = if ph + pw > 0 {
            x.reflection_pad2d([0, pw, 0, ph])
        } else {
            x.shallow_clone()
        };
        let t = shift_by_div2k_mean(&padded, -1.0);
        let first = t.apply(&self.conv_first);
        let body = self.features(&first).apply(&self.conv_after_body) + &first;
        let out = match &self.head {
            Head::Direct(up) => body.apply(up).pixel_shuffle(self.scale),
            Head::Residual(last) => &t + body.apply(last),
            Head::Classical { before, up, last } => {
                up.forward(&body.apply(before).leaky_relu()).apply(last)
            }
        };
        shift_by_div2k_mean(&out, 1.0)
            .narrow(2, 0, h * self.scale)
            .narrow(3, 0, w * self.scale)
    }
}
