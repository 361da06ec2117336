//! Maps over models x images, the loop behind the paper's figures (9-13) and Table I:
//! a list of [`Subject`]s (a model and the task it is mapped on), a test set
//! ([`crate::testset`]) and one [`Cem`] builder give one [`Outcome`] per pair, kept in
//! memory with the model input and output its figures need; [`MapSet`] turns them into
//! Table I and [`pie_stats`] into Fig. 10's pies.
//!
//! Subjects come from the shipped family ([`shipped_subjects`]) or, when a reader has
//! them, from the authors' checkpoints by their ModelZoo names ([`authors_subjects`]
//! with [`AUTHORS_CHECKPOINTS`]).
//!
//! ```no_run
//! use cem::prelude::*;
//! use cem::sweep;
//! # fn main() -> cem::Result<()> {
//! let subjects = sweep::shipped_subjects(&["rcan-s-x4", "rcan-ap16-s-x4"], Device::Cpu)?;
//! let images = cem::testset::builtin()?;
//! let outcomes = sweep::run(&Cem::coarse_to_fine(), &subjects, &images[..2], false)?;
//! println!("{}", sweep::map_set(&outcomes).table1()?.to_text());
//! # Ok(()) }
//! ```

use crate::degrade::Task;
use crate::engine::Cem;
use crate::error::{Error, Result};
use crate::map::{CausalEffectMap, MapRun};
use crate::model::Model;
use crate::plot::PieStats;
use crate::stats::MapSet;
use crate::testset::TestImage;
use crate::zoo::{
    authors_checkpoint, Arch, AuthorsCheckpoint, NetConfig, Network, AUTHORS_CHECKPOINTS,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::Device;

/// A model and the task it is mapped on, with the name and proposal year figures show.
pub struct Subject {
    /// The name in tables and figures.
    pub label: String,
    /// The model.
    pub model: Box<dyn Model>,
    /// The task its maps are computed for.
    pub task: Task,
    /// The year its architecture was proposed (Fig. 10 orders by it).
    pub year: Option<u32>,
    /// Input sides must be multiples of this (SwinIR: its window, 8).
    pub size_multiple: u32,
    /// A digest of the model's weights when known ([`Network::weights_digest`] for zoo
    /// networks): a cached sweep refuses a stored map made with other weights.
    pub weights: Option<String>,
    /// Whether the model pools over the whole image ([`Arch::pools_globally`]; `false`
    /// for models from outside the zoo): each of its interventions is a whole-image pass,
    /// so a notebook on a CPU may map it on fewer images.
    pub global_pooling: bool,
}

impl Subject {
    /// A subject from any model.
    pub fn new(label: impl Into<String>, model: impl Model + 'static, task: Task) -> Self {
        Subject {
            label: label.into(),
            model: Box::new(model),
            task,
            year: None,
            size_multiple: 1,
            weights: None,
            global_pooling: false,
        }
    }

    /// A subject from a zoo network: its year and window come from its architecture,
    /// the digest of its weights from [`Network::weights_digest`].
    pub fn network(label: impl Into<String>, net: Network, task: Task) -> Result<Self> {
        let arch = net.config().arch;
        let weights = Some(net.weights_digest()?);
        Ok(Subject {
            year: Some(proposal_year(arch)),
            size_multiple: if matches!(arch, Arch::SwinIr | Arch::SwinIrMix) {
                8
            } else {
                1
            },
            weights,
            global_pooling: arch.pools_globally(),
            ..Subject::new(label, net, task)
        })
    }
}

/// The year an architecture was proposed: SRCNN 2014, DnCNN, EDSR and SRResNet 2017
/// (SRResNet's paper is 2017), RCAN 2018, SwinIR 2021, RCAN_AP16 and the mixed
/// networks 2024 (the CEM paper).
pub fn proposal_year(arch: Arch) -> u32 {
    match arch {
        Arch::Srcnn => 2014,
        Arch::Dncnn | Arch::SrResNet | Arch::Edsr => 2017,
        Arch::Rcan => 2018,
        Arch::SwinIr => 2021,
        Arch::RcanAp16 | Arch::SrResNetMix | Arch::RcanMix | Arch::SwinIrMix => 2024,
    }
}

/// The paper's name of an architecture: `SRCNN`, `DnCNN`, `SRResNet`, `EDSR`, `RCAN`,
/// `RCAN_AP16`, `SwinIR`, `SRResNet_mix`, `RCAN_mix`, `SwinIR_mix`.
pub fn paper_name(arch: Arch) -> &'static str {
    match arch {
        Arch::Srcnn => "SRCNN",
        Arch::Dncnn => "DnCNN",
        Arch::SrResNet => "SRResNet",
        Arch::Edsr => "EDSR",
        Arch::Rcan => "RCAN",
        Arch::RcanAp16 => "RCAN_AP16",
        Arch::SwinIr => "SwinIR",
        Arch::SrResNetMix => "SRResNet_mix",
        Arch::RcanMix => "RCAN_mix",
        Arch::SwinIrMix => "SwinIR_mix",
    }
}

