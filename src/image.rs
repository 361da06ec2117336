//! u8 RGB images: loading, saving, tensor and `ndarray` conversion ([`to_array`],
//! [`from_array`]: `H x W x 3`), crops and ROI PSNR.
//!
//! PSNR follows the authors' pipeline: the model output is clamped to [0, 1],
//! scaled by 255 and **rounded to u8** before it is compared with the ground truth;
//! MSE is taken over all three channels in float64 and PSNR is
//! `10 log10(255^2 / MSE)` (infinite for identical crops).

use crate::error::{Error, Result};
use ::image::{DynamicImage, RgbImage};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// A square region of interest, in output pixels: top-left corner and side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roi {
    /// Left edge (column of the first pixel).
    pub x: u32,
    /// Top edge (row of the first pixel).
    pub y: u32,
    /// Side length.
    pub size: u32,
}

impl Roi {
    /// A ROI with top-left `(x, y)` and side `size`.
    pub fn new(x: u32, y: u32, size: u32) -> Self {
        Roi { x, y, size }
    }

    /// The paper's demo ROI: x=96, y=152, size 32.
    pub fn paper_demo() -> Self {
        Roi::new(96, 152, 32)
    }

    /// Parses `"X,Y,SIZE"`.
    pub fn parse(text: &str) -> Result<Self> {
        let parts: Vec<&str> = text.split(',').map(str::trim).collect();
        let bad = || {
            Error::invalid(
                "roi",
                text,
                "expected X,Y,SIZE with three non-negative integers",
            )
        };
        if parts.len() != 3 {
            return Err(bad());
        }
        let n = |s: &str| s.parse::<u32>().map_err(|_| bad());
        let roi = Roi::new(n(parts[0])?, n(parts[1])?, n(parts[2])?);
        if roi.size == 0 {
            return Err(Error::invalid("roi", text, "size must be positive"));
        }
        Ok(roi)
    }

    /// Fails with [`Error::RoiOutsideImage`] unless the ROI lies inside a `width` x `height` image.
    pub fn check_inside(&self, width: u32, height: u32) -> Result<()> {
        let fits = self.size > 0
            && self.x.checked_add(self.size).is_some_and(|r| r <= width)
            && self.y.checked_add(self.size).is_some_and(|b| b <= height);
        if fits {
            Ok(())
        } else {
            Err(Error::RoiOutsideImage {
                x: self.x,
                y: self.y,
                size: self.size,
                width,
                height,
            })
        }
    }
}

impl std::fmt::Display for Roi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{}", self.x, self.y, self.size)
    }
}

/// Loads a PNG or JPEG as RGB u8 (an alpha channel is dropped, as PIL's `convert("RGB")` does).
pub fn load_rgb(path: impl AsRef<Path>) -> Result<RgbImage> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::image_read(path, e))?;
    decode_rgb(&bytes).map_err(|e| match e {
        Error::Image { op, source, .. } => Error::Image {
            op,
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })
}

/// Decodes PNG or JPEG bytes as RGB u8.
pub fn decode_rgb(bytes: &[u8]) -> Result<RgbImage> {
    let img = ::image::load_from_memory(bytes).map_err(|e| Error::image_read("<memory>", e))?;
    Ok(match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    })
}

/// Saves an RGB image; the format follows the extension (`.png`, `.jpg`).
pub fn save_rgb(img: &RgbImage, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    crate::paths::create_parent(path)?;
    img.save(path).map_err(|e| Error::image_write(path, e))
}

/// Encodes an RGB image as PNG bytes.
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ::image::ImageFormat::Png)
        .map_err(|e| Error::image_write("<png>", e))?;
    Ok(out.into_inner())
}

/// An RGB u8 image as a float tensor `[1, 3, H, W]` in [0, 1] on `device`.
pub fn to_tensor(img: &RgbImage, device: Device) -> Tensor {
    let (w, h) = img.dimensions();
    raw_to_tensor(img.as_raw(), 1, h, w, device)
}

