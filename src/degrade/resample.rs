//! Exact re-implementations of the two bicubic resamplers the reference uses.
//!
//! * [`pil_bicubic`]: Pillow's `Image.resize(size, BICUBIC)` (antialiased, `a = -0.5`),
//!   two separable passes (horizontal, then vertical) in 22-bit fixed point with a u8
//!   rounding in between, as `libImaging/Resample.c` does. Used for whole-image SR
//!   downscaling.
//! * [`cv2_inter_cubic`]: OpenCV's `cv2.resize(..., INTER_CUBIC)` for u8 (`a = -0.75`,
//!   no antialiasing, replicated border, 11-bit coefficients, one rounding at the end,
//!   ties to even).
//!   Used for the SR intervention patches (8x8 → 2x2 at x4).

use ::image::RgbImage;

const PIL_PRECISION_BITS: u32 = 32 - 8 - 2;

fn pil_bicubic_filter(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Per output position: first input index and the fixed-point weights.
struct PilTaps {
    first: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

fn pil_taps(in_size: usize, out_size: usize) -> PilTaps {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 2.0 * filterscale;
    let mut first = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // C casts truncate towards zero, as `as i64` does.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let w: Vec<f64> = (xmin..xmax)
            .map(|x| pil_bicubic_filter((x as f64 - center + 0.5) * ss))
            .collect();
        let total: f64 = w.iter().sum();
        let fixed = w
            .iter()
            .map(|&v| {
                let v = if total != 0.0 { v / total } else { v };
                let scaled = v * (1u32 << PIL_PRECISION_BITS) as f64;
                if v < 0.0 {
                    (scaled - 0.5) as i32
                } else {
                    (scaled + 0.5) as i32
                }
            })
            .collect();
        first.push(xmin);
        weights.push(fixed);
    }
    PilTaps { first, weights }
}

fn pil_clip8(v: i32) -> u8 {
    if v >= 1 << (PIL_PRECISION_BITS + 8) {
        255
    } else if v <= 0 {
        0
    } else {
        (v >> PIL_PRECISION_BITS) as u8
    }
}

/// Resizes like Pillow's `img.resize((width, height), Image.BICUBIC)`, bit for bit.
pub fn pil_bicubic(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w0, h0) = (img.width() as usize, img.height() as usize);
    let (w1, h1) = (width as usize, height as usize);
    let src = img.as_raw();
    // Horizontal pass (skipped when the width does not change, as Pillow does).
    let horiz: Vec<u8> = if w1 != w0 {
        let taps = pil_taps(w0, w1);
        let mut out = vec![0u8; w1 * h0 * 3];
        for y in 0..h0 {
            for x in 0..w1 {
                for c in 0..3 {
                    let mut ss: i32 = 1 << (PIL_PRECISION_BITS - 1);
                    for (k, &wk) in taps.weights[x].iter().enumerate() {
                        ss += src[(y * w0 + taps.first[x] + k) * 3 + c] as i32 * wk;
                    }
                    out[(y * w1 + x) * 3 + c] = pil_clip8(ss);
                }
            }
        }
        out
    } else {
        src.clone()
    };
    let vert: Vec<u8> = if h1 != h0 {
        let taps = pil_taps(h0, h1);
        let mut out = vec![0u8; w1 * h1 * 3];
        for y in 0..h1 {
            for x in 0..w1 {
                for c in 0..3 {
                    let mut ss: i32 = 1 << (PIL_PRECISION_BITS - 1);
                    for (k, &wk) in taps.weights[y].iter().enumerate() {
                        ss += horiz[((taps.first[y] + k) * w1 + x) * 3 + c] as i32 * wk;
                    }
                    out[(y * w1 + x) * 3 + c] = pil_clip8(ss);
                }
            }
        }
        out
    } else {
        horiz
    };
    RgbImage::from_raw(width, height, vert).expect("buffer sized for the output")
}

const CV_COEF_BITS: u32 = 11;