/// A shipped model's label in figures: the paper's architecture name with `-s` (small),
/// `_MIO` instead of `_mix` for MIO-trained ones: `rcan-ap16-s-x4` is `RCAN_AP16-s`,
/// `swinir-mio-s` is `SwinIR_MIO-s`. The task is not in it (maps carry their task).
pub fn shipped_label(info: &crate::zoo::ShippedModel) -> String {
    let name = paper_name(info.config.arch);
    match info.task {
        crate::train::TrainTask::Mio { .. } => format!("{}_MIO-s", name.trim_end_matches("_mix")),
        _ => format!("{name}-s"),
    }
}

/// Splits shipped model names into those present ([`crate::zoo::shipped_names`]) and
/// those missing (a family trained only in part, or another `CEM_MODELS` folder), so a
/// notebook can run on what there is and say what it left out.
///
/// ```
/// let (have, missing) = cem::sweep::shipped_available(&["dncnn-s-dn50", "nope-s-x4"]);
/// assert_eq!((have, missing), (vec!["dncnn-s-dn50"], vec!["nope-s-x4"]));
/// ```
pub fn shipped_available<'a>(names: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    let known = crate::zoo::shipped_names();
    names.iter().partition(|n| known.iter().any(|k| k == *n))
}

/// One subject per task of each named shipped model ([`crate::zoo::ShippedModel::tasks`]:
/// one for single-task models, SR (`sr-up`), DN and DR for mixed and MIO ones),
/// labelled by [`shipped_label`].
pub fn shipped_subjects(names: &[&str], device: Device) -> Result<Vec<Subject>> {
    let mut out = vec![];
    for name in names {
        let info = crate::zoo::shipped_info(name)?;
        for task in info.tasks() {
            out.push(Subject::network(
                shipped_label(&info),
                info.load(device)?,
                task,
            )?);
        }
    }
    Ok(out)
}

/// Subjects from the authors' checkpoints in `dir` (see [`AUTHORS_CHECKPOINTS`]) by
/// ModelZoo name; SR at x4, DN at sigma 50, DR, and SR (`sr-up`), DN and DR for the
/// mixed ones, labelled by the name without its task suffix (`RCAN_DN` is `RCAN`). A
/// name not in the table, or a file not in `dir`, is an error naming it.
pub fn authors_subjects(
    dir: impl AsRef<Path>,
    names: &[&str],
    device: Device,
) -> Result<Vec<Subject>> {
    let dir = dir.as_ref();
    let mut out = vec![];
    for name in names {
        let Some(&AuthorsCheckpoint {
            arch,
            scale,
            task,
            file,
            ..
        }) = authors_checkpoint(name)
        else {
            let known: Vec<&str> = AUTHORS_CHECKPOINTS.iter().map(|e| e.name).collect();
            return Err(Error::invalid(
                "authors' model",
                name,
                format!("expected one of {}", known.join(", ")),
            ));
        };
        let path: PathBuf = dir.join(file);
        if !path.is_file() {
            return Err(Error::invalid(
                "authors' checkpoint",
                path.display(),
                format!("{name}'s file is not in {}", dir.display()),
            ));
        }
        let tasks = match task {
            "sr" => vec![Task::Sr { scale: 4 }],
            "dn" => vec![Task::Dn { sigma: 50.0 }],
            "dr" => vec![Task::Dr],
            _ => vec![Task::SrUp { scale: 4 }, Task::Dn { sigma: 50.0 }, Task::Dr],
        };
        for t in tasks {
            let net = Network::load(NetConfig::new(arch, scale), &path, device)?;
            let label = name.trim_end_matches("_DN").trim_end_matches("_DR");
            out.push(Subject::network(label, net, t)?);
        }
    }
    Ok(out)
}

