//! Brightness strata of a library, for stratified draws (the adaptive strategy's `-s`).
//!
//! A cell's effect varies from draw to draw mostly with what is pasted, and most of all
//! with how bright it is beside the cell's neighbours. Cutting the library into
//! [`STRATA`] equal-count strata by the patches' mean luma (Rec. 601) and drawing every
//! stratum equally often removes the between-strata part of that variance from a cell's
//! mean without changing what it estimates: every patch is still drawn with
//! probability `1/N` in distribution.
//!
//! ```
//! use cem::library::{Library, STRATA};
//! use rand::SeedableRng;
//! let lib = Library::from_images(
//!     &[("coffee".into(), cem::library::builtin_photo("coffee.png")?)], 200, 8, 0)?;
//! let strata = lib.strata();
//! assert_eq!(strata.len(), STRATA);
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let idx = strata.sample_in(3, &mut rng);
//! assert_eq!(strata.of(idx), 3);
//! # Ok::<(), cem::Error>(())
//! ```

use image::RgbImage;
use rand::Rng;

/// Strata per library: eight, which took out more variance than four at the 30 draws a
/// sensitive cell typically gets (docs/table3.md, "Stratified draws").
pub const STRATA: usize = 8;

/// A library cut into equal-count strata by mean luma.
#[derive(Debug, Clone)]
pub struct Strata {
    /// Each patch's stratum.
    of: Vec<u8>,
    /// Library indices in each stratum (darkest first).
    members: Vec<Vec<usize>>,
}

impl Strata {
    /// Cuts `patches` into `min(STRATA, N)` strata of equal count (sizes differ by at
    /// most one), by mean luma; ties keep library order.
    pub fn by_luma<'a>(patches: impl IntoIterator<Item = &'a RgbImage>) -> Strata {
        let luma: Vec<f64> = patches.into_iter().map(mean_luma).collect();
        let n = luma.len();
        let k = STRATA.min(n).max(1);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| luma[a].total_cmp(&luma[b]));
        let mut of = vec![0u8; n];
        let mut members = vec![Vec::new(); k];
        for (rank, &i) in order.iter().enumerate() {
            let h = rank * k / n;
            of[i] = h as u8;
            members[h].push(i);
        }
        for m in &mut members {
            m.sort_unstable();
        }
        Strata { of, members }
    }

    /// Number of strata.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no strata (an empty library).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The stratum of library patch `idx`.
    pub fn of(&self, idx: usize) -> usize {
        self.of[idx] as usize
    }

    /// The share of the library in each stratum (the weights of a stratified mean).
    pub fn weights(&self) -> Vec<f64> {
        let n = self.of.len().max(1) as f64;
        self.members.iter().map(|m| m.len() as f64 / n).collect()
    }

    /// A patch drawn uniformly from stratum `h`.
    pub fn sample_in(&self, h: usize, rng: &mut impl Rng) -> usize {
        let m = &self.members[h];
        m[rng.gen_range(0..m.len())]
    }
}

/// Mean Rec. 601 luma of a patch, 0-255.
fn mean_luma(p: &RgbImage) -> f64 {
    let sum: f64 = p
        .pixels()
        .map(|q| 0.299 * q[0] as f64 + 0.587 * q[1] as f64 + 0.114 * q[2] as f64)
        .sum();
    sum / (p.width() * p.height()).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use rand::SeedableRng;

    fn flat(v: u8) -> RgbImage {
        RgbImage::from_pixel(2, 2, Rgb([v, v, v]))
    }

    #[test]
    fn strata_are_equal_count_and_ordered_by_brightness() {
        // 20 patches, brightness 200, 190, ..., 10: eight strata of 2 or 3
        let patches: Vec<RgbImage> = (0..20).map(|i| flat(200 - 10 * i as u8)).collect();
        let s = Strata::by_luma(&patches);
        assert_eq!(s.len(), STRATA);
        let sizes: Vec<usize> = s.members.iter().map(Vec::len).collect();
        assert!(sizes.iter().all(|&c| c == 2 || c == 3), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 20);
        // the darkest patch (index 19) is in stratum 0, the brightest (0) in the last
        assert_eq!((s.of(19), s.of(0)), (0, STRATA - 1));
        // brightness never decreases from one stratum to the next
        for h in 1..STRATA {
            let max_prev = s.members[h - 1].iter().map(|&i| 200 - 10 * i).min();
            let min_here = s.members[h].iter().map(|&i| 200 - 10 * i).max();
            assert!(max_prev <= min_here, "stratum {h}");
        }
        let w = s.weights();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        for h in 0..STRATA {
            for _ in 0..20 {
                assert_eq!(s.of(s.sample_in(h, &mut rng)), h);
            }
        }
    }

    #[test]
    fn a_small_library_has_one_stratum_per_patch() {
        let s = Strata::by_luma(&[flat(10), flat(90), flat(50)]);
        assert_eq!(s.len(), 3);
        assert_eq!((s.of(0), s.of(2), s.of(1)), (0, 1, 2));
    }
}
