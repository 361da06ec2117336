//! What every part of a run reads: the model, the degradation, the ground truth, the
//! library, the grid and the seed. The locality check ([`super::locality`]) and the
//! batched runner ([`super::runner`]) both work from one [`Context`].

use super::grid::Grid;
use crate::degrade::Degradation;
use crate::library::Library;
use crate::model::Model;
use ::image::RgbImage;

/// The fixed facts of one run, shared by its locality check and its stages.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    pub model: &'a dyn Model,
    pub degradation: &'a dyn Degradation,
    /// The clean ground truth (degradations with a halo paste patches into it).
    pub hr: &'a RgbImage,
    pub library: &'a Library,
    pub grid: &'a Grid,
    /// SR scale (1 for restoration).
    pub scale: u32,
    /// The one seed every intervention's randomness derives from.
    pub seed: u64,
}