/// One map with what its figures need.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The subject's label (also `run.map.info.model`).
    pub model: String,
    /// The test image's name (also `run.map.info.image`).
    pub image: String,
    /// The task.
    pub task: Task,
    /// The subject's proposal year.
    pub year: Option<u32>,
    /// The map with the degraded input, the model's output and the ground truth.
    pub run: MapRun,
    /// Wall time of the map, seconds (for a map loaded by [`run_cached`], the time it
    /// took when it was computed: the sum of its stages' times).
    pub seconds: f64,
    /// Whether the map was loaded from [`run_cached`]'s folder instead of computed.
    pub cached: bool,
}

impl Outcome {
    /// The map.
    pub fn map(&self) -> &CausalEffectMap {
        &self.run.map
    }
}

/// Maps every subject on every image with `cem` (its seed, strategy, library; the
/// image name and the subject's size multiple are set per map), subjects outer, images
/// inner. With `progress`, prints one line per map.
pub fn run(
    cem: &Cem,
    subjects: &[Subject],
    images: &[TestImage],
    progress: bool,
) -> Result<Vec<Outcome>> {
    run_in(cem, subjects, images, progress, None)
}

/// [`run`], keeping every map in `dir`: each map is a result folder
/// `dir/MODEL/TASK/IMAGE/` ([`MapRun::save`]; the model label with characters other than
/// letters, digits, `.`, `_` and `-` replaced by `_`), written as soon as it is done,
/// with a checkpoint beside it while it runs. A map already there is loaded instead of
/// computed and an interrupted one resumes, so a sweep of hours can be stopped and
/// continued, across sessions too, and its figures redrawn without recomputing. A
/// stored map made with other settings (strategy, seed, `tol`, block, ROI, task,
/// library) or with other weights (the digest in `weights.fnv1a` beside the map, for
/// subjects that know theirs: zoo networks) is refused, naming its folder and the
/// setting: delete it (or use another `dir`) after changing the settings or retraining
/// a model. A TorchScript model's weights are not checked.
///
/// ```no_run
/// use cem::prelude::*;
/// use cem::sweep;
/// # fn main() -> cem::Result<()> {
/// let subjects = sweep::shipped_subjects(&["rcan-s-x4"], Device::Cpu)?;
/// let images = cem::testset::builtin()?;
/// // the first call computes the maps, later ones load them
/// let outcomes = sweep::run_cached(&Cem::coarse_to_fine(), &subjects, &images, true, "runs/fig10")?;
/// println!("{} of {} maps loaded", outcomes.iter().filter(|o| o.cached).count(), outcomes.len());
/// # Ok(()) }
/// ```
pub fn run_cached(
    cem: &Cem,
    subjects: &[Subject],
    images: &[TestImage],
    progress: bool,
    dir: impl AsRef<Path>,
) -> Result<Vec<Outcome>> {
    run_in(cem, subjects, images, progress, Some(dir.as_ref()))
}

