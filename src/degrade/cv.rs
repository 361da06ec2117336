//! The few OpenCV operations the authors' rain generator uses, on single-channel
//! `f64` images (row-major), following OpenCV's own arithmetic: its default border
//! (`BORDER_REFLECT_101`), `getRotationMatrix2D`, `warpAffine`'s fixed-point
//! bilinear sampling (1/32-pixel weights), `GaussianBlur`'s fixed small kernels,
//! `normalize(NORM_MINMAX)` and `addWeighted`'s float rounding.

/// OpenCV's default border (BORDER_REFLECT_101): `-1 -> 1`, `n -> n-2`.
pub(crate) fn reflect101(i: i64, n: i64) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let mut i = i.rem_euclid(period);
    if i >= n {
        i = period - i;
    }
    i as usize
}

/// `cv2.filter2D` (correlation, anchor `(kw/2, kh/2)`, BORDER_REFLECT_101) summing the
/// kernel's non-zero taps in row-major order per output pixel, as OpenCV's direct
/// filter does for small kernels.
pub(crate) fn filter2d_direct(
    img: &[f64],
    w: usize,
    h: usize,
    k: &[f64],
    kw: usize,
    kh: usize,
) -> Vec<f64> {
    let (ax, ay) = ((kw / 2) as i64, (kh / 2) as i64);
    let taps: Vec<(i64, i64, f64)> = (0..kh)
        .flat_map(|i| (0..kw).map(move |j| (i, j)))
        .filter(|&(i, j)| k[i * kw + j] != 0.0)
        .map(|(i, j)| (i as i64 - ay, j as i64 - ax, k[i * kw + j]))
        .collect();
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for &(dy, dx, kv) in &taps {
                let sy = reflect101(y as i64 + dy, h as i64);
                let sx = reflect101(x as i64 + dx, w as i64);
                s += kv * img[sy * w + sx];
            }
            out[y * w + x] = s;
        }
    }
    out
}

/// `cv2.filter2D` of a sparse image (most values zero): each non-zero input scatters
/// the kernel. Equal to the dense correlation up to the order of the additions
/// (OpenCV itself filters with a DFT for kernels of 50 taps or more).
pub(crate) fn filter2d_sparse(
    img: &[f64],
    w: usize,
    h: usize,
    k: &[f64],
    kw: usize,
    kh: usize,
) -> Vec<f64> {
    let (ax, ay) = ((kw / 2) as i64, (kh / 2) as i64);
    let mut out = vec![0.0; w * h];
    let is_nonzero: Vec<bool> = img.iter().map(|&v| v != 0.0).collect();
    if !is_nonzero.iter().any(|&b| b) {
        return out;
    }
    // out[y][x] = sum_{i,j} k[i][j] * in[refl(y + i - ay)][refl(x + j - ax)]: walk the
    // padded positions (py, px) whose reflected source is non-zero.
    for py in -ay..(h as i64 + kh as i64 - ay) {
        let sy = reflect101(py, h as i64);
        for px in -ax..(w as i64 + kw as i64 - ax) {
            let sx = reflect101(px, w as i64);
            if !is_nonzero[sy * w + sx] {
                continue;
            }
            let v = img[sy * w + sx];
            for i in 0..kh {
                let y = py - i as i64 + ay;
                if y < 0 || y >= h as i64 {
                    continue;
                }
                for j in 0..kw {
                    let x = px - j as i64 + ax;
                    if x < 0 || x >= w as i64 {
                        continue;
                    }
                    out[y as usize * w + x as usize] += k[i * kw + j] * v;
                }
            }
        }
    }
    out
}

/// `cv2.getRotationMatrix2D(center, angle_deg, 1)`: `[[a, b, (1-a)cx - b cy],
/// [-b, a, b cx + (1-a) cy]]` with `a = cos`, `b = sin` (the centre is a float pair).
pub(crate) fn rotation_matrix(cx: f32, cy: f32, angle_deg: f64) -> [f64; 6] {
    let angle = angle_deg * (std::f64::consts::PI / 180.0);
    let (alpha, beta) = (angle.cos(), angle.sin());
    let (cx, cy) = (cx as f64, cy as f64);
    [
        alpha,
        beta,
        (1.0 - alpha) * cx - beta * cy,
        -beta,
        alpha,
        beta * cx + (1.0 - alpha) * cy,
    ]
}