/// `n` RGB u8 images of `h x w`, interleaved and concatenated (as `RgbImage` stores
/// them), as a float tensor `[n, 3, h, w]` in [0, 1] on `device`.
pub fn raw_to_tensor(raw: &[u8], n: usize, h: u32, w: u32, device: Device) -> Tensor {
    Tensor::from_slice(raw)
        .view([n as i64, h as i64, w as i64, 3])
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float)
        .divide_scalar(255.0)
        .to_device(device)
}

/// The u8 rounding every measurement uses: clamp to [0, 1], scale by 255, round
/// half to even (as NumPy's `round`). Returns float values in 0..=255.
pub fn quantize_u8(t: &Tensor) -> Tensor {
    t.clamp(0.0, 1.0).multiply_scalar(255.0).round()
}

/// A model output tensor (`[1, 3, H, W]` or `[3, H, W]`, floats in [0, 1]) as the u8
/// RGB image PSNR is measured on.
pub fn tensor_to_rgb(t: &Tensor) -> Result<RgbImage> {
    let t = match t.dim() {
        4 if t.size()[0] == 1 => t.squeeze_dim(0),
        3 => t.shallow_clone(),
        _ => {
            return Err(Error::SizeMismatch {
                what: "image tensor".into(),
                expected: "[1, 3, H, W] or [3, H, W]".into(),
                got: format!("{:?}", t.size()),
            })
        }
    };
    let size = t.size();
    if size[0] != 3 {
        return Err(Error::SizeMismatch {
            what: "image tensor channels".into(),
            expected: "3".into(),
            got: size[0].to_string(),
        });
    }
    let (h, w) = (size[1], size[2]);
    let hwc = quantize_u8(&t.to_kind(Kind::Float))
        .permute([1, 2, 0])
        .to_kind(Kind::Uint8)
        .to_device(Device::Cpu)
        .contiguous();
    let mut raw = vec![0u8; (h * w * 3) as usize];
    let n = raw.len();
    hwc.f_copy_data(&mut raw, n)?;
    RgbImage::from_raw(w as u32, h as u32, raw).ok_or_else(|| Error::SizeMismatch {
        what: "image buffer".into(),
        expected: format!("{}", h * w * 3),
        got: "other".into(),
    })
}

/// Copies out the `w` x `h` region at `(x, y)`.
pub fn crop(img: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> Result<RgbImage> {
    let (iw, ih) = img.dimensions();
    if x.saturating_add(w) > iw || y.saturating_add(h) > ih || w == 0 || h == 0 {
        return Err(Error::invalid(
            "crop",
            format!("x={x} y={y} w={w} h={h}"),
            format!("must lie inside the {iw}x{ih} image"),
        ));
    }
    Ok(::image::imageops::crop_imm(img, x, y, w, h).to_image())
}

/// PSNR in dB between two u8 images of the same size, MSE in float64 over all channels.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> Result<f64> {
    if a.dimensions() != b.dimensions() {
        return Err(Error::SizeMismatch {
            what: "PSNR operands".into(),
            expected: format!("{:?}", a.dimensions()),
            got: format!("{:?}", b.dimensions()),
        });
    }
    let sum: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&p, &q)| {
            let d = p as f64 - q as f64;
            d * d
        })
        .sum();
    Ok(psnr_from_mse(sum / a.as_raw().len() as f64))
}

