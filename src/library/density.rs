//! The gradient density `D` (Sec. VI-C) and sampling from it.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A histogram of the patch gradient `G` over a library, used to draw intervention
/// patches whose `G` follows that density.
///
/// Bins are `[k w, (k+1) w)` for a bin width `w` (default 16, so Fig. 17's ranges of 128
/// are eight bins each). Drawing picks a bin with probability proportional to its
/// weight, then a patch uniformly inside it. When the weights are the library's own
/// counts (the default), each patch is drawn with probability 1/N in distribution,
/// like uniform sampling; the difference from uniform appears when the weights come
/// from another source (see [`Density::reweighted`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Density {
    /// Width of each bin in units of `G`.
    pub bin_width: f64,
    /// Probability of each bin (sums to 1 over bins that have patches).
    pub weights: Vec<f64>,
    /// Library indices in each bin.
    #[serde(skip)]
    members: Vec<Vec<usize>>,
}

impl Density {
    /// The histogram of `gradients` with bins of `bin_width`.
    pub fn from_gradients(gradients: &[f64], bin_width: f64) -> Density {
        let bins = gradients
            .iter()
            .map(|g| (g / bin_width) as usize + 1)
            .max()
            .unwrap_or(1);
        let mut members = vec![Vec::new(); bins];
        for (i, g) in gradients.iter().enumerate() {
            members[(g / bin_width) as usize].push(i);
        }
        let n = gradients.len().max(1) as f64;
        let weights = members.iter().map(|m| m.len() as f64 / n).collect();
        Density {
            bin_width,
            weights,
            members,
        }
    }

    /// The same bins with weights from another density (e.g. one measured on a
    /// different photo collection); bins without patches here get no weight.
    pub fn reweighted(&self, other: &Density) -> Density {
        let mut weights: Vec<f64> = (0..self.members.len())
            .map(|b| {
                if self.members[b].is_empty() {
                    0.0
                } else {
                    other.weights.get(b).copied().unwrap_or(0.0)
                }
            })
            .collect();
        let total: f64 = weights.iter().sum();
        if total > 0.0 {
            weights.iter_mut().for_each(|w| *w /= total);
        }
        Density {
            bin_width: self.bin_width,
            weights,
            members: self.members.clone(),
        }
    }

    /// Draws a library index: a bin by weight, then a member uniformly.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.gen();
        let mut acc = 0.0;
        let mut last = 0;
        for (b, &w) in self.weights.iter().enumerate() {
            if self.members[b].is_empty() || w == 0.0 {
                continue;
            }
            last = b;
            acc += w;
            if u < acc {
                break;
            }
        }
        let m = &self.members[last];
        m[rng.gen_range(0..m.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn histogram_and_sampling_follow_weights() {
        let g = [1.0, 2.0, 3.0, 20.0, 40.0, 41.0];
        let d = Density::from_gradients(&g, 16.0);
        assert_eq!(d.weights.len(), 3);
        assert!((d.weights[0] - 0.5).abs() < 1e-12);
        assert!((d.weights[1] - 1.0 / 6.0).abs() < 1e-12);
        // reweight so that only the last bin counts
        let other = Density::from_gradients(&[33.0], 16.0);
        let r = d.reweighted(&other);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            assert!(r.sample(&mut rng) >= 4);
        }
        // the library's own weights: each bin drawn in proportion
        let hits = (0..6000).filter(|_| d.sample(&mut rng) < 3).count();
        assert!((hits as f64 / 6000.0 - 0.5).abs() < 0.03, "{hits}");
    }
}