/// `cv2.warpAffine(src, m, (w, h))` with INTER_LINEAR and a zero constant border, for
/// a single-channel `f64` image: the inverse map in 10-bit fixed point, source
/// positions quantised to 1/32 pixel, and the bilinear weights of OpenCV's float table.
pub(crate) fn warp_affine_linear(src: &[f64], sw: usize, sh: usize, m: [f64; 6]) -> Vec<f64> {
    const INTER_BITS: i32 = 5;
    const TAB: i32 = 1 << INTER_BITS;
    const AB_BITS: i32 = 10;
    const AB_SCALE: f64 = (1 << AB_BITS) as f64;
    let round = |v: f64| -> i32 { v.round_ties_even() as i32 };
    // invert the affine map, as warpAffine does unless WARP_INVERSE_MAP
    let mut mi = m;
    let d = mi[0] * mi[4] - mi[1] * mi[3];
    let d = if d != 0.0 { 1.0 / d } else { 0.0 };
    let (a11, a22) = (mi[4] * d, mi[0] * d);
    mi[0] = a11;
    mi[1] *= -d;
    mi[3] *= -d;
    mi[4] = a22;
    let b1 = -mi[0] * mi[2] - mi[1] * mi[5];
    let b2 = -mi[3] * mi[2] - mi[4] * mi[5];
    mi[2] = b1;
    mi[5] = b2;
    // OpenCV's 1-D linear table and its 2-D products, in float
    let w1 = |i: i32| -> [f32; 2] {
        let x = i as f32 * (1.0 / TAB as f32);
        [1.0 - x, x]
    };
    let (dw, dh) = (sw, sh);
    let round_delta = (1 << AB_BITS) / TAB / 2;
    let mut out = vec![0.0; dw * dh];
    let at = |x: i64, y: i64| -> f64 {
        if x < 0 || y < 0 || x >= sw as i64 || y >= sh as i64 {
            0.0
        } else {
            src[y as usize * sw + x as usize]
        }
    };
    for y in 0..dh {
        let x0 = round((mi[1] * y as f64 + mi[2]) * AB_SCALE) + round_delta;
        let y0 = round((mi[4] * y as f64 + mi[5]) * AB_SCALE) + round_delta;
        for x in 0..dw {
            let adelta = round(mi[0] * x as f64 * AB_SCALE);
            let bdelta = round(mi[3] * x as f64 * AB_SCALE);
            let xx = (x0 + adelta) >> (AB_BITS - INTER_BITS);
            let yy = (y0 + bdelta) >> (AB_BITS - INTER_BITS);
            let (sx, sy) = ((xx >> INTER_BITS) as i64, (yy >> INTER_BITS) as i64);
            let (wy, wx) = (w1(yy & (TAB - 1)), w1(xx & (TAB - 1)));
            let w = [wy[0] * wx[0], wy[0] * wx[1], wy[1] * wx[0], wy[1] * wx[1]];
            let v = at(sx, sy) * w[0] as f64
                + at(sx + 1, sy) * w[1] as f64
                + at(sx, sy + 1) * w[2] as f64
                + at(sx + 1, sy + 1) * w[3] as f64;
            out[y * dw + x] = v;
        }
    }
    out
}

/// `cv2.GaussianBlur(src, (n, n), 0)` for n = 1, 3, 5 or 7 (OpenCV's fixed kernels for
/// sigma 0), BORDER_REFLECT_101: a row pass, then a symmetric column pass.
/// Other sizes use the kernel from sigma `0.3 ((n - 1) / 2 - 1) + 0.8`.
pub(crate) fn gaussian_blur(src: &[f64], w: usize, h: usize, n: usize) -> Vec<f64> {
    let g = gaussian_kernel(n);
    let r = (n / 2) as i64;
    let mut rows = vec![0.0; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for (k, &gk) in g.iter().enumerate() {
                s += gk * src[y * w + reflect101(x as i64 + k as i64 - r, w as i64)];
            }
            rows[y * w + x] = s;
        }
    }
    let mut out = vec![0.0; w * h];
    let c = n / 2;
    for y in 0..h {
        for x in 0..w {
            let mut s = g[c] * rows[y * w + x];
            for k in 1..=c {
                let up = rows[reflect101(y as i64 - k as i64, h as i64) * w + x];
                let down = rows[reflect101(y as i64 + k as i64, h as i64) * w + x];
                s += g[c + k] * (down + up);
            }
            out[y * w + x] = s;
        }
    }
    out
}

