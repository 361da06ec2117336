//! The map as `ndarray` arrays, `rows x cols`, row-major like the grid: effects,
//! sample counts, standard errors and kinds (for NumPy: [`super::NPY_NAME`]).

use super::{CausalEffectMap, CellKind};
use ndarray::Array2;

impl CellKind {
    /// The kind as a small code for arrays: 0 none, 1 positive, 2 negative, 3 ROI.
    pub fn code(&self) -> u8 {
        match self {
            CellKind::None => 0,
            CellKind::Positive => 1,
            CellKind::Negative => 2,
            CellKind::Roi => 3,
        }
    }

    /// The kind of a [`CellKind::code`], `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<CellKind> {
        match code {
            0 => Some(CellKind::None),
            1 => Some(CellKind::Positive),
            2 => Some(CellKind::Negative),
            3 => Some(CellKind::Roi),
            _ => None,
        }
    }
}

impl CausalEffectMap {
    /// One value per cell as a `rows x cols` array.
    fn grid<T>(&self, value: impl Fn(&super::Cell) -> T) -> Array2<T> {
        Array2::from_shape_fn((self.rows as usize, self.cols as usize), |(r, c)| {
            value(&self.cells[r * self.cols as usize + c])
        })
    }

    /// Effects `phi` in dB as a `rows x cols` array (`+inf` for ROI cells, 0 below
    /// the tolerance); what `cem.npy` holds.
    ///
    /// ```
    /// use cem::map::{CausalEffectMap, MapInfo};
    /// use cem::image::Roi;
    /// # fn main() -> cem::Result<()> {
    /// let info = MapInfo::new("m", "dn", "img", Roi::new(0, 0, 8), 8);
    /// let map = CausalEffectMap::from_effects(1, 3, &[f64::INFINITY, 0.5, -0.25], info)?;
    /// let phi = map.effects();
    /// assert_eq!(phi.dim(), (1, 3));
    /// assert_eq!(phi[[0, 2]], -0.25);
    /// # Ok(()) }
    /// ```
    pub fn effects(&self) -> Array2<f64> {
        self.grid(|c| c.effect_db)
    }

    /// Interventions each cell's effect is the mean of (0 for ROI cells and cells
    /// outside a locality crop).
    pub fn samples(&self) -> Array2<u32> {
        self.grid(|c| c.samples)
    }

    /// The standard error of each cell's effect, in dB.
    pub fn std_err(&self) -> Array2<f64> {
        self.grid(|c| c.std_err)
    }

    /// Each cell's kind as its [`CellKind::code`]: 0 none, 1 positive, 2 negative,
    /// 3 ROI.
    pub fn kinds(&self) -> Array2<u8> {
        self.grid(|c| c.kind.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Roi;
    use crate::map::MapInfo;

    #[test]
    fn arrays_follow_the_grid() {
        let info = MapInfo::new("m", "dn", "img", Roi::new(8, 0, 8), 8);
        let e = [0.5, f64::INFINITY, 0.0, -1.0, 2.0, 0.0];
        let map = CausalEffectMap::from_effects(2, 3, &e, info).unwrap();
        let phi = map.effects();
        assert_eq!(phi.dim(), (2, 3));
        assert_eq!(phi[[0, 1]], f64::INFINITY);
        assert_eq!(phi[[1, 0]], -1.0);
        assert_eq!(phi.iter().copied().collect::<Vec<_>>()[..4], e[..4]);
        let k = map.kinds();
        assert_eq!(k.row(0).to_vec(), vec![1, 3, 0]);
        assert_eq!(k.row(1).to_vec(), vec![2, 1, 0]);
        for code in 0..4 {
            assert_eq!(CellKind::from_code(code).unwrap().code(), code);
        }
        assert_eq!(CellKind::from_code(4), None);
        assert_eq!(map.samples().dim(), (2, 3));
        assert_eq!(map.std_err().sum(), 0.0);
    }
}
