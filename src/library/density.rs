//! The gradient density `D` (Sec. VI-C), the uniform-over-ranges density `U` of
//! Table III, and sampling from either.

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
    ///
    /// A bin width that is not a positive finite number is taken as 1; gradients are
    /// non-negative by construction (a negative or NaN one falls in the first bin).
    pub fn from_gradients(gradients: &[f64], bin_width: f64) -> Density {
        let bin_width = if bin_width.is_finite() && bin_width > 0.0 {
            bin_width
        } else {
            1.0
        };
        let bin = |g: f64| (g / bin_width) as usize; // saturating: NaN and negatives -> 0
        let bins = gradients.iter().map(|&g| bin(g) + 1).max().unwrap_or(1);
        let mut members = vec![Vec::new(); bins];
        for (i, &g) in gradients.iter().enumerate() {
            members[bin(g)].push(i);
        }
        let n = gradients.len().max(1) as f64;
        let weights = members.iter().map(|m| m.len() as f64 / n).collect();
        Density {
            bin_width,
            weights,
            members,
        }
    }

    /// Table III's `U`: bins of `bin_width` in `G` (Fig. 17 uses 128), each bin that
    /// holds at least one patch equally likely, then a patch uniformly inside it. Rare
    /// high-gradient patches are drawn far more often than in `D`.
    ///
    /// ```
    /// use cem::library::Density;
    /// // three flat patches and one edge: under U the edge is drawn half the time
    /// let u = Density::uniform_over_ranges(&[3.0, 10.0, 50.0, 300.0], 128.0);
    /// assert_eq!(u.weights, vec![0.5, 0.0, 0.5]);
    /// ```
    pub fn uniform_over_ranges(gradients: &[f64], bin_width: f64) -> Density {
        let mut d = Density::from_gradients(gradients, bin_width);
        let filled = d.members.iter().filter(|m| !m.is_empty()).count().max(1) as f64;
        d.weights = d
            .members
            .iter()
            .map(|m| if m.is_empty() { 0.0 } else { 1.0 / filled })
            .collect();
        d
    }

    /// The library indices in bin `b` (empty past the last bin).
    pub fn members(&self, b: usize) -> &[usize] {
        self.members.get(b).map_or(&[], Vec::as_slice)
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