/// [`run_cached`] in `cache` when it is given, else [`run`]: notebooks keep their full
/// runs' maps and compute their quick runs afresh. The loop behind all three: subjects
/// outer, images inner; with a `cache`, each map is loaded from its folder there or
/// computed into it.
pub fn run_in(
    cem: &Cem,
    subjects: &[Subject],
    images: &[TestImage],
    progress: bool,
    cache: Option<&Path>,
) -> Result<Vec<Outcome>> {
    let mut out = Vec::with_capacity(subjects.len() * images.len());
    for s in subjects {
        for t in images {
            let folder = cache.map(|dir| {
                dir.join(folder_name(&s.label))
                    .join(s.task.name())
                    .join(folder_name(&t.name))
            });
            let stored = folder
                .as_ref()
                .filter(|f| f.join(crate::map::files::JSON_NAME).is_file());
            let (run, seconds, cached) = match (stored, &folder) {
                (Some(folder), _) => {
                    let run = MapRun::load(folder)?;
                    check_stored(&run, cem, s, t, folder)?;
                    check_weights(s, folder)?;
                    let seconds = run.map.seconds();
                    (run, seconds, true)
                }
                (None, folder) => {
                    let started = Instant::now();
                    let mut builder = cem
                        .clone()
                        .image_name(t.name.clone())
                        .size_multiple(s.size_multiple)
                        .progress(false);
                    if let Some(folder) = folder {
                        std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
                        builder = builder.checkpoint(folder.join(CHECKPOINT_NAME));
                    }
                    let mut run = builder.run(s.model.as_ref(), &t.image, &s.task, t.roi)?;
                    run.map.info.model = s.label.clone();
                    if let Some(folder) = folder {
                        run.save(folder)?;
                        if let Some(digest) = &s.weights {
                            let path = folder.join(WEIGHTS_NAME);
                            std::fs::write(&path, format!("{digest}\n"))
                                .map_err(|e| Error::io(&path, e))?;
                        }
                    }
                    (run, started.elapsed().as_secs_f64(), false)
                }
            };
            if progress {
                let how = if cached { " (stored)" } else { "" };
                println!("{seconds:>6.1} s{how}  {}", run.map.table1_line());
            }
            out.push(Outcome {
                model: s.label.clone(),
                image: t.name.clone(),
                task: s.task,
                year: s.year,
                run,
                seconds,
                cached,
            });
        }
    }
    Ok(out)
}

/// [`run_in`] with the subjects that pool over the whole image
/// ([`Subject::global_pooling`]: every intervention a whole-image pass, minutes a map on
/// a CPU) mapped on the first `pooling_images` of `images` only, the others on all of
/// them; subjects outer, images inner, as [`run_in`]. A cap above `images.len()` maps
/// every image, `0` leaves such subjects out. Notebooks 10, 12 and 14 set the cap from
/// `CEM_NOTEBOOK_RCAN_IMAGES`.
///
/// ```no_run
/// use cem::prelude::*;
/// use cem::sweep;
/// # fn main() -> cem::Result<()> {
/// let subjects = sweep::shipped_subjects(&["srresnet-s-x4", "rcan-s-x4"], Device::Cpu)?;
/// let images = cem::testset::builtin()?;
/// // SRResNet-s on every image, RCAN-s (channel attention over the whole image) on two
/// let outcomes = sweep::run_in_capped(&Cem::coarse_to_fine(), &subjects, &images, 2, true, None)?;
/// assert_eq!(outcomes.len(), images.len() + 2);
/// # Ok(()) }
/// ```
pub fn run_in_capped(
    cem: &Cem,
    subjects: &[Subject],
    images: &[TestImage],
    pooling_images: usize,
    progress: bool,
    cache: Option<&Path>,
) -> Result<Vec<Outcome>> {
    let mut out = Vec::new();
    for s in subjects {
        let n = if s.global_pooling {
            pooling_images.min(images.len())
        } else {
            images.len()
        };
        out.extend(run_in(
            cem,
            std::slice::from_ref(s),
            &images[..n],
            progress,
            cache,
        )?);
    }
    Ok(out)
}

/// The checkpoint file of a map [`run_cached`] is computing.
const CHECKPOINT_NAME: &str = "checkpoint.json";

/// The file beside a stored map with the digest of the weights that made it.
const WEIGHTS_NAME: &str = "weights.fnv1a";

/// Refuses a stored map whose weights digest differs from the subject's (a model
/// retrained under the same label). A map stored without one (no digest known when it
/// was made) is accepted.
fn check_weights(s: &Subject, folder: &Path) -> Result<()> {
    let path = folder.join(WEIGHTS_NAME);
    let (Some(now), Ok(stored)) = (&s.weights, std::fs::read_to_string(&path)) else {
        return Ok(());
    };
    let stored = stored.trim();
    if stored == now {
        return Ok(());
    }
    Err(Error::ResultFile {
        path: folder.to_path_buf(),
        reason: format!(
            "holds a map made with other weights of {}: digest {stored} (now {now}; retrained?); delete it or map into another folder",
            s.label
        ),
    })
}