/// `cv2.getGaussianKernel(n, 0)`.
pub(crate) fn gaussian_kernel(n: usize) -> Vec<f64> {
    match n {
        1 => vec![1.0],
        3 => vec![0.25, 0.5, 0.25],
        5 => vec![0.0625, 0.25, 0.375, 0.25, 0.0625],
        7 => vec![
            0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125,
        ],
        _ => {
            let sigma = 0.3 * ((n as f64 - 1.0) * 0.5 - 1.0) + 0.8;
            let scale2x = -0.5 / (sigma * sigma);
            let g: Vec<f64> = (0..n)
                .map(|i| {
                    let x = i as f64 - (n as f64 - 1.0) * 0.5;
                    (scale2x * x * x).exp()
                })
                .collect();
            let sum: f64 = g.iter().sum();
            g.iter().map(|v| v * (1.0 / sum)).collect()
        }
    }
}

/// `cv2.normalize(v, v, 0, 255, NORM_MINMAX)` then `np.array(v, dtype=np.uint8)`
/// (truncation toward zero).
pub(crate) fn normalize_minmax_u8(v: &[f64]) -> Vec<u8> {
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let scale = 255.0
        * if hi - lo > f64::EPSILON {
            1.0 / (hi - lo)
        } else {
            0.0
        };
    let shift = 0.0 - lo * scale;
    v.iter()
        .map(|&x| x.mul_add(scale, shift).clamp(0.0, 255.0) as u8)
        .collect()
}

/// `cv2.addWeighted(a, 1, b, beta, 0)` for one u8 value: computed in `f32`
/// (`a + b * beta`), rounded to nearest (ties to even) and saturated.
pub(crate) fn add_weighted_u8(a: u8, add: f32) -> u8 {
    (a as f32 + add).round_ties_even().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect101_matches_opencv() {
        let n = 5;
        let got: Vec<usize> = (-3..8).map(|i| reflect101(i, n)).collect();
        assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]);
    }

    #[test]
    fn sparse_and_direct_filters_equal_dense_correlation() {
        let (w, h) = (9, 7);
        let mut img = vec![0.0; w * h];
        img[0] = 2.0;
        img[3 * w + 4] = 1.0;
        img[h * w - 1] = 5.0;
        let k: Vec<f64> = (0..15).map(|i| i as f64 * 0.1 - 0.3).collect();
        let (kw, kh) = (5, 3);
        let sparse = filter2d_sparse(&img, w, h, &k, kw, kh);
        let direct = filter2d_direct(&img, w, h, &k, kw, kh);
        for y in 0..h {
            for x in 0..w {
                let mut s = 0.0;
                for i in 0..kh {
                    for j in 0..kw {
                        let sy = reflect101(y as i64 + i as i64 - 1, h as i64);
                        let sx = reflect101(x as i64 + j as i64 - 2, w as i64);
                        s += k[i * kw + j] * img[sy * w + sx];
                    }
                }
                assert!((sparse[y * w + x] - s).abs() < 1e-12, "({x},{y})");
                assert!((direct[y * w + x] - s).abs() < 1e-12, "({x},{y})");
            }
        }
    }

    #[test]
    fn identity_warp_and_half_pixel_shift() {
        let (w, h) = (6, 5);
        let src: Vec<f64> = (0..w * h).map(|i| i as f64).collect();
        let id = warp_affine_linear(&src, w, h, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        assert_eq!(id, src);
        // dst(x) = src(x + 0.5): the mean of two neighbours inside, half the value at
        // the right border (zero outside)
        let shifted = warp_affine_linear(&src, w, h, [1.0, 0.0, -0.5, 0.0, 1.0, 0.0]);
        assert_eq!(shifted[0], 0.5);
        assert_eq!(shifted[w - 1], 2.5);
        // a rotation by 0 degrees about any centre is the identity
        let m = rotation_matrix(2.0, 2.0, 0.0);
        assert_eq!(warp_affine_linear(&src, w, h, m), src);
    }

    #[test]
    fn blur_kernels_sum_to_one_and_add_weighted_rounds() {
        for n in [1, 3, 5, 7, 9] {
            let s: f64 = gaussian_kernel(n).iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "{n}");
        }
        let flat = vec![2.0; 25];
        assert_eq!(gaussian_blur(&flat, 5, 5, 5), flat);
        assert_eq!(add_weighted_u8(10, 0.5), 10); // tie to even
        assert_eq!(add_weighted_u8(11, 0.5), 12);
        assert_eq!(add_weighted_u8(10, 0.6), 11);
        assert_eq!(add_weighted_u8(250, 9.0), 255);
        assert_eq!(normalize_minmax_u8(&[1.0, 2.0, 3.0]), vec![0, 127, 255]);
    }
}
