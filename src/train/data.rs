//! Training pairs: random crops of photos with flips and rotations, degraded on the fly.

use crate::degrade::Task;
use crate::error::{Error, Result};
use crate::image::{load_rgb, to_tensor};
use image::{imageops, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Device, Tensor};

/// What a network is trained for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainTask {
    /// One of the paper's tasks (SR at its scale; DN and DR at scale 1).
    Single(Task),
    /// Sec. V-D's mixed training: each sample's task drawn with equal probability
    /// among SR (the bicubic LR upsampled back to full size), DN and DR, all at scale 1.
    Mixed {
        /// The SR scale of the SR samples.
        scale: u32,
        /// The noise level of the DN samples.
        sigma: f64,
    },
    /// Multiple-in-one training: the seven MIO tasks equally mixed, at scale 1, each
    /// sample's settings drawn from the MIO ranges (see [`crate::train::mio`]).
    Mio {
        /// The SR scale of the SR samples (upsampled back to full size).
        scale: u32,
    },
}

impl TrainTask {
    /// Parses a [`Task`] name, `mixed` or `mio`.
    pub fn parse(name: &str, scale: u32, sigma: f64) -> Result<Self> {
        if name.eq_ignore_ascii_case("mixed") {
            return Ok(TrainTask::Mixed { scale, sigma });
        }
        if name.eq_ignore_ascii_case("mio") {
            return Ok(TrainTask::Mio { scale });
        }
        Task::parse(name, scale, sigma).map(TrainTask::Single)
    }

    /// The network's scale: the SR scale for SR, else 1.
    pub fn net_scale(&self) -> u32 {
        match self {
            TrainTask::Single(Task::Sr { scale }) => *scale,
            _ => 1,
        }
    }

    /// A short name: the task's, `mixed` or `mio`.
    pub fn name(&self) -> &'static str {
        match self {
            TrainTask::Single(t) => t.name(),
            TrainTask::Mixed { .. } => "mixed",
            TrainTask::Mio { .. } => "mio",
        }
    }

    /// The network input for ground truth `hr` (whose sides the scale divides), with
    /// randomness from `seed`.
    pub fn degrade(&self, hr: &RgbImage, seed: u64) -> Result<RgbImage> {
        match *self {
            TrainTask::Single(task) => task.degradation(seed)?.degrade(hr),
            TrainTask::Mixed { scale, sigma } => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x006d_6978_6564);
                match rng.gen_range(0..3) {
                    0 => {
                        let lr = Task::Sr { scale }.degradation(seed)?.degrade(hr)?;
                        Ok(crate::degrade::resample::pil_bicubic(
                            &lr,
                            hr.width(),
                            hr.height(),
                        ))
                    }
                    1 => Task::Dn { sigma }.degradation(seed)?.degrade(hr),
                    _ => Task::Dr.degradation(seed)?.degrade(hr),
                }
            }
            TrainTask::Mio { scale } => super::mio::degrade(hr, scale, seed),
        }
    }
}

/// The photos crops are cut from.
pub struct Photos {
    images: Vec<RgbImage>,
    record: PhotoRecord,
}

/// Which photos a training run cut its crops from (kept in `train.json`, checked on resume).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRecord {
    /// `embedded` or the folder they were read from.
    pub source: String,
    /// Their file names, in the order crops are drawn from.
    pub names: Vec<String>,
    /// FNV-1a (64-bit, hex) over every photo's size and pixels: equal for the same photos
    /// wherever they lie.
    pub digest: String,
}

impl PhotoRecord {
    fn new(source: String, names: Vec<String>, images: &[RgbImage]) -> Self {
        let mut bytes = Vec::new();
        for img in images {
            bytes.extend_from_slice(&img.width().to_le_bytes());
            bytes.extend_from_slice(&img.height().to_le_bytes());
            bytes.extend_from_slice(img.as_raw());
        }
        PhotoRecord {
            source,
            names,
            digest: crate::engine::checkpoint::fnv1a(&bytes),
        }
    }
}

impl std::fmt::Display for PhotoRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} photos, digest {})",
            self.source,
            self.names.len(),
            self.digest
        )
    }
}

impl Photos {
    /// The embedded public-domain photos except `astronaut.png`, which is held out for
    /// validation (and is the demo's image).
    pub fn builtin_train() -> Result<Self> {
        let names: Vec<String> = crate::library::builtin_photo_names()
            .filter(|n| *n != "astronaut.png")
            .map(String::from)
            .collect();
        let images = names
            .iter()
            .map(|n| crate::library::builtin_photo(n))
            .collect::<Result<Vec<_>>>()?;
        Ok(Photos::new("embedded".into(), names, images))
    }