/// A label as a folder name: letters, digits, `.`, `_` and `-` kept, the rest `_`.
fn folder_name(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Refuses a stored map that the sweep would not compute as it is now.
fn check_stored(run: &MapRun, cem: &Cem, s: &Subject, t: &TestImage, folder: &Path) -> Result<()> {
    let info = &run.map.info;
    let library = match &cem.library {
        Some(l) => l.source().to_string(),
        None => crate::engine::run::builtin_library(cem.block)?
            .source()
            .to_string(),
    };
    let differs: Vec<String> = [
        ("model", info.model.clone(), s.label.clone()),
        ("image", info.image.clone(), t.name.clone()),
        ("task", info.task.clone(), s.task.name().to_string()),
        ("strategy", info.strategy.clone(), cem.label()),
        ("seed", info.seed.to_string(), cem.seed.to_string()),
        ("tol", info.tol.to_string(), cem.tol.to_string()),
        ("block", info.block.to_string(), cem.block.to_string()),
        ("roi", format!("{:?}", info.roi), format!("{:?}", t.roi)),
        ("library", info.library.clone(), library),
    ]
    .into_iter()
    .filter(|(_, stored, now)| stored != now)
    .map(|(what, stored, now)| format!("{what} {stored} (now {now})"))
    .collect();
    if differs.is_empty() {
        Ok(())
    } else {
        Err(Error::ResultFile {
            path: folder.to_path_buf(),
            reason: format!(
                "holds a map made with other settings: {}; delete it or map into another folder",
                differs.join(", ")
            ),
        })
    }
}

/// The outcomes as a [`MapSet`] (for Table I and the per-map frame).
pub fn map_set(outcomes: &[Outcome]) -> MapSet {
    MapSet::from_maps(
        outcomes
            .iter()
            .map(|o| {
                (
                    PathBuf::from(format!("{}/{}/{}", o.task.name(), o.model, o.image)),
                    o.run.map.clone(),
                )
            })
            .collect(),
    )
}

/// A grid of maps (Fig. 9b, 11): one row per distinct `row(outcome)`, one column per
/// distinct `col(outcome)`, both in first-seen order; the first map of a slot is drawn.
///
/// ```no_run
/// # fn main() -> cem::Result<()> {
/// # let outcomes: Vec<cem::sweep::Outcome> = vec![];
/// use cem::stats::task_title;
/// let fig = cem::sweep::grid(&outcomes, |o| o.model.clone(), |o| task_title(o.task.name()),
///     &cem::plot::MapStyle::default())?;
/// # Ok(()) }
/// ```
pub fn grid(
    outcomes: &[Outcome],
    row: impl Fn(&Outcome) -> String,
    col: impl Fn(&Outcome) -> String,
    style: &crate::plot::MapStyle,
) -> Result<crate::plot::Figure> {
    let distinct = |key: &dyn Fn(&Outcome) -> String| {
        outcomes
            .iter()
            .map(key)
            .fold(Vec::<String>::new(), |mut v, k| {
                if !v.contains(&k) {
                    v.push(k);
                }
                v
            })
    };
    let (rows, cols) = (distinct(&row), distinct(&col));
    let cells: Vec<Vec<Option<&MapRun>>> = rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| {
                    outcomes
                        .iter()
                        .find(|o| row(o) == *r && col(o) == *c)
                        .map(|o| &o.run)
                })
                .collect()
        })
        .collect();
    crate::plot::grid(&cells, &rows, &cols, style)
}

/// Fig. 10's per-model averages (Table I's rows), within each task ordered by
/// proposal year then name.
pub fn pie_stats(outcomes: &[Outcome]) -> Result<Vec<PieStats>> {
    let years: HashMap<String, u32> = outcomes
        .iter()
        .filter_map(|o| o.year.map(|y| (o.model.clone(), y)))
        .collect();
    let mut stats = PieStats::from_table1(&map_set(outcomes).table1_rows()?, &years);
    let task_order: Vec<String> = outcomes.iter().fold(vec![], |mut v, o| {
        if !v.contains(&o.run.map.info.task) {
            v.push(o.run.map.info.task.clone());
        }
        v
    });
    stats.sort_by_key(|s| {
        (
            task_order.iter().position(|t| *t == s.task),
            s.year.unwrap_or(u32::MAX),
            s.model.clone(),
        )
    });
    Ok(stats)
}

