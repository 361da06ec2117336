//! The authors' LAM pictures: `vis_saliency` (seismic colours of `map * 0.5 + 0.5`,
//! nearest-neighbour upscaled), `vis_saliency_kde` (the same of a weighted Gaussian
//! kernel density of the map, bicubic upscaled) and the blend with the upscaled input.

use crate::degrade::resample::pil_bicubic;
use crate::error::{Error, Result};
use ::image::{imageops, Rgb, RgbImage};
use ndarray::Array2;
use tch::{Device, Kind, Tensor};

/// matplotlib's `(255 * get_cmap('seismic')(t)).astype(uint8)`: the 256-entry lookup
/// table (`index = min(floor(256 t), 255)`, clipped) with truncation to u8.
pub fn seismic_u8(t: f64) -> Rgb<u8> {
    const STOPS: [[f64; 3]; 5] = crate::plot::SEISMIC_STOPS;
    // matplotlib: xa = t * N, xa[xa == N] = N - 1, clipped, truncated to int
    let idx = if t.is_nan() {
        0
    } else {
        ((t * 256.0).clamp(-1.0, 255.0) as i64).clamp(0, 255) as usize
    };
    // _create_lookup_table: stops at (N - 1) * [0, .25, .5, .75, 1]; entry i lies
    // between stops ind - 1 and ind (ind = searchsorted(stops, i))
    let c = |k: usize| {
        let v = if idx == 0 {
            STOPS[0][k]
        } else if idx == 255 {
            STOPS[4][k]
        } else {
            let pos = |j: usize| 255.0 * j as f64 / 4.0;
            let ind = (1..5).find(|&j| pos(j) >= idx as f64).unwrap_or(4);
            let distance = (idx as f64 - pos(ind - 1)) / (pos(ind) - pos(ind - 1));
            distance * (STOPS[ind][k] - STOPS[ind - 1][k]) + STOPS[ind - 1][k]
        };
        (255.0 * v.clamp(0.0, 1.0)) as u8
    };
    Rgb([c(0), c(1), c(2)])
}

fn colour(map: &Array2<f32>) -> RgbImage {
    let (h, w) = map.dim();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        seismic_u8(map[[y as usize, x as usize]] as f64 * 0.5 + 0.5)
    })
}

/// `vis_saliency(map, zoomin)`: seismic colours, nearest-neighbour upscaled.
pub fn vis_saliency(map: &Array2<f32>, zoom: u32) -> RgbImage {
    let img = colour(map);
    imageops::resize(
        &img,
        img.width() * zoom,
        img.height() * zoom,
        imageops::FilterType::Nearest,
    )
}

/// `vis_saliency_kde(map, zoomin)`: the weighted Gaussian KDE of the map (scipy's
/// `gaussian_kde` with Scott's bandwidth, evaluated on the pixel grid), divided by its
/// maximum, seismic colours, bicubic upscaled (Pillow's).
pub fn vis_saliency_kde(map: &Array2<f32>, zoom: u32) -> Result<RgbImage> {
    let z = kde(map)?;
    let img = colour(&z);
    Ok(pil_bicubic(&img, img.width() * zoom, img.height() * zoom))
}

/// The authors' blend `saliency * (1 - alpha) + input * alpha`, truncated to u8, with
/// the input bicubic-upscaled (Pillow's) to the saliency picture's size.
pub fn blend(saliency: &RgbImage, input: &RgbImage, alpha: f64) -> Result<RgbImage> {
    let (w, h) = saliency.dimensions();
    let up = if input.dimensions() == (w, h) {
        input.clone()
    } else {
        pil_bicubic(input, w, h)
    };
    let mut out = RgbImage::new(w, h);
    for (o, (s, i)) in out.pixels_mut().zip(saliency.pixels().zip(up.pixels())) {
        for c in 0..3 {
            o.0[c] = (s.0[c] as f64 * (1.0 - alpha) + i.0[c] as f64 * alpha) as u8;
        }
    }
    Ok(out)
}

