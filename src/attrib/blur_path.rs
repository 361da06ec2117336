//! The Gaussian blur path of LAM: the kernels, OpenCV's `filter2D` (correlation with
//! the reflect-101 border) and the path images with their derivatives.

use crate::error::{Error, Result};
use ndarray::Array2;
use tch::{Device, Kind, Tensor};

/// The authors' `isotropic_gaussian_kernel(l, sigma)`: an `l x l` Gaussian with
/// standard deviation `sigma + 1e-5` on the grid `(-l)//2 + 1 ..= l//2` (Python
/// floor division, so `-4..=4` for `l = 9` and `-1..=2` for `l = 4`), normalised to
/// sum 1.
///
/// ```
/// let k = cem::attrib::gaussian_kernel(3, 1.0);
/// assert!((k.sum() - 1.0).abs() < 1e-12);
/// assert!(k[[1, 1]] > k[[0, 1]] && k[[0, 1]] > k[[0, 0]]);
/// ```
pub fn gaussian_kernel(l: usize, sigma: f64) -> Array2<f64> {
    let l_i = l as i64;
    let start = (-l_i).div_euclid(2) + 1;
    let s = sigma + 1e-5;
    let mut k = Array2::<f64>::from_shape_fn((l, l), |(i, j)| {
        let (y, x) = ((start + i as i64) as f64, (start + j as i64) as f64);
        (-(x * x + y * y) / (2.0 * s * s)).exp()
    });
    let total = k.sum();
    k.mapv_inplace(|v| v / total);
    k
}

/// The blur path's `fold + 1` kernels: `K_k` with `sigma_k = linspace(sigma, 0, fold + 1)`.
pub fn path_kernels(sigma: f64, fold: usize, l: usize) -> Vec<Array2<f64>> {
    (0..=fold)
        .map(|k| {
            let s = sigma - sigma * k as f64 / fold as f64;
            // numpy's linspace ends exactly on the stop value
            let s = if k == fold { 0.0 } else { s };
            gaussian_kernel(l, s)
        })
        .collect()
}

/// OpenCV's `filter2D(x, -1, kernel)` with its default border (reflect-101,
/// `gfedcb|abcdefgh|gfedcba`) and anchor (`l / 2`), for every kernel in `kernels` at
/// once: `x` is `[C, H, W]`, the result `[K, C, H, W]` in `x`'s kind, on `x`'s device.
/// Correlation, not convolution: `out(y, x) = sum K(i, j) src(y + i - a, x + j - a)`.
pub fn filter2d(x: &Tensor, kernels: &[Array2<f64>]) -> Result<Tensor> {
    let size = x.size();
    if size.len() != 3 {
        return Err(Error::invalid(
            "filter2D input",
            format!("{size:?}"),
            "expected [C, H, W]",
        ));
    }
    let (c, h, w) = (size[0], size[1], size[2]);
    let l = kernels.first().map(|k| k.nrows()).unwrap_or(1);
    if kernels.iter().any(|k| k.nrows() != l || k.ncols() != l) {
        return Err(Error::invalid(
            "filter2D kernels",
            l,
            "all kernels must be square of one side",
        ));
    }
    let a = (l / 2) as i64;
    let b = l as i64 - 1 - a;
    if a >= h || a >= w {
        return Err(Error::invalid(
            "kernel side l",
            l,
            format!("the reflect-101 border needs l/2 < the image's sides ({w}x{h})"),
        ));
    }
    let kind = x.kind();
    let flat: Vec<f64> = kernels.iter().flat_map(|k| k.iter().copied()).collect();
    let weight = Tensor::from_slice(&flat)
        .f_view([kernels.len() as i64, 1, l as i64, l as i64])?
        .f_to_device(x.device())?;
    let padded = x
        .f_to_kind(Kind::Double)?
        .f_unsqueeze(0)?
        .f_reflection_pad2d([a, b, a, b])?
        .f_view([c, 1, h + a + b, w + a + b])?;
    let out = padded.f_conv2d(&weight, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1)?;
    Ok(out
        .f_permute([1, 0, 2, 3])?
        .f_contiguous()?
        .f_to_kind(kind)?)
}

/// The blur path for `x` (`[C, H, W]`): path point `k = 0..fold-1` is
/// `filter2D(x, K_{k+1})`, its derivative `filter2D(x, (K_{k+1} - K_k) * fold)`.
/// Both `[fold, C, H, W]` float32 on `device`.
pub fn blur_path(
    x: &Tensor,
    sigma: f64,
    fold: usize,
    l: usize,
    device: Device,
) -> Result<(Tensor, Tensor)> {
    let kernels = path_kernels(sigma, fold, l);
    let points: Vec<Array2<f64>> = kernels[1..].to_vec();
    let derivs: Vec<Array2<f64>> = (0..fold)
        .map(|k| (&kernels[k + 1] - &kernels[k]) * fold as f64)
        .collect();
    let x = x.f_to_device(device)?.f_to_kind(Kind::Double)?;
    Ok((
        filter2d(&x, &points)?.f_to_kind(Kind::Float)?,
        filter2d(&x, &derivs)?.f_to_kind(Kind::Float)?,
    ))
}