/// OpenCV's cubic taps for one axis: source indices (border replicated) and 11-bit weights.
fn cv2_taps(in_size: usize, out_size: usize) -> Vec<([usize; 4], [i32; 4])> {
    let scale = in_size as f64 / out_size as f64;
    (0..out_size)
        .map(|d| {
            let fx = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let sx = fx.floor();
            let x = fx - sx;
            let sx = sx as i64;
            const A: f32 = -0.75;
            let mut c = [0f32; 4];
            c[0] = ((A * (x + 1.0) - 5.0 * A) * (x + 1.0) + 8.0 * A) * (x + 1.0) - 4.0 * A;
            c[1] = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
            c[2] = ((A + 2.0) * (1.0 - x) - (A + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0;
            c[3] = 1.0 - c[0] - c[1] - c[2];
            let mut idx = [0usize; 4];
            let mut w = [0i32; 4];
            for k in 0..4 {
                idx[k] = (sx - 1 + k as i64).clamp(0, in_size as i64 - 1) as usize;
                // saturate_cast<short>(v * 2048) rounds to nearest, ties to even.
                w[k] = (c[k] * (1 << CV_COEF_BITS) as f32).round_ties_even() as i32;
            }
            (idx, w)
        })
        .collect()
}

/// `v / 2^shift` rounded to nearest, ties to even: the result of OpenCV's vectorised
/// vertical pass (float multiply-adds, then `v_round`), which the reference
/// fixtures show (e.g. 18.5 -> 18); the plain scalar fixed-point cast would give 19.
fn round_shift_even(v: i32, shift: u32) -> i32 {
    let q = v >> shift;
    let rem = v - (q << shift);
    let half = 1 << (shift - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

/// Resizes like `cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC)` on u8.
pub fn cv2_inter_cubic(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w0, h0) = (img.width() as usize, img.height() as usize);
    let (w1, h1) = (width as usize, height as usize);
    let src = img.as_raw();
    let xt = cv2_taps(w0, w1);
    let yt = cv2_taps(h0, h1);
    // Horizontal pass into ints, for every source row.
    let mut horiz = vec![0i32; h0 * w1 * 3];
    for y in 0..h0 {
        for (x, (idx, w)) in xt.iter().enumerate() {
            for c in 0..3 {
                horiz[(y * w1 + x) * 3 + c] = (0..4)
                    .map(|k| src[(y * w0 + idx[k]) * 3 + c] as i32 * w[k])
                    .sum();
            }
        }
    }
    let shift = 2 * CV_COEF_BITS;
    let mut out = vec![0u8; w1 * h1 * 3];
    for (y, (idx, w)) in yt.iter().enumerate() {
        for x in 0..w1 {
            for c in 0..3 {
                let v: i32 = (0..4)
                    .map(|k| horiz[(idx[k] * w1 + x) * 3 + c] * w[k])
                    .sum();
                out[(y * w1 + x) * 3 + c] = round_shift_even(v, shift).clamp(0, 255) as u8;
            }
        }
    }
    RgbImage::from_raw(width, height, out).expect("buffer sized for the output")
}

/// The window `out_win = (x, y, w, h)` of [`pil_bicubic`] resizing a `full_in` image to
/// `full_out`, bit for bit, from `src`: a part of the input whose top-left is
/// `src_origin` and which covers every input pixel the window's taps read (panics
/// otherwise). SR interventions use it to resample only what a patch changes.
pub(crate) fn pil_bicubic_window(
    src: &RgbImage,
    src_origin: (u32, u32),
    full_in: (u32, u32),
    full_out: (u32, u32),
    out_win: (u32, u32, u32, u32),
) -> RgbImage {
    let (w0, h0) = (full_in.0 as usize, full_in.1 as usize);
    let (w1, h1) = (full_out.0 as usize, full_out.1 as usize);
    let (ox, oy) = (src_origin.0 as usize, src_origin.1 as usize);
    let (x, y, w, h) = (
        out_win.0 as usize,
        out_win.1 as usize,
        out_win.2 as usize,
        out_win.3 as usize,
    );
    let sw = src.width() as usize;
    let raw = src.as_raw();
    let at = |r: usize, c: usize, ch: usize| raw[((r - oy) * sw + (c - ox)) * 3 + ch] as i32;
    let vtaps = (h1 != h0).then(|| pil_taps(h0, h1));
    let (r0, r1) = match &vtaps {
        Some(t) => (
            t.first[y],
            (y..y + h)
                .map(|j| t.first[j] + t.weights[j].len())
                .max()
                .unwrap_or(t.first[y]),
        ),
        None => (y, y + h),
    };
    let rows = r1 - r0;
    // horizontal pass over the rows the vertical pass reads, window columns only
    let mut horiz = vec![0u8; rows * w * 3];
    let htaps = (w1 != w0).then(|| pil_taps(w0, w1));
    for r in r0..r1 {
        for i in 0..w {
            for ch in 0..3 {
                horiz[((r - r0) * w + i) * 3 + ch] = match &htaps {
                    Some(t) => {
                        let mut ss: i32 = 1 << (PIL_PRECISION_BITS - 1);
                        for (k, &wk) in t.weights[x + i].iter().enumerate() {
                            ss += at(r, t.first[x + i] + k, ch) * wk;
                        }
                        pil_clip8(ss)
                    }
                    None => at(r, x + i, ch) as u8,
                };
            }
        }
    }
    let mut out = vec![0u8; w * h * 3];
    for j in 0..h {
        for i in 0..w {
            for ch in 0..3 {
                out[(j * w + i) * 3 + ch] = match &vtaps {
                    Some(t) => {
                        let mut ss: i32 = 1 << (PIL_PRECISION_BITS - 1);
                        for (k, &wk) in t.weights[y + j].iter().enumerate() {
                            let r = t.first[y + j] + k - r0;
                            ss += horiz[(r * w + i) * 3 + ch] as i32 * wk;
                        }
                        pil_clip8(ss)
                    }
                    None => horiz[(j * w + i) * 3 + ch],
                };
            }
        }
    }
    RgbImage::from_raw(w as u32, h as u32, out).expect("sized for the window")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_images_stay_constant() {
        let img = RgbImage::from_pixel(16, 12, ::image::Rgb([200, 3, 77]));
        assert!(pil_bicubic(&img, 4, 3)
            .pixels()
            .all(|p| p.0 == [200, 3, 77]));
        assert!(cv2_inter_cubic(&img, 4, 3)
            .pixels()
            .all(|p| p.0 == [200, 3, 77]));
    }

    #[test]
    fn ties_round_to_even() {
        assert_eq!(round_shift_even(37 << 21, 22), 18); // 18.5
        assert_eq!(round_shift_even(39 << 21, 22), 20); // 19.5
        assert_eq!(round_shift_even((37 << 21) + 1, 22), 19);
        assert_eq!(round_shift_even(-(3 << 21), 22), -2); // -1.5
    }

    #[test]
    fn cv2_x4_weights_are_the_known_ones() {
        // At x4 every output sits half-way between two source pixels: A=-0.75 gives
        // (-0.09375, 0.59375, 0.59375, -0.09375) = (-192, 1216, 1216, -192) / 2048.
        let taps = cv2_taps(8, 2);
        assert_eq!(taps[0], ([0, 1, 2, 3], [-192, 1216, 1216, -192]));
        assert_eq!(taps[1], ([4, 5, 6, 7], [-192, 1216, 1216, -192]));
    }

    #[test]
    fn pil_taps_sum_to_one_in_fixed_point() {
        for (i, o) in [(256, 64), (64, 256), (10, 3)] {
            let t = pil_taps(i, o);
            for w in &t.weights {
                let s: i32 = w.iter().sum();
                assert!(
                    (s - (1 << PIL_PRECISION_BITS)).abs() <= w.len() as i32,
                    "{i}->{o}: {s}"
                );
            }
        }
    }

    #[test]
    fn windows_equal_the_whole_resize_cropped() {
        let img = RgbImage::from_fn(40, 36, |x, y| {
            ::image::Rgb([(x * 37 + y * 11) as u8, (x * y) as u8, ((x ^ y) * 9) as u8])
        });
        // down x4, up x4 (from a part of the source), and one axis unchanged
        for (out, win) in [
            ((10, 9), (2, 3, 5, 4)),
            ((160, 144), (40, 60, 24, 24)),
            ((40, 18), (7, 2, 20, 9)),
        ] {
            let whole = pil_bicubic(&img, out.0, out.1);
            let (sx, sy) = if out.0 > 40 { (5, 10) } else { (0, 0) };
            let part = ::image::imageops::crop_imm(&img, sx, sy, 40 - sx, 36 - sy).to_image();
            let w = pil_bicubic_window(&part, (sx, sy), (40, 36), out, win);
            let expected = ::image::imageops::crop_imm(&whole, win.0, win.1, win.2, win.3);
            assert!(w == expected.to_image(), "{out:?} {win:?}");
        }
    }
}
