//! The Gini index of an attribution map and LAM's diffusion index.

/// The authors' `gini(array)`: flatten; shift so the minimum is 0 if it is negative;
/// add 1e-7; sort ascending; `G = sum((2i - n - 1) a_i) / (n sum a_i)` for `i = 1..n`.
/// Returns NaN for an empty slice.
///
/// ```
/// use cem::attrib::gini;
/// assert!(gini(&[1.0, 1.0, 1.0, 1.0]).abs() < 1e-12);
/// assert!((gini(&[0.0, 0.0, 0.0, 1.0]) - 0.75).abs() < 1e-6);
/// ```
pub fn gini(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let shift = if min < 0.0 { -min } else { 0.0 };
    let mut a: Vec<f64> = values.iter().map(|v| v + shift + 1e-7).collect();
    a.sort_by(|x, y| x.total_cmp(y));
    let n = a.len() as f64;
    let total: f64 = a.iter().sum();
    let weighted: f64 = a
        .iter()
        .enumerate()
        .map(|(i, v)| (2.0 * (i + 1) as f64 - n - 1.0) * v)
        .sum();
    weighted / (n * total)
}

/// LAM's diffusion index, `(1 - G) * 100`.
pub fn diffusion_index(gini: f64) -> f64 {
    (1.0 - gini) * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_zero_and_one_hot_is_n_minus_one_over_n() {
        for n in [1usize, 5, 64] {
            assert!(gini(&vec![0.3; n]).abs() < 1e-12, "uniform n={n}");
            let mut one_hot = vec![0.0; n];
            one_hot[n / 2] = 1.0;
            let expected = (n as f64 - 1.0) / n as f64;
            // the 1e-7 added to every value moves it by about n * 1e-7
            assert!((gini(&one_hot) - expected).abs() < 1e-5, "one-hot n={n}");
        }
        // negative values shift to a minimum of 0: [-1, 1] is one-hot [0, 2]
        assert!((gini(&[-1.0, 1.0]) - 0.5).abs() < 1e-6);
        // by hand: [1, 2, 3] -> (-2*1 + 0*2 + 2*3) / (3 * 6) = 4/18
        assert!((gini(&[3.0, 1.0, 2.0]) - 4.0 / 18.0).abs() < 1e-7);
        assert!((diffusion_index(0.25) - 75.0).abs() < 1e-12);
        assert!(gini(&[]).is_nan());
    }
}