/// `10 log10(255^2 / mse)`; infinite when `mse` is zero.
pub fn psnr_from_mse(mse: f64) -> f64 {
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// ROI PSNR of a u8 output against the ground truth, as the reference measures it.
pub fn roi_psnr(output: &RgbImage, truth: &RgbImage, roi: Roi) -> Result<f64> {
    let (w, h) = truth.dimensions();
    roi.check_inside(w, h)?;
    if output.dimensions() != truth.dimensions() {
        return Err(Error::SizeMismatch {
            what: "output vs ground truth".into(),
            expected: format!("{w}x{h}"),
            got: format!("{}x{}", output.width(), output.height()),
        });
    }
    psnr(
        &crop(output, roi.x, roi.y, roi.size, roi.size)?,
        &crop(truth, roi.x, roi.y, roi.size, roi.size)?,
    )
}

/// ROI PSNR measured on the device for a whole batch of model outputs; only the
/// `N` numbers come back to the host.
pub struct RoiMeter {
    truth: Tensor,
    roi: Roi,
    at: (u32, u32),
}

impl RoiMeter {
    /// Prepares the ground-truth ROI on `device`.
    pub fn new(truth: &RgbImage, roi: Roi, device: Device) -> Result<Self> {
        let (w, h) = truth.dimensions();
        roi.check_inside(w, h)?;
        let crop = crop(truth, roi.x, roi.y, roi.size, roi.size)?;
        let truth = to_tensor(&crop, device)
            .multiply_scalar(255.0)
            .round()
            .to_kind(Kind::Double);
        Ok(RoiMeter {
            truth,
            roi,
            at: (roi.x, roi.y),
        })
    }

    /// The same meter for outputs of a crop whose top-left is `(x, y)` in output
    /// pixels (the ROI must lie inside the crop).
    pub fn relative_to(mut self, x: u32, y: u32) -> Self {
        self.at = (self.roi.x - x, self.roi.y - y);
        self
    }

    /// Per-output MSE over the ROI of `[N, 3, H, W]` outputs (floats in [0, 1]), as a
    /// float64 tensor `[N]` left on the device (no synchronisation).
    pub fn mse_tensor(&self, outputs: &Tensor) -> Result<Tensor> {
        let (x, y, size) = (self.at.0 as i64, self.at.1 as i64, self.roi.size as i64);
        let crop = outputs.f_narrow(2, y, size)?.f_narrow(3, x, size)?;
        let diff = quantize_u8(&crop).to_kind(Kind::Double) - &self.truth;
        Ok(diff
            .square()
            .mean_dim([1i64, 2, 3].as_slice(), false, Kind::Double))
    }

    /// PSNR of each output in `[N, 3, H, W]` (floats in [0, 1]) over the ROI, in dB.
    pub fn measure(&self, outputs: &Tensor) -> Result<Vec<f64>> {
        let mse = Vec::<f64>::try_from(self.mse_tensor(outputs)?.to_device(Device::Cpu))?;
        Ok(mse.into_iter().map(psnr_from_mse).collect())
    }
}

/// An RGB image as an `ndarray` array `H x W x 3` (rows, columns, channels), the
/// layout NumPy and matplotlib use.
///
/// ```
/// let img = image::RgbImage::from_fn(4, 2, |x, y| image::Rgb([x as u8, y as u8, 7]));
/// let a = cem::image::to_array(&img);
/// assert_eq!(a.dim(), (2, 4, 3));
/// assert_eq!(a[[1, 3, 0]], 3); // row 1, column 3, red
/// assert_eq!(cem::image::from_array(&a).unwrap(), img);
/// ```
pub fn to_array(img: &RgbImage) -> ndarray::Array3<u8> {
    let (w, h) = img.dimensions();
    ndarray::Array3::from_shape_vec((h as usize, w as usize, 3), img.as_raw().clone())
        .expect("an RgbImage holds H x W x 3 bytes")
}

/// An `H x W x 3` array (any memory layout) as an RGB image; other shapes are refused.
pub fn from_array<'a>(a: impl Into<ndarray::ArrayView3<'a, u8>>) -> Result<RgbImage> {
    let a = a.into();
    let (h, w, c) = a.dim();
    if c != 3 || h == 0 || w == 0 || h > u32::MAX as usize || w > u32::MAX as usize {
        return Err(Error::SizeMismatch {
            what: "image array".into(),
            expected: "H x W x 3 (rows, columns, RGB), H and W at least 1".into(),
            got: format!("{h} x {w} x {c}"),
        });
    }
    let raw: Vec<u8> = a.iter().copied().collect();
    Ok(RgbImage::from_raw(w as u32, h as u32, raw).expect("H x W x 3 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_round_trip_and_refuse_other_shapes() {
        let img = RgbImage::from_fn(5, 3, |x, y| ::image::Rgb([x as u8, y as u8, (x * y) as u8]));
        let a = to_array(&img);
        assert_eq!(a.dim(), (3, 5, 3));
        assert_eq!(a[[2, 4, 2]], 8);
        assert_eq!(from_array(&a).unwrap(), img);
        // a transposed (non-standard layout) view converts by its logical order
        let t = a.view().permuted_axes([1, 0, 2]);
        assert_eq!(from_array(t).unwrap().dimensions(), (3, 5));
        assert_eq!(from_array(t).unwrap().get_pixel(2, 4).0, [4, 2, 8]);
        let grey = ndarray::Array3::<u8>::zeros((3, 5, 1));
        let err = from_array(&grey).unwrap_err().to_string();
        assert!(err.contains("3 x 5 x 1"), "{err}");
    }

    #[test]
    fn roi_parse_and_bounds() {
        let r = Roi::parse("96,152,32").unwrap();
        assert_eq!(r, Roi::paper_demo());
        assert!(r.check_inside(256, 256).is_ok());
        assert!(r.check_inside(128, 256).is_ok());
        assert!(matches!(
            r.check_inside(127, 256),
            Err(Error::RoiOutsideImage { width: 127, .. })
        ));
        assert!(Roi::parse("1,2").is_err());
        assert!(Roi::parse("1,2,0").is_err());
        assert!(Roi::new(u32::MAX, 0, 2).check_inside(10, 10).is_err());
    }

    #[test]
    fn psnr_matches_hand_computation() {
        let a = RgbImage::from_pixel(4, 4, ::image::Rgb([10, 20, 30]));
        let mut b = a.clone();
        b.put_pixel(0, 0, ::image::Rgb([12, 20, 30]));
        // one value off by 2 among 48: MSE = 4/48
        let expected = 10.0 * (255.0f64.powi(2) / (4.0 / 48.0)).log10();
        assert!((psnr(&a, &b).unwrap() - expected).abs() < 1e-12);
        assert!(psnr(&a, &a).unwrap().is_infinite());
    }

    #[test]
    fn tensor_round_trip_and_rounding() {
        let mut img = RgbImage::new(3, 2);
        for (i, p) in img.pixels_mut().enumerate() {
            *p = ::image::Rgb([i as u8 * 40, 255 - i as u8, 7]);
        }
        let t = to_tensor(&img, Device::Cpu);
        assert_eq!(t.size(), vec![1, 3, 2, 3]);
        assert_eq!(tensor_to_rgb(&t).unwrap(), img);
        // 0.5/255 above a level rounds half to even, beyond 1 clamps
        let t = Tensor::from_slice(&[2.5f32 / 255.0, 3.5 / 255.0, 1.7, -0.2]).view([1, 1, 4]);
        let q = Vec::<f32>::try_from(quantize_u8(&t).flatten(0, -1)).unwrap();
        assert_eq!(q, vec![2.0, 4.0, 255.0, 0.0]);
    }

    #[test]
    fn device_meter_equals_host_psnr() {
        let mut gt = RgbImage::new(16, 16);
        let mut out = RgbImage::new(16, 16);
        for (i, (p, q)) in gt.pixels_mut().zip(out.pixels_mut()).enumerate() {
            *p = ::image::Rgb([(i * 7 % 256) as u8, (i * 3 % 256) as u8, (i % 256) as u8]);
            *q = ::image::Rgb([
                (i * 7 % 251) as u8,
                (i * 3 % 256) as u8,
                (i * 5 % 256) as u8,
            ]);
        }
        let roi = Roi::new(4, 2, 8);
        let meter = RoiMeter::new(&gt, roi, Device::Cpu).unwrap();
        let batch = Tensor::cat(
            &[to_tensor(&out, Device::Cpu), to_tensor(&gt, Device::Cpu)],
            0,
        );
        let got = meter.measure(&batch).unwrap();
        assert!((got[0] - roi_psnr(&out, &gt, roi).unwrap()).abs() < 1e-9);
        assert!(got[1].is_infinite());
    }
}