/// Each subject's mean PSNR (dB) on its task over the whole `images`, beside doing
/// nothing's (the bicubic upsampling for SR, the degraded input otherwise): the test-set
/// PSNRs that Fig. 12 and 13 note. Every image is degraded with seed 0; images whose
/// sides the subject cannot take (SwinIR: multiples of 8) are an error naming them.
///
/// ```no_run
/// # fn main() -> cem::Result<()> {
/// let subjects = cem::sweep::shipped_subjects(&["srresnet-s-dn50"], tch::Device::Cpu)?;
/// let bars = cem::sweep::test_psnr(&subjects, &cem::testset::builtin()?)?;
/// println!("{}", cem::plot::psnr_table(&bars)?.to_text());
/// # Ok(()) }
/// ```
pub fn test_psnr(subjects: &[Subject], images: &[TestImage]) -> Result<Vec<crate::plot::PsnrBar>> {
    use crate::image::{psnr, tensor_to_rgb, to_tensor};
    if images.is_empty() {
        return Err(Error::invalid(
            "test images",
            "none",
            "the mean PSNR needs at least one image",
        ));
    }
    let mut out = Vec::with_capacity(subjects.len());
    for s in subjects {
        let d = s.task.degradation(0)?;
        let (mut got, mut nothing) = (0.0, 0.0);
        for t in images {
            let (w, h) = t.image.dimensions();
            let m = s.size_multiple.max(1);
            if w % m != 0 || h % m != 0 {
                return Err(Error::invalid(
                    "test image",
                    format!("{} ({w}x{h})", t.name),
                    format!("{} takes sides that are multiples of {m}", s.label),
                ));
            }
            let input = d.degrade(&t.image)?;
            let output = crate::model::forward_checked(
                s.model.as_ref(),
                &to_tensor(&input, s.model.device()),
                d.scale(),
            )?;
            got += psnr(&tensor_to_rgb(&output)?, &t.image)?;
            nothing += if d.scale() == 1 {
                psnr(&input, &t.image)?
            } else {
                psnr(
                    &crate::degrade::resample::pil_bicubic(&input, w, h),
                    &t.image,
                )?
            };
        }
        let n = images.len() as f64;
        out.push(crate::plot::PsnrBar {
            task: s.task.name().to_string(),
            model: s.label.clone(),
            psnr: got / n,
            baseline: Some(nothing / n),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Roi;

    /// The first two test images cut to 32 px, with an 8 px ROI.
    fn small_images() -> Vec<TestImage> {
        crate::testset::builtin().unwrap()[..2]
            .iter()
            .map(|t| TestImage {
                image: crate::image::crop(&t.image, 32, 32, 32, 32).unwrap(),
                roi: Roi::new(16, 16, 8),
                ..t.clone()
            })
            .collect()
    }

    #[test]
    fn runs_every_subject_on_every_image_and_averages_by_model() {
        tch::manual_seed(0);
        let net = |arch| {
            Network::new(
                NetConfig::new(arch, 1).feats(16).blocks(2).groups(1),
                Device::Cpu,
            )
            .unwrap()
        };
        let subjects = vec![
            Subject::network("a-dncnn", net(Arch::Dncnn), Task::Dn { sigma: 50.0 }).unwrap(),
            Subject::network("b-rcan", net(Arch::Rcan), Task::Dn { sigma: 50.0 }).unwrap(),
        ];
        // RCAN's channel attention pools the whole image; DnCNN is local
        let pooling: Vec<bool> = subjects.iter().map(|s| s.global_pooling).collect();
        assert_eq!(pooling, [false, true]);
        let images = small_images();
        let cem = Cem::new(crate::engine::Strategy::parse("c1f1").unwrap().0);
        let out = run(&cem, &subjects, &images, false).unwrap();
        assert_eq!(out.len(), 4);
        let pairs: Vec<(&str, &str)> = out
            .iter()
            .map(|o| (o.model.as_str(), o.image.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("a-dncnn", "demo"),
                ("a-dncnn", "chelsea-eye"),
                ("b-rcan", "demo"),
                ("b-rcan", "chelsea-eye")
            ]
        );
        for o in &out {
            assert_eq!(o.map().info.model, o.model);
            assert_eq!(o.map().info.image, o.image);
            assert_eq!((o.map().rows, o.map().cols), (4, 4));
            let (input, output) = (
                o.run.input.as_ref().unwrap(),
                o.run.output.as_ref().unwrap(),
            );
            assert_eq!(
                (input.dimensions(), output.dimensions()),
                ((32, 32), (32, 32))
            );
            // the map's original PSNR is the output's ROI PSNR
            let truth = images.iter().find(|t| t.name == o.image).unwrap();
            let roi = crate::image::roi_psnr(output, &truth.image, truth.roi).unwrap();
            assert!(
                (roi - o.map().info.original_psnr).abs() < 1e-6,
                "{roi} vs {}",
                o.map().info.original_psnr
            );
        }
        let stats = pie_stats(&out).unwrap();
        let names: Vec<(&str, Option<u32>)> =
            stats.iter().map(|s| (s.model.as_str(), s.year)).collect();
        assert_eq!(names, [("a-dncnn", Some(2017)), ("b-rcan", Some(2018))]);
        // the average of the two maps' shares
        let mean_pos =
            (out[0].map().counts().positive_pct() + out[1].map().counts().positive_pct()) / 2.0;
        assert!((stats[0].shares.positive - mean_pos).abs() < 1e-9);
        // a 2 x 2 grid, models down, images across
        let style = crate::plot::MapStyle::default();
        let one = grid(&out[..1], |o| o.model.clone(), |o| o.image.clone(), &style).unwrap();
        let four = grid(&out, |o| o.model.clone(), |o| o.image.clone(), &style).unwrap();
        let (a, b) = (one.to_image().unwrap(), four.to_image().unwrap());
        assert!(b.width() > a.width() && b.height() > a.height());
    }

    #[test]
    fn a_capped_sweep_maps_globally_pooling_subjects_on_fewer_images() {
        let net = |arch| {
            Network::new(
                NetConfig::new(arch, 1).feats(16).blocks(2).groups(1),
                Device::Cpu,
            )
            .unwrap()
        };
        let subjects = vec![
            Subject::network("rcan", net(Arch::Rcan), Task::Dn { sigma: 50.0 }).unwrap(),
            Subject::network("dncnn", net(Arch::Dncnn), Task::Dn { sigma: 50.0 }).unwrap(),
        ];
        let images = small_images();
        let cem = Cem::new(crate::engine::Strategy::parse("c1f1").unwrap().0);
        let pairs = |cap: usize| -> Vec<(String, String)> {
            run_in_capped(&cem, &subjects, &images, cap, false, None)
                .unwrap()
                .into_iter()
                .map(|o| (o.model, o.image))
                .collect()
        };
        let pair = |m: &str, i: &str| (m.to_string(), i.to_string());
        // RCAN (global channel attention) on the first image only, DnCNN on both
        assert_eq!(
            pairs(1),
            [
                pair("rcan", "demo"),
                pair("dncnn", "demo"),
                pair("dncnn", "chelsea-eye")
            ]
        );
        // no cap beyond the images there are; 0 leaves RCAN out
        assert_eq!(pairs(9).len(), 4);
        assert_eq!(
            pairs(0),
            [pair("dncnn", "demo"), pair("dncnn", "chelsea-eye")]
        );
    }

    #[test]
    fn a_cached_sweep_stores_each_map_loads_it_again_and_refuses_other_settings() {
        // weights saved and loaded again, not seeds: tests on other threads draw from
        // libtorch's one generator too
        let config = NetConfig::new(Arch::Dncnn, 1).feats(8).blocks(2);
        let subject =
            |net| Subject::network("tiny dncnn/1", net, Task::Dn { sigma: 50.0 }).unwrap();
        let net = Network::new(config.clone(), Device::Cpu).unwrap();
        let saved = tempfile::tempdir().unwrap();
        let weights = saved.path().join("tiny.safetensors");
        net.save_weights(&weights).unwrap();
        let subjects = vec![subject(net)];
        let images = small_images();
        let dir = tempfile::tempdir().unwrap();
        let cem = Cem::new(crate::engine::Strategy::parse("c1f2").unwrap().0).seed(4);
        let first = run_cached(&cem, &subjects, &images, false, dir.path()).unwrap();
        assert!(first.iter().all(|o| !o.cached));
        // one result folder per map, the label made a folder name
        let folder = dir.path().join("tiny_dncnn_1").join("dn").join("demo");
        assert!(folder.join("cem.csv").is_file() && folder.join("input.png").is_file());
        assert!(
            !folder.join(CHECKPOINT_NAME).exists(),
            "the finished map's checkpoint"
        );
        // the second sweep computes nothing: the same maps and images, loaded
        let again = run_cached(&cem, &subjects, &images, false, dir.path()).unwrap();
        for (a, b) in first.iter().zip(&again) {
            assert!(b.cached);
            assert_eq!(a.run.map.effects(), b.run.map.effects());
            assert_eq!(a.run.output, b.run.output);
            assert_eq!(b.seconds, b.run.map.seconds());
        }
        // a map loses nothing to a changed setting: it is refused by name
        let other = cem.clone().seed(5);
        let e = run_cached(&other, &subjects, &images, false, dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("seed 4 (now 5)") && e.contains("demo"), "{e}");
        let other = cem.clone().block(4);
        let e = run_cached(&other, &subjects, &images, false, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("block 8 (now 4)") && e.contains("library"),
            "{e}"
        );
        // the same label with other weights (a retrained model) is refused too
        let digest = subjects[0].weights.clone().unwrap();
        let same = Network::load(config.clone(), &weights, Device::Cpu).unwrap();
        assert_eq!(
            subject(same).weights.unwrap(),
            digest,
            "same weights, same digest"
        );
        let stored = std::fs::read_to_string(folder.join(WEIGHTS_NAME)).unwrap();
        assert_eq!(stored.trim(), digest);
        let retrained = vec![subject(Network::new(config, Device::Cpu).unwrap())];
        let e = run_cached(&cem, &retrained, &images, false, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("digest {digest} (now ")) && e.contains("tiny dncnn/1"),
            "{e}"
        );
        // a map stored before digests were kept is accepted
        std::fs::remove_file(folder.join(WEIGHTS_NAME)).unwrap();
        let old = run_cached(&cem, &retrained, &images[..1], false, dir.path()).unwrap();
        assert!(old[0].cached);
        assert!(folder.join("cem.csv").is_file());
    }

    #[test]
    fn shipped_models_are_labelled_by_architecture() {
        let info = crate::zoo::shipped_info("srresnet-s-x4").unwrap();
        assert_eq!(shipped_label(&info), "SRResNet-s");
        let s = shipped_subjects(&["dncnn-s-dn50"], Device::Cpu).unwrap();
        assert_eq!(
            (s[0].label.as_str(), s[0].task, s[0].year),
            ("DnCNN-s", Task::Dn { sigma: 50.0 }, Some(2017))
        );
    }

    #[test]
    fn authors_checkpoints_are_named_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = authors_subjects(dir.path(), &["SAN"], Device::Cpu)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("SAN") && err.contains("RCAN_pooling16"),
            "{err}"
        );
        let err = authors_subjects(dir.path(), &["RCAN_DN"], Device::Cpu)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("RCAN_DN.pth"), "{err}");
    }

    #[test]
    fn test_psnr_of_doing_nothing_is_its_baseline_and_odd_sides_are_named() {
        let images: Vec<TestImage> = crate::testset::builtin().unwrap()[..2]
            .iter()
            .map(|t| TestImage {
                image: crate::image::crop(&t.image, 0, 0, 36, 36).unwrap(),
                ..t.clone()
            })
            .collect();
        let identity =
            || crate::model::FnModel::new("id", Device::Cpu, |x: &tch::Tensor| x.shallow_clone());
        let mut subjects = vec![
            Subject::new("id-dn", identity(), Task::Dn { sigma: 50.0 }),
            Subject::new("id-dr", identity(), Task::Dr),
        ];
        let bars = test_psnr(&subjects, &images).unwrap();
        assert_eq!(bars.len(), 2);
        for b in &bars {
            assert!((b.psnr - b.baseline.unwrap()).abs() < 1e-9, "{b:?}");
        }
        let d = Task::Dn { sigma: 50.0 }.degradation(0).unwrap();
        let by_hand = images
            .iter()
            .map(|t| crate::image::psnr(&d.degrade(&t.image).unwrap(), &t.image).unwrap())
            .sum::<f64>()
            / 2.0;
        assert!((bars[0].psnr - by_hand).abs() < 1e-9);
        assert_eq!(
            (bars[1].task.as_str(), bars[1].model.as_str()),
            ("dr", "id-dr")
        );
        subjects[0].size_multiple = 8;
        let err = test_psnr(&subjects, &images).err().unwrap().to_string();
        assert!(
            err.contains("36x36") && err.contains("multiples of 8"),
            "{err}"
        );
        assert!(test_psnr(&subjects, &[]).is_err());
    }
}
