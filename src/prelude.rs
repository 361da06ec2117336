//! What a notebook needs, in one `use cem::prelude::*;`.

pub use crate::degrade::{Bicubic, Degradation, GaussianNoise, PatchSite, Rain, Task};
pub use crate::degrade::{RngKind, SuppliedRain};
pub use crate::display::{show, show_column, show_row, Picture};
pub use crate::engine::{Cem, RunOptions, Strategy};
pub use crate::error::{Error, Result};
pub use crate::image::{load_rgb, roi_psnr, save_rgb, tensor_to_rgb, to_tensor, Roi};
pub use crate::library::{Library, Sampling};
pub use crate::map::{CausalEffectMap, CellKind, MapRun};
pub use crate::model::{forward_checked, parse_device, FnModel, Model, Native, TorchScript};
pub use crate::plot::MapStyle;
pub use crate::stats::{MapSet, Table, Table1Row};
pub use crate::zoo::{Arch, NetConfig, Network};
pub use ::image::RgbImage;
pub use tch::{Device, Kind, Tensor};
