//! Stratified draws for the adaptive strategy (`adaptive-s`).
//!
//! Most of a cell's draw-to-draw spread comes from how bright the pasted patch is
//! beside the cell's neighbours. With `-s`, a sensitive cell's draws after screening
//! visit the library's [`STRATA`] equal-count brightness strata in turn
//! ([`crate::library::Strata`]; each block of `K` draws takes one patch from every
//! stratum, in a shuffled order), and its estimate is the **stratified mean**
//!
//! `sum_h w_h mean_h`, `w_h` the share of the library in stratum `h`,
//!
//! over all its draws, the screening ones included (each counted in the stratum of its
//! patch). Within a stratum every patch is equally likely, so each `mean_h` is an
//! unbiased estimate of the stratum's expected effect whatever the counts, and the
//! stratified mean estimates the same expected effect as the plain mean. Its variance,
//! `s_w^2 sum_h w_h^2 / n_h` (`s_w^2` the pooled within-stratum variance), leaves out
//! the spread *between* strata: on the authors' DnCNN (demo_2, eight cells beside the
//! ROI, 400 draws each, resampled at 30 draws; `scripts/strata_variance.py`) a mean
//! absolute error 0.76 times the plain mean's (a variance about 0.57 times), against
//! 0.83 (about 0.69) for the channel-mean control variates of `-cv`
//! (docs/table3.md, "Stratified draws"). Unlike a regression it fits nothing, so it
//! costs nothing at small `n` and carries no `O(1/n)` bias.
//!
//! Until every stratum has two draws (a variance needs two), the cell uses the plain
//! mean, which is unbiased too.
//!
//! ```
//! use cem::engine::StratifiedMean;
//! // two strata of equal weight: effects 1 and 3, whatever the counts
//! let mut s = StratifiedMean::new(&[0.5, 0.5]);
//! for (e, h) in [(1.0, 0), (1.0, 0), (1.0, 0), (3.0, 1), (3.0, 1)] {
//!     s.push(e, h);
//! }
//! let (mean, sd) = s.estimate().unwrap();
//! assert!((mean - 2.0).abs() < 1e-12 && sd < 1e-12); // the plain mean would say 1.8
//! ```

use crate::library::STRATA;

/// Running per-stratum counts, means and squared deviations (Welford's update).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StratifiedMean {
    /// Strata in use (0: not stratified).
    k: usize,
    weights: [f64; STRATA],
    n: [u32; STRATA],
    mean: [f64; STRATA],
    m2: [f64; STRATA],
}

impl StratifiedMean {
    /// No draws yet, strata of these weights (at most [`STRATA`]; they need not sum to 1
    /// exactly, they are normalised).
    pub fn new(weights: &[f64]) -> StratifiedMean {
        let k = weights.len().min(STRATA);
        let total: f64 = weights[..k].iter().sum();
        let mut w = [0.0; STRATA];
        for (slot, &v) in w.iter_mut().zip(&weights[..k]) {
            *slot = if total > 0.0 { v / total } else { 0.0 };
        }
        StratifiedMean {
            k,
            weights: w,
            ..StratifiedMean::default()
        }
    }

    /// Whether strata are set.
    pub fn is_on(&self) -> bool {
        self.k > 0
    }

    /// Adds one effect drawn in stratum `h` (ignored when `h` is not one of the strata).
    pub fn push(&mut self, y: f64, h: usize) {
        if h >= self.k {
            return;
        }
        self.n[h] += 1;
        let d = y - self.mean[h];
        self.mean[h] += d / self.n[h] as f64;
        self.m2[h] += d * (y - self.mean[h]);
    }

    /// Draws so far, over all strata.
    pub fn count(&self) -> u32 {
        self.n[..self.k].iter().sum()
    }

    /// The stratified mean and the per-draw sd that gives its standard error (`sd /
    /// sqrt(n)` equals `sqrt(s_w^2 sum_h w_h^2 / n_h)`, `s_w^2` pooled within strata):
    /// `None` until every stratum of positive weight has two draws.
    pub fn estimate(&self) -> Option<(f64, f64)> {
        let k = self.k;
        let used: Vec<usize> = (0..k).filter(|&h| self.weights[h] > 0.0).collect();
        if used.is_empty() || used.iter().any(|&h| self.n[h] < 2) {
            return None;
        }
        let n: u32 = used.iter().map(|&h| self.n[h]).sum();
        let mean: f64 = used.iter().map(|&h| self.weights[h] * self.mean[h]).sum();
        let within =
            used.iter().map(|&h| self.m2[h]).sum::<f64>() / (n as usize - used.len()) as f64;
        let spread: f64 = used
            .iter()
            .map(|&h| self.weights[h].powi(2) / self.n[h] as f64)
            .sum();
        let sd = (within.max(0.0) * spread * n as f64).sqrt();
        Some((mean, sd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn below_two_draws_a_stratum_there_is_no_estimate() {
        let mut s = StratifiedMean::new(&[0.25; 4]);
        for h in 0..4 {
            s.push(h as f64, h);
        }
        assert!(s.estimate().is_none());
        for h in 0..3 {
            s.push(h as f64, h);
        }
        assert!(s.estimate().is_none());
        s.push(3.0, 3);
        assert!(s.estimate().is_some());
        // a stratum outside the set is ignored
        s.push(100.0, STRATA);
        assert_eq!(s.count(), 8);
    }

    #[test]
    fn stratified_means_are_unbiased_and_tighter_when_strata_differ() {
        // four strata with means 0, 1, 2, 3 and within sd 0.5; blocks of one draw per
        // stratum as the engine draws them: over many replications the stratified mean
        // centres on 1.5 with a smaller spread than plain sampling's mean, and its
        // reported standard error matches its spread
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (mut strat, mut plain, mut reported) = (vec![], vec![], vec![]);
        for _ in 0..3000 {
            let mut s = StratifiedMean::new(&[0.25; 4]);
            let mut sum = 0.0;
            for t in 0..24 {
                let h = t % 4;
                s.push(h as f64 + rng.gen_range(-0.866..0.866), h);
                let g = rng.gen_range(0..4);
                sum += g as f64 + rng.gen_range(-0.866..0.866);
            }
            let (m, sd) = s.estimate().unwrap();
            strat.push(m);
            reported.push(sd / 24f64.sqrt());
            plain.push(sum / 24.0);
        }
        let stats = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            (m, sd)
        };
        let ((ms, ss), (mp, sp)) = (stats(&strat), stats(&plain));
        assert!(
            (ms - 1.5).abs() < 0.01 && (mp - 1.5).abs() < 0.02,
            "{ms} {mp}"
        );
        // plain: sqrt((1.25 + 0.25) / 24) = 0.25; stratified: sqrt(0.25 / 24) = 0.10
        assert!(ss < 0.5 * sp, "stratified sd {ss} against plain {sp}");
        let mean_se = reported.iter().sum::<f64>() / reported.len() as f64;
        assert!(
            (mean_se / ss - 1.0).abs() < 0.1,
            "reported {mean_se} against {ss}"
        );
    }

    #[test]
    fn weights_are_normalised_and_unequal_strata_weigh_in() {
        let mut s = StratifiedMean::new(&[1.0, 3.0]);
        for _ in 0..2 {
            s.push(0.0, 0);
            s.push(4.0, 1);
        }
        assert_eq!(s.estimate().unwrap().0, 3.0);
    }
}
