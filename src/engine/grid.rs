//! The grid of cells, in output and input pixels, and which cells touch the ROI.

use crate::degrade::PatchSite;
use crate::error::{Error, Result};
use crate::image::Roi;

/// The cells of a map: `block`-square in output pixels, `block / scale` in input pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Rows of cells.
    pub rows: u32,
    /// Columns of cells.
    pub cols: u32,
    /// Cell side in output pixels.
    pub block: u32,
    /// Cell side in input pixels.
    pub block_in: u32,
    /// Output image width.
    pub width: u32,
    /// Output image height.
    pub height: u32,
    roi_cells: Vec<bool>,
}

impl Grid {
    /// The grid for a `width x height` output, `block` output pixels a cell, SR `scale`.
    /// Fails if the block does not divide the image or is not a multiple of the scale,
    /// or if the ROI lies outside the image.
    pub fn new(width: u32, height: u32, block: u32, scale: u32, roi: Roi) -> Result<Grid> {
        if block == 0 {
            return Err(Error::invalid("block", block, "must be positive"));
        }
        if scale == 0 || !block.is_multiple_of(scale) {
            return Err(Error::BlockDoesNotDivide {
                block,
                what: "a whole number of input pixels: block must be a multiple of the SR scale"
                    .into(),
                value: scale,
            });
        }
        for (what, v) in [("image width", width), ("image height", height)] {
            if v % block != 0 || v == 0 {
                return Err(Error::BlockDoesNotDivide {
                    block,
                    what: what.into(),
                    value: v,
                });
            }
        }
        roi.check_inside(width, height)?;
        let (rows, cols) = (height / block, width / block);
        let overlaps = |start: u32, len: u32, cell: u32| {
            start < (cell + 1) * block && cell * block < start + len
        };
        let roi_cells = (0..rows * cols)
            .map(|i| overlaps(roi.y, roi.size, i / cols) && overlaps(roi.x, roi.size, i % cols))
            .collect();
        Ok(Grid {
            rows,
            cols,
            block,
            block_in: block / scale,
            width,
            height,
            roi_cells,
        })
    }

    /// Number of cells.
    pub fn len(&self) -> u32 {
        self.rows * self.cols
    }

    /// Whether the grid has no cells (never, for a built grid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether cell `i` (row-major) overlaps the ROI.
    pub fn is_roi(&self, i: u32) -> bool {
        self.roi_cells[i as usize]
    }

    /// Cells outside the ROI, in row-major order.
    pub fn intervened_cells(&self) -> Vec<u32> {
        (0..self.len()).filter(|&i| !self.is_roi(i)).collect()
    }

    /// Top-left of cell `i` in input pixels.
    pub fn input_origin(&self, i: u32) -> (u32, u32) {
        (
            (i % self.cols) * self.block_in,
            (i / self.cols) * self.block_in,
        )
    }

    /// Where cell `i` lies in output pixels, for [`crate::degrade::Degradation::degrade_patch`].
    pub fn site(&self, i: u32) -> PatchSite {
        PatchSite {
            x: (i % self.cols) * self.block,
            y: (i / self.cols) * self.block,
            image_width: self.width,
            image_height: self.height,
        }
    }
}

/// A well-mixed 64-bit seed for one intervention, from the map's seed, the stage,
/// the cell and the intervention's index (SplitMix64 steps). Results therefore do
/// not depend on batch size, order of evaluation, or interruptions.
pub(crate) fn intervention_seed(seed: u64, stage: u64, cell: u32, t: u32) -> u64 {
    let mut z = seed;
    for v in [stage, cell as u64, t as u64] {
        z = splitmix64(z ^ splitmix64(v.wrapping_add(0x9E37_79B9_7F4A_7C15)));
    }
    z
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_grid_for_sr_x4() {
        let g = Grid::new(256, 256, 8, 4, Roi::paper_demo()).unwrap();
        assert_eq!((g.rows, g.cols, g.block_in), (32, 32, 2));
        // ROI 96..128 x 152..184: columns 12..16, rows 19..23 -> 4 x 4 = 16 cells
        let roi: Vec<u32> = (0..g.len()).filter(|&i| g.is_roi(i)).collect();
        assert_eq!(roi.len(), 16);
        assert!(g.is_roi(19 * 32 + 12) && g.is_roi(22 * 32 + 15));
        assert!(!g.is_roi(18 * 32 + 12) && !g.is_roi(19 * 32 + 16));
        assert_eq!(g.input_origin(19 * 32 + 12), (24, 38));
        // an unaligned ROI touches one more cell each way
        let g = Grid::new(256, 256, 8, 1, Roi::new(97, 152, 32)).unwrap();
        assert_eq!((0..g.len()).filter(|&i| g.is_roi(i)).count(), 20);
    }

    #[test]
    fn bad_grids_name_the_value() {
        let e = Grid::new(250, 256, 8, 1, Roi::new(0, 0, 8)).unwrap_err();
        assert!(e.to_string().contains("250"), "{e}");
        assert!(Grid::new(256, 256, 6, 4, Roi::new(0, 0, 8)).is_err());
        assert!(matches!(
            Grid::new(256, 256, 8, 1, Roi::new(240, 0, 32)),
            Err(Error::RoiOutsideImage { .. })
        ));
    }

    #[test]
    fn seeds_differ_per_coordinate() {
        let a = intervention_seed(0, 0, 1, 2);
        assert_ne!(a, intervention_seed(0, 0, 2, 1));
        assert_ne!(a, intervention_seed(0, 1, 1, 2));
        assert_ne!(a, intervention_seed(1, 0, 1, 2));
        assert_eq!(a, intervention_seed(0, 0, 1, 2));
    }
}
