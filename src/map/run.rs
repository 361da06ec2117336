//! [`MapRun`]: the result of one run, everything a reader looks at: the map and its
//! record, the degraded input, the model's output and the ground truth. One
//! [`MapRun::save`] writes the result folder, one [`MapRun::load`] reads it back.

use super::files::{write_atomic, HR_NAME, INPUT_NAME, OUTPUT_NAME};
use super::{CausalEffectMap, MapInfo};
use crate::error::{Error, Result};
use crate::image::{encode_png, load_rgb};
use ::image::RgbImage;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

/// The result of [`Cem::run`](crate::engine::Cem::run): the [`CausalEffectMap`]
/// with its record ([`MapInfo`]), and the images the map was measured on.
///
/// A `MapRun` dereferences to its map, so every map method works on it directly
/// (`run.table1_line()`, `run.effects()`, `run.similarity(&other)`); in an evcxr
/// notebook a bare `run` shows the panel (input with the ROI, output, map, pie,
/// colour bar).
///
/// The images are `Some` for a fresh run. A folder written by an older version or by
/// hand may lack some; [`MapRun::load`] leaves those `None` and figures leave their
/// panels out ([`MapRun::missing_images`]).
///
/// ```no_run
/// use cem::prelude::*;
/// # fn main() -> cem::Result<()> {
/// let model = cem::demo::demo_model(Device::Cpu);
/// let hr = cem::demo::demo_image()?;
/// let run = Cem::coarse_to_fine().run(&model, &hr, &Task::Dn { sigma: 50.0 }, Roi::new(96, 152, 32))?;
/// println!("{}", run.table1_line());
/// run.save("out/my-map")?;          // cem.csv, cem.json, cem.npy, input/output/hr.png
/// let again = MapRun::load("out/my-map")?;
/// assert_eq!(again.map, run.map);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MapRun {
    /// The map, with its record in `map.info`.
    pub map: CausalEffectMap,
    /// The degraded input the model saw; the map is blended over it in figures.
    pub input: Option<RgbImage>,
    /// The model's output on that input, rounded to u8 as the ROI PSNR measures it.
    pub output: Option<RgbImage>,
    /// The ground truth the ROI PSNR compares with.
    pub hr: Option<RgbImage>,
}

impl MapRun {
    /// A result holding a map alone (e.g. an imported map); add images with
    /// [`MapRun::with_input`], [`MapRun::with_output`], [`MapRun::with_hr`].
    pub fn new(map: CausalEffectMap) -> Self {
        MapRun {
            map,
            input: None,
            output: None,
            hr: None,
        }
    }

    /// Adds the model input.
    pub fn with_input(mut self, input: RgbImage) -> Self {
        self.input = Some(input);
        self
    }

    /// Adds the model output.
    pub fn with_output(mut self, output: RgbImage) -> Self {
        self.output = Some(output);
        self
    }

    /// Adds the ground truth.
    pub fn with_hr(mut self, hr: RgbImage) -> Self {
        self.hr = Some(hr);
        self
    }

    /// The record of the run: what was run, on what, each stage's cost, the
    /// locality check (the same as `self.map.info`).
    pub fn record(&self) -> &MapInfo {
        &self.map.info
    }

    /// The map alone, without the images.
    pub fn into_map(self) -> CausalEffectMap {
        self.map
    }

    /// The figure images this result lacks (`input.png`, `output.png`), whose
    /// panels a figure leaves out (the ground truth is not drawn).
    pub fn missing_images(&self) -> Vec<&'static str> {
        [
            (INPUT_NAME, self.input.is_none()),
            (OUTPUT_NAME, self.output.is_none()),
        ]
        .into_iter()
        .filter(|(_, missing)| *missing)
        .map(|(name, _)| name)
        .collect()
    }

    /// Writes the result folder `dir` (created if needed): `cem.csv`, `cem.json`,
    /// `cem.npy` ([`super::save`]) and the images it holds as `input.png`,
    /// `output.png` and `hr.png`, each file written atomically.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        super::save(&self.map, dir)?;
        for (name, image) in self.images() {
            if let Some(image) = image {
                write_atomic(&dir.join(name), &encode_png(image)?)?;
            }
        }
        Ok(())
    }

    /// Reads a result folder written by [`MapRun::save`], `cem map` or `cem demo` (or
    /// the path of its `cem.csv`/`cem.json`); images it lacks are `None`. Images of
    /// the wrong size for the map are refused, naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let map = super::load(path)?;
        let dir = if path.is_dir() {
            path
        } else {
            path.parent().unwrap_or(Path::new("."))
        };
        let mut run = MapRun::new(map);
        run.input = read_optional(dir, INPUT_NAME, run.input_size())?;
        run.output = read_optional(dir, OUTPUT_NAME, run.output_size())?;
        run.hr = read_optional(dir, HR_NAME, run.output_size())?;
        Ok(run)
    }

    /// The images with their file names.
    fn images(&self) -> [(&'static str, Option<&RgbImage>); 3] {
        [
            (INPUT_NAME, self.input.as_ref()),
            (OUTPUT_NAME, self.output.as_ref()),
            (HR_NAME, self.hr.as_ref()),
        ]
    }

    /// `(width, height)` of the output and the ground truth, when the record knows it.
    fn output_size(&self) -> Option<(u32, u32)> {
        let i = &self.map.info;
        (i.width > 0 && i.height > 0).then_some((i.width, i.height))
    }

    /// `(width, height)` of the model input, when the record knows it.
    fn input_size(&self) -> Option<(u32, u32)> {
        let s = self.map.info.scale.max(1);
        self.output_size().map(|(w, h)| (w / s, h / s))
    }
}

/// `dir/name` if it exists, checked against `size`.
fn read_optional(dir: &Path, name: &str, size: Option<(u32, u32)>) -> Result<Option<RgbImage>> {
    let path: PathBuf = dir.join(name);
    if !path.is_file() {
        return Ok(None);
    }
    let image = load_rgb(&path)?;
    if let Some((w, h)) = size {
        if image.dimensions() != (w, h) {
            return Err(Error::ResultFile {
                path,
                reason: format!(
                    "the image is {}x{} but the map's record says {w}x{h}",
                    image.width(),
                    image.height()
                ),
            });
        }
    }
    Ok(Some(image))
}

impl Deref for MapRun {
    type Target = CausalEffectMap;

    fn deref(&self) -> &CausalEffectMap {
        &self.map
    }
}

impl DerefMut for MapRun {
    fn deref_mut(&mut self) -> &mut CausalEffectMap {
        &mut self.map
    }
}

impl From<CausalEffectMap> for MapRun {
    fn from(map: CausalEffectMap) -> Self {
        MapRun::new(map)
    }
}
