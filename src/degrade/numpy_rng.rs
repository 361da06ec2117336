//! NumPy's legacy global generator (`np.random.seed`, `RandomState`) and Python's
//! `random` module, draw for draw, so that inputs made by the authors' Python code
//! can be rebuilt bit for bit.
//!
//! Both are the Mersenne Twister MT19937. They differ in seeding: NumPy's
//! `np.random.seed(n)` uses the reference `init_genrand(n)`; Python's
//! `random.seed(n)` uses `init_by_array` on the 32-bit words of `|n|`.
//!
//! ```
//! use cem::degrade::numpy_rng::RandomState;
//! // python -c "import numpy as np; np.random.seed(0); print(repr(np.random.random_sample()))"
//! let mut rs = RandomState::seed(0);
//! assert_eq!(rs.random_sample(), 0.5488135039273248);
//! ```

use crate::error::{Error, Result};

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The MT19937 Mersenne Twister (32-bit outputs), as NumPy and CPython implement it.
#[derive(Clone)]
pub struct Mt19937 {
    key: [u32; N],
    pos: usize,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mt19937 {{ pos: {} }}", self.pos)
    }
}

impl Mt19937 {
    /// The reference `init_genrand(seed)` (NumPy's `np.random.seed(int)`).
    pub fn init_genrand(seed: u32) -> Self {
        let mut key = [0u32; N];
        key[0] = seed;
        for i in 1..N {
            key[i] = 1_812_433_253u32
                .wrapping_mul(key[i - 1] ^ (key[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { key, pos: N }
    }

    /// The reference `init_by_array(words)` (CPython's `random.seed(int)`).
    pub fn init_by_array(words: &[u32]) -> Self {
        let mut mt = Mt19937::init_genrand(19_650_218);
        let key = &mut mt.key;
        let len = words.len().max(1);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(len) {
            let prev = key[i - 1] ^ (key[i - 1] >> 30);
            key[i] = (key[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(words.get(j).copied().unwrap_or(0))
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                key[0] = key[N - 1];
                i = 1;
            }
            if j >= len {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = key[i - 1] ^ (key[i - 1] >> 30);
            key[i] = (key[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                key[0] = key[N - 1];
                i = 1;
            }
        }
        key[0] = 0x8000_0000;
        mt.pos = N;
        mt
    }

    fn generate(&mut self) {
        let k = &mut self.key;
        for i in 0..N {
            let y = (k[i] & UPPER_MASK) | (k[(i + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            k[i] = k[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }

    /// The next 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A double in [0, 1) with 53 random bits (`genrand_res53`, NumPy's
    /// `random_sample`, CPython's `random()`).
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }
}

/// NumPy's legacy `RandomState` (what `np.random.*` uses after `np.random.seed`).
#[derive(Debug, Clone)]
pub struct RandomState {
    mt: Mt19937,
    gauss: Option<f64>,
}

impl RandomState {
    /// `np.random.seed(seed)` (NumPy accepts 0 to 2^32 - 1).
    pub fn seed(seed: u32) -> Self {
        RandomState {
            mt: Mt19937::init_genrand(seed),
            gauss: None,
        }
    }

    /// `np.random.seed(seed)` for a 64-bit seed: an error above 2^32 - 1, as NumPy's
    /// "Seed must be between 0 and 2**32 - 1".
    pub fn try_seed(seed: u64) -> Result<Self> {
        u32::try_from(seed).map(RandomState::seed).map_err(|_| {
            Error::invalid(
                "NumPy seed",
                seed,
                "must be between 0 and 2**32 - 1 (np.random.seed)",
            )
        })
    }

    /// The next raw 32-bit output of the underlying MT19937.
    pub fn next_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// `np.random.random_sample()`: a double in [0, 1).
    pub fn random_sample(&mut self) -> f64 {
        self.mt.next_f64()
    }

    /// `np.random.uniform(low, high)`: `low + (high - low) * random_sample()`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.random_sample()
    }

    /// `np.random.standard_normal()`: the legacy polar method, which makes two values
    /// per accepted pair and returns the cached second one on the next call.
    pub fn gauss(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `np.random.normal(loc, scale)`: `loc + scale * gauss()`.
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.gauss()
    }

    /// `np.random.randint(low, high)` (default dtype `int64`): an integer in
    /// `[low, high)` by the legacy masked rejection sampling on 32-bit draws when the
    /// range fits in 32 bits, on 64-bit draws (two 32-bit words, high first) otherwise.
    pub fn randint(&mut self, low: i64, high: i64) -> Result<i64> {
        if high <= low {
            return Err(Error::invalid(
                "randint range",
                format!("[{low}, {high})"),
                "low must be below high",
            ));
        }
        let rng = (high as i128 - 1 - low as i128) as u64;
        let off = low as u64;
        let val = if rng == 0 {
            0
        } else if rng <= 0xffff_ffff {
            if rng == 0xffff_ffff {
                self.next_u32() as u64
            } else {
                let mask = mask_for(rng);
                loop {
                    let v = (self.next_u32() as u64) & mask;
                    if v <= rng {
                        break v;
                    }
                }
            }
        } else if rng == u64::MAX {
            self.next_u64()
        } else {
            let mask = mask_for(rng);
            loop {
                let v = self.next_u64() & mask;
                if v <= rng {
                    break v;
                }
            }
        };
        Ok(off.wrapping_add(val) as i64)
    }

    fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        (hi << 32) | self.next_u32() as u64
    }

    /// `np.random.choice(n, p=p)` without a size: the index `i` of the first
    /// cumulative probability (normalised by the last) above one `random_sample()`
    /// (`cdf.searchsorted(u, side="right")`). `p` must be non-negative and sum to 1
    /// within `sqrt(eps)`, as NumPy checks.
    pub fn choice_p(&mut self, p: &[f64]) -> Result<usize> {
        if p.is_empty() || p.iter().any(|&v| !(v.is_finite() && v >= 0.0)) {
            return Err(Error::invalid(
                "choice probabilities",
                format!("{p:?}"),
                "must be a non-empty list of finite non-negative numbers",
            ));
        }
        let mut cdf: Vec<f64> = p
            .iter()
            .scan(0.0, |s, &v| {
                *s += v;
                Some(*s)
            })
            .collect();
        let total = cdf[cdf.len() - 1];
        if (total - 1.0).abs() > f64::EPSILON.sqrt() {
            return Err(Error::invalid(
                "choice probabilities",
                format!("{p:?}"),
                "must sum to 1",
            ));
        }
        for c in &mut cdf {
            *c /= total;
        }
        let u = self.random_sample();
        Ok(cdf.partition_point(|&c| c <= u).min(p.len() - 1))
    }
}

/// The smallest `2^k - 1` at or above `v`.
fn mask_for(v: u64) -> u64 {
    let mut m = v;
    m |= m >> 1;
    m |= m >> 2;
    m |= m >> 4;
    m |= m >> 8;
    m |= m >> 16;
    m |= m >> 32;
    m
}

/// Python's `random` module (`random.seed(int)`, `getrandbits`, `choice`).
#[derive(Debug, Clone)]
pub struct PyRandom {
    mt: Mt19937,
}

impl PyRandom {
    /// `random.seed(n)`: `init_by_array` of the 32-bit words of `|n|`, least
    /// significant first (a single zero word for 0).
    pub fn seed(n: i64) -> Self {
        let mut v = n.unsigned_abs();
        let mut words = Vec::new();
        while v > 0 {
            words.push(v as u32);
            v >>= 32;
        }
        if words.is_empty() {
            words.push(0);
        }
        PyRandom {
            mt: Mt19937::init_by_array(&words),
        }
    }

    /// `random.random()`.
    pub fn random(&mut self) -> f64 {
        self.mt.next_f64()
    }

    /// `random.getrandbits(k)` for `1 <= k <= 32`.
    pub fn getrandbits(&mut self, k: u32) -> Result<u32> {
        if !(1..=32).contains(&k) {
            return Err(Error::invalid("getrandbits width", k, "must be 1 to 32"));
        }
        Ok(self.mt.next_u32() >> (32 - k))
    }

    /// `random._randbelow(n)`: `getrandbits(n.bit_length())` until it is below `n`.
    pub fn randbelow(&mut self, n: u32) -> Result<u32> {
        if n == 0 {
            return Ok(0);
        }
        let k = 32 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k)?;
            if r < n {
                return Ok(r);
            }
        }
    }

    /// `random.choice(seq)`.
    pub fn choice<'a, T>(&mut self, seq: &'a [T]) -> Result<&'a T> {
        if seq.is_empty() {
            return Err(Error::invalid(
                "random.choice",
                "[]",
                "cannot choose from an empty sequence",
            ));
        }
        let n = u32::try_from(seq.len())
            .map_err(|_| Error::invalid("random.choice length", seq.len(), "above 2^32"))?;
        Ok(&seq[self.randbelow(n)? as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference MT19937 output for `init_by_array({0x123, 0x234, 0x345, 0x456})`
    /// (mt19937ar.out, first values).
    #[test]
    fn reference_init_by_array_outputs() {
        let mut mt = Mt19937::init_by_array(&[0x123, 0x234, 0x345, 0x456]);
        let got: Vec<u32> = (0..5).map(|_| mt.next_u32()).collect();
        assert_eq!(
            got,
            vec![1067595299, 955945823, 477289528, 4107218783, 4228976476]
        );
    }

    #[test]
    fn mask_and_errors() {
        assert_eq!(mask_for(10), 15);
        assert_eq!(mask_for(16), 31);
        let mut rs = RandomState::seed(1);
        assert!(rs.randint(5, 5).is_err());
        assert!(rs.choice_p(&[0.5, 0.4]).is_err());
        assert!(rs.choice_p(&[]).is_err());
        assert!(RandomState::try_seed(1 << 32).is_err());
        assert!(PyRandom::seed(1).choice::<u8>(&[]).is_err());
    }
}