    fn new(source: String, names: Vec<String>, images: Vec<RgbImage>) -> Self {
        let record = PhotoRecord::new(source, names, &images);
        Photos { images, record }
    }

    /// What they are, for the run's record.
    pub fn record(&self) -> &PhotoRecord {
        &self.record
    }

    /// The held-out embedded photo (`astronaut.png`).
    pub fn builtin_validation() -> Result<Self> {
        let images = vec![crate::library::builtin_photo("astronaut.png")?];
        Ok(Photos::new(
            "embedded".into(),
            vec!["astronaut.png".into()],
            images,
        ))
    }

    /// Every PNG/JPEG in `dir`.
    pub fn from_folder(dir: &Path) -> Result<Self> {
        let paths = crate::paths::files_with_extension(dir, &["png", "jpg", "jpeg"])
            .map_err(|e| Error::io(dir, e))?;
        if paths.is_empty() {
            return Err(Error::invalid(
                "photo folder",
                dir.display(),
                "holds no .png or .jpg",
            ));
        }
        let images = paths.iter().map(load_rgb).collect::<Result<Vec<_>>>()?;
        let names = paths
            .iter()
            .map(|p| {
                p.file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned())
            })
            .collect();
        Ok(Photos::new(dir.display().to_string(), names, images))
    }

    /// Number of photos.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// A random `side`-square crop, flipped and rotated at random.
    pub fn crop(&self, side: u32, rng: &mut impl Rng) -> Result<RgbImage> {
        let usable: Vec<&RgbImage> = self
            .images
            .iter()
            .filter(|i| i.width() >= side && i.height() >= side)
            .collect();
        if usable.is_empty() {
            return Err(Error::invalid("crop", side, "larger than every photo"));
        }
        let img = usable[rng.gen_range(0..usable.len())];
        let x = rng.gen_range(0..=img.width() - side);
        let y = rng.gen_range(0..=img.height() - side);
        let mut c = imageops::crop_imm(img, x, y, side, side).to_image();
        if rng.gen_bool(0.5) {
            c = imageops::flip_horizontal(&c);
        }
        c = match rng.gen_range(0..4) {
            1 => imageops::rotate90(&c),
            2 => imageops::rotate180(&c),
            3 => imageops::rotate270(&c),
            _ => c,
        };
        Ok(c)
    }

    /// A batch of `n` (input, target) pairs as `n x 3 x h x w` tensors in `[0, 1]`;
    /// everything random comes from `seed`.
    pub fn batch(
        &self,
        task: &TrainTask,
        n: usize,
        side: u32,
        seed: u64,
        device: Device,
    ) -> Result<(Tensor, Tensor)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            let hr = self.crop(side, &mut rng)?;
            let lr = task.degrade(&hr, rng.gen())?;
            pairs.push((lr, hr));
        }
        Ok(stack(&pairs, device))
    }

    /// The validation pairs: [`Photos::batch`]'s `n` crops, except for MIO, where each of
    /// the seven tasks gets `n` crops of its own (`7 n` in all, in [`super::mio::TASKS`]'s
    /// order, each crop's settings drawn as in training). `n` random draws among seven
    /// tasks can leave some out (the shipped MIO networks' 8 drew four blur crops, two
    /// haze, one SR, one low light, and no noise, rain or JPEG), so the mean PSNR, and
    /// doing nothing's, would depend on which tasks the seed happened to draw.
    pub fn validation_batch(
        &self,
        task: &TrainTask,
        n: usize,
        side: u32,
        seed: u64,
        device: Device,
    ) -> Result<(Tensor, Tensor)> {
        let TrainTask::Mio { scale } = *task else {
            return self.batch(task, n, side, seed, device);
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pairs = Vec::with_capacity(n * super::mio::TASKS.len());
        for index in 0..super::mio::TASKS.len() {
            for _ in 0..n {
                let hr = self.crop(side, &mut rng)?;
                let draw: u64 = rng.gen();
                let lr = super::mio::task_of(index, scale, draw)?
                    .degradation(draw)?
                    .degrade(&hr)?;
                pairs.push((lr, hr));
            }
        }
        Ok(stack(&pairs, device))
    }
}

/// (input, target) images as two `n x 3 x h x w` tensors on `device`.
fn stack(pairs: &[(RgbImage, RgbImage)], device: Device) -> (Tensor, Tensor) {
    let xs: Vec<Tensor> = pairs
        .iter()
        .map(|(x, _)| to_tensor(x, Device::Cpu))
        .collect();
    let ys: Vec<Tensor> = pairs
        .iter()
        .map(|(_, y)| to_tensor(y, Device::Cpu))
        .collect();
    (
        Tensor::cat(&xs, 0).to_device(device),
        Tensor::cat(&ys, 0).to_device(device),
    )
}