/// scipy's `gaussian_kde(pixels, weights=map)` evaluated at every pixel, divided by
/// its maximum. Points are `(column, row)`; the covariance is the weighted data
/// covariance (`np.cov(aweights=w)`) times Scott's factor `neff^(-1/6)` squared.
pub fn kde(map: &Array2<f32>) -> Result<Array2<f32>> {
    let (h, w) = map.dim();
    let wsum: f64 = map.iter().map(|&v| v as f64).sum();
    if wsum.is_nan() || wsum <= 0.0 {
        return Err(Error::invalid(
            "KDE weights",
            wsum,
            "the map must have a positive sum",
        ));
    }
    let wn = |v: f32| v as f64 / wsum;
    let neff = 1.0 / map.iter().map(|&v| wn(v) * wn(v)).sum::<f64>();
    let (mut mx, mut my) = (0.0, 0.0);
    for ((r, c), &v) in map.indexed_iter() {
        mx += wn(v) * c as f64;
        my += wn(v) * r as f64;
    }
    let (mut sxx, mut syy, mut sxy, mut w2) = (0.0, 0.0, 0.0, 0.0);
    for ((r, c), &v) in map.indexed_iter() {
        let (dx, dy, p) = (c as f64 - mx, r as f64 - my, wn(v));
        sxx += p * dx * dx;
        syy += p * dy * dy;
        sxy += p * dx * dy;
        w2 += p * p;
    }
    // np.cov with aweights summing to 1 and ddof 1: divide by 1 - sum(w^2)
    let fact = 1.0 - w2;
    let factor2 = neff.powf(-2.0 / 6.0);
    let (cxx, cyy, cxy) = (
        sxx / fact * factor2,
        syy / fact * factor2,
        sxy / fact * factor2,
    );
    let det = cxx * cyy - cxy * cxy;
    if det.is_nan() || det <= 0.0 {
        return Err(Error::invalid(
            "KDE covariance determinant",
            det,
            "the map's weight is on a line or a point",
        ));
    }
    let (ixx, iyy, ixy) = (cyy / det, cxx / det, -cxy / det);
    // density(p) = sum_q w_q G(p - q): a full linear convolution, by FFT
    let (hh, ww) = (h as i64, w as i64);
    let (kh, kw) = (2 * hh - 1, 2 * ww - 1);
    let mut g = Vec::with_capacity((kh * kw) as usize);
    for u in 0..kh {
        for v in 0..kw {
            let (dy, dx) = ((u - (hh - 1)) as f64, (v - (ww - 1)) as f64);
            g.push((-0.5 * (ixx * dx * dx + 2.0 * ixy * dx * dy + iyy * dy * dy)).exp());
        }
    }
    let weights: Vec<f64> = map.iter().map(|&v| v as f64).collect();
    let (ph, pw) = (hh + kh - 1, ww + kw - 1);
    let dims = [0i64, 1].as_slice();
    let fa = Tensor::from_slice(&weights).f_view([hh, ww])?.f_fft_rfft2(
        Some([ph, pw].as_slice()),
        dims,
        "backward",
    )?;
    let fb = Tensor::from_slice(&g).f_view([kh, kw])?.f_fft_rfft2(
        Some([ph, pw].as_slice()),
        dims,
        "backward",
    )?;
    let full = (fa * fb).f_fft_irfft2(Some([ph, pw].as_slice()), dims, "backward")?;
    let dens = full
        .f_narrow(0, hh - 1, hh)?
        .f_narrow(1, ww - 1, ww)?
        .f_to_kind(Kind::Double)?
        .f_to_device(Device::Cpu)?
        .f_contiguous()?;
    let v = Vec::<f64>::try_from(dens.f_view([-1])?)?;
    let max = v.iter().copied().fold(f64::MIN, f64::max);
    let out: Vec<f32> = v.iter().map(|&d| (d / max) as f32).collect();
    Array2::from_shape_vec((h, w), out)
        .map_err(|e| Error::invalid("KDE shape", format!("{h}x{w}"), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seismic_table_matches_matplotlib() {
        // (255 * cm.seismic([0, 0.5, 0.75, 1.0])).astype(uint8), by hand from the LUT
        assert_eq!(seismic_u8(0.0).0, [0, 0, 76]);
        // index 128: 0.5 / 63.75 past the white stop at 127.5
        assert_eq!(seismic_u8(0.5).0, [255, 253, 253]);
        assert_eq!(seismic_u8(1.0).0, [127, 0, 0]);
        // index 192: 0.75 / 63.75 past the red stop, halfway to dark red at 255
        assert_eq!(seismic_u8(0.75).0, [253, 0, 0]);
        assert_eq!(seismic_u8(0.25).0[2], 255); // index 64 just past blue
    }

    #[test]
    fn kde_of_a_centred_blob_peaks_at_its_centre() {
        let map = Array2::from_shape_fn((9, 11), |(r, c)| {
            let (dy, dx) = (r as f32 - 4.0, c as f32 - 5.0);
            (-(dx * dx + dy * dy) / 4.0).exp()
        });
        let z = kde(&map).unwrap();
        assert!((z[[4, 5]] - 1.0).abs() < 1e-6);
        assert!(z[[0, 0]] < z[[4, 5]] && z[[4, 4]] > z[[4, 0]]);
        // symmetric weights give a symmetric density
        assert!((z[[4, 2]] - z[[4, 8]]).abs() < 1e-6);
    }
}
