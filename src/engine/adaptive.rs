//! The adaptive strategy: as many interventions per cell as its effect needs.
//!
//! Coarse-to-fine gives every sensitive cell the same `F` draws, whether its effect is
//! obvious after ten or still unclear after fifty. The adaptive strategy spends them by
//! the statistics of each cell, in rounds:
//!
//! 1. **Screening** (Eq. 3): every cell gets [`Adaptive::screen`] draws (3, as C3). A cell
//!    whose every effect is below `tol` joins the unrelated set: effect exactly 0, no
//!    more draws. Cells a model cannot see never get past this. These draws are the
//!    coarse stage's own (same seed stream and coarse sampling as a `CxFy` map's first
//!    `screen` draws; with common draws, the common stream): an adaptive map and a
//!    C3F50 map of one seed close the same cells, so comparing them compares how they
//!    measure the sensitive ones, not the luck of their screens.
//! 2. **Warm-up**: every sensitive cell is brought to [`Adaptive::min_draws`] draws, so
//!    that its standard error means something. Unlike C3F50, the screening draws are
//!    kept in the cell's mean: nothing measured is thrown away.
//! 3. **Allocation rounds** of [`Adaptive::round`] draws: a cell is *settled* when its
//!    interval `mean +- z SE` lies clear of the `tol` band on one side (its sign is
//!    known) or inside it (it is 0), or when its expected absolute error is within its
//!    share of the map's error target (more draws cannot move `S` materially). Each
//!    draw of a round goes to the unsettled cell where one more draw reduces the
//!    expected L1 error of the map most (the error `S` measures: `sigma sqrt(2/pi) /
//!    sqrt(n)` per cell, so the gain of a draw is `sigma sqrt(2/pi) (1/sqrt(n) -
//!    1/sqrt(n+1))`); once every cell is settled, to any cell, until the map's expected
//!    relative L1 error is at most [`Adaptive::target`]. A cell gets at most as many
//!    draws in a round as it already has (its sigma is an estimate) and at most
//!    [`Adaptive::max_draws`] in all.
//! 4. It stops when every cell is settled and the map meets its target, when no cell
//!    may take another draw, or at the [budget](Adaptive::budget) (screening included),
//!    fixed or [relative](Adaptive::share) to the map's own C3F50 cost (`adaptive:60%`).
//!
//! The plan is a pure function of the per-cell results so far ([`Adaptive::next_round`]):
//! the engine runs a round, adds its results, and asks again. Round sizes never depend
//! on the device batch size, so the map does not either; a round of 64 keeps batches of
//! 8, 16, 32 or 64 full. Every draw's randomness is a function of (seed, cell, k), so
//! batching, resuming and the locality crop (which only removes cells that screening
//! would set to 0) never change a map.
//!
//! **Control variates** ([`Adaptive::control`], `adaptive-cv`): each draw also yields
//! the channel means of the region it pasted (host-side, no model call), and a cell's
//! estimate is its mean effect corrected by the regression on them, whose expectation
//! is known ([`super::control`]). The same expected effect, with a smaller standard
//! error where the pasted patch's colour explains part of the effect; the allocation
//! and the stopping rules use that error, so cells settle with fewer draws. Its
//! default target is 6 % ([`Adaptive::default_target`]). On the shipped DnCNN it gave
//! S = 92.1 % (five seeds) with 532 interventions against C3F50's 90.8 % with 1,114
//! (docs/table3.md).
//!
//! **Stratified draws** ([`Adaptive::stratified`], `adaptive-s`): after screening, a
//! cell's draws visit the library's eight brightness strata in turn, one patch from
//! each per block of eight, and its estimate is the stratified mean over all its draws
//! ([`super::stratified`]). It estimates the same expected effect without the spread
//! between strata, and unlike control variates it fits nothing. Its default target is
//! 6 %, as with control variates; the two are not combined.
//!
//! **Loss-aware allocation** ([`Adaptive::loss_aware`], `-l`): the map reports `T(m)`,
//! the mean with every `|m| < tol` set to 0, and so does the reference `S` compares it
//! with. A cell whose mean may lie on either side of `tol` risks its whole effect, not
//! just `sigma / sqrt(n)`; the settling rule above calls such a cell settled once its
//! plain error is within its share, however likely the flip. With `-l`, each draw goes
//! to the cell where it lowers [`thresholded_loss`] most, while that gain is worth the
//! draw's price (the marginal gain at which draws in proportion to `sigma^(2/3)`, the
//! L1-optimal split, would meet the target); settling is not used. On the authors'
//! DnCNN, `adaptive-cv-l` had S = 92.1 % with 881 interventions against `adaptive-cv`'s
//! 91.4 % with 914 (ten seeds each, docs/table3.md).
//!
//! **Quick screening** ([`Adaptive::quick`], `-q`): a cell's first two screening draws
//! are taken alone, and when both effects are below a tenth of `tol` the cell is
//! unrelated at once, as Eq. 3 would almost surely find with its third draw. It saves
//! a draw for every such cell at the edge of the model's reach: up to a third of the
//! screening (43 interventions of 881 on the authors' DnCNN map).
//!
//! **Common random numbers** ([`Adaptive::common`], `adaptive-crn`): draw `k` of every
//! cell can use the same library patch and noise (randomness a function of (seed, k)),
//! so that cells are compared on the same interventions. It is off by default because
//! it made `S` less reliable: on the shipped DnCNN (docs/table3.md), five seeds of
//! common draws gave S = 90.8 % with a spread (sd) of 5.1 points (worst 82.7 %), five
//! seeds of independent draws S = 90.9 % with a spread of 1.0 (worst 89.8 %). With
//! common draws every cell's error comes from the same few patches, so the errors move
//! together: a seed whose draws happen to be mild shifts the whole map at once.
//!
//! ```
//! use cem::engine::{Adaptive, Running};
//! let plan = Adaptive::default();
//! // nothing measured yet: the screening round, 3 draws for each of 2 cells
//! assert_eq!(plan.next_round(&[Running::default(); 2], 0.01), vec![(0, 3), (1, 3)]);
//! // cell 0 never moved the ROI (unrelated); cell 1 did: warm-up to 8 draws
//! let quiet = Running::of(&[0.0, 0.004, -0.002]);
//! let loud = Running::of(&[0.5, 0.2, 0.4]);
//! assert_eq!(plan.next_round(&[quiet, loud], 0.01), vec![(1, 5)]);
//! ```

use super::control::{Features, Regression};
use super::stratified::StratifiedMean;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The cell key draws of the adaptive stage are seeded with: the same for every cell
/// (common random numbers).
const COMMON_CELL: u32 = u32::MAX;

/// The seed number of adaptive draws that are common to all cells (with
/// [`Adaptive::common`] off, draws use `ADAPTIVE.id + 1`, per cell).
pub(crate) const COMMON_STAGE_ID: u64 = super::stages::ADAPTIVE.id;

/// The cell key of an intervention's seed: its cell, or for the adaptive stage with
/// common draws the same key for every cell, so that draw `k` is the same patch and
/// noise everywhere.
pub(crate) fn seed_cell(stage: u64, cell: u32) -> u32 {
    if stage == COMMON_STAGE_ID {
        COMMON_CELL
    } else {
        cell
    }
}

/// The default target without control variates.
const PLAIN_TARGET: f64 = 0.09;

/// The default target with control variates.
const CV_TARGET: f64 = 0.06;

const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// Settings of the adaptive strategy (see the [module docs](self)). Defaults: screen 3,
/// warm-up to 8, at most 500 per cell (the paper's T), z = 2, target 9 % expected
/// relative L1 error, rounds of 64, no budget, independent draws per cell.
///
/// The 9 % target is C3F50's own precision on the shipped DnCNN (its 50 fine draws
/// leave an expected L1 error of 9.2 % of the map's norm, from the per-cell standard
/// errors of a C3F50 map of demo_2): by default the adaptive map is about as exact as
/// C3F50's, with fewer draws where cells need fewer.
///
/// ```
/// use cem::engine::Adaptive;
/// let a = Adaptive::default().budget(960).target(0.05);
/// assert_eq!(a.budget, Some(960));
/// assert!(Adaptive::default().min_draws(1).check().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Adaptive {
    /// Screening draws per cell (Eq. 3's C).
    pub screen: u32,
    /// Draws a sensitive cell has before its standard error is used (at least 2).
    pub min_draws: u32,
    /// Most draws one cell gets.
    pub max_draws: u32,
    /// Half-width of a cell's interval in standard errors.
    pub z: f64,
    /// The map's expected L1 error over its L1 norm at which allocation stops (the
    /// expected loss of similarity `S`, as a fraction).
    pub target: f64,
    /// Draws per allocation round.
    pub round: u32,
    /// Most interventions in all, screening included (`None`: no limit).
    pub budget: Option<u64>,
    /// A budget relative to the map's own C3F50 (`adaptive:60%`): at most this fraction
    /// of what a coarse-to-fine map with `screen` coarse and [`SHARE_FINE`] fine draws
    /// would spend on the same cells, `screen x cells + 50 x sensitive cells`, known once
    /// screening (the coarse stage's own draws) has found the sensitive cells. See
    /// [`Adaptive::budget_now`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// Common random numbers: draw `k` of every cell is the same patch and noise (on),
    /// or every cell draws its own (off, the default). Common draws compare cells on
    /// the same interventions, but their errors move together: a seed whose first draws
    /// are unusually mild shifts the whole map, so `S` varies more between seeds (see
    /// the [module docs](self)).
    #[serde(default)]
    pub common: bool,
    /// Control variates (`-cv`): each cell's estimate is corrected by the regression of
    /// its effects on its draws' channel means, whose expectation is known (see
    /// [`super::control`]); the estimate, its standard error and the allocation use it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control: bool,
    /// Quick screening (`-q`): a cell's first [`QUICK_DRAWS`] screening draws are taken
    /// alone, and a cell whose effects are all below [`QUICK_FRACTION`] of `tol` is
    /// unrelated at once; the others get the rest of their [`Adaptive::screen`] draws
    /// and Eq. 3 as usual. Off by default (Eq. 3 exactly: every cell gets its `screen`
    /// draws).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// Loss-aware allocation (`-l`): a draw goes where it lowers the expected error of
    /// the *thresholded* effect most ([`thresholded_loss`]: a cell whose mean may lie on
    /// either side of `tol` risks its whole effect), as long as that gain is worth a
    /// draw's price, the marginal gain at which the plain allocation would meet the
    /// target. Replaces the settling rule; off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub loss_aware: bool,
    /// Stratified draws (`-s`): after screening, a cell's draws visit the library's
    /// brightness strata in turn and its estimate is the stratified mean (see
    /// [`super::stratified`]); the estimate, its standard error and the allocation use
    /// it. Needs a sampling that draws every patch with probability `1/N` (not `-u`);
    /// not combined with `-cv`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stratified: bool,
}

/// Quick screening's cut-off, as a fraction of `tol`: first effects all below it close
/// the cell. Most cells at the edge of a model's reach move the ROI by a thousandth of
/// `tol`. A cell whose mean is at `tol` or beyond gets one draw that small only when
/// its draws spread far around the mean (probability about `0.2 tol / (sd sqrt(2
/// pi))`, up to 4 % for the widest cells of the authors' DnCNN map), hence two draws.
pub const QUICK_FRACTION: f64 = 0.1;

/// Draws quick screening takes before it may close a cell. With one draw, the
/// authors' DnCNN lost a sensitive cell (and 1.3-2.2 points of S) in 2 of 10 seeds
/// (docs/table3.md); two such draws in a row are about 25 times less likely.
pub const QUICK_DRAWS: u32 = 2;

/// The fine draws per sensitive cell of the coarse-to-fine map a relative budget
/// ([`Adaptive::share`]) is a share of: C3F50's 50.
pub const SHARE_FINE: u32 = 50;

impl Default for Adaptive {
    fn default() -> Self {
        Adaptive {
            screen: 3,
            min_draws: 8,
            max_draws: 500,
            z: 2.0,
            target: PLAIN_TARGET,
            round: 64,
            budget: None,
            share: None,
            common: false,
            control: false,
            quick: false,
            loss_aware: false,
            stratified: false,
        }
    }
}

/// One cell's running results: count, mean and spread of its effects `O - PSNR`
/// (Welford's update), and the largest `|effect|` (Eq. 3's screening statistic).
///
/// ```
/// use cem::engine::Running;
/// let r = Running::of(&[1.0, 2.0, 3.0]);
/// assert_eq!((r.n(), r.mean(), r.max_abs()), (3, 2.0, 3.0));
/// assert!((r.std_dev() - 1.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Running {
    n: u32,
    mean: f64,
    m2: f64,
    max_abs: f64,
    non_finite: bool,
    /// Effects against their draws' features (control variates, `adaptive-cv`).
    regression: Regression,
    /// The features' expectation, once known: the regression estimate is then used.
    control_mean: Option<Features>,
    /// Per-stratum results (stratified draws, `adaptive-s`).
    strata: StratifiedMean,
}

impl Running {
    /// The running results of these effects.
    pub fn of(effects: &[f64]) -> Running {
        let mut r = Running::default();
        effects.iter().for_each(|&e| r.push(e));
        r
    }

    /// Adds one effect. A non-finite one (a perfect ROI after intervention) ends the
    /// cell's sampling: its mean is no longer an estimate.
    pub fn push(&mut self, effect: f64) {
        self.n += 1;
        if !effect.is_finite() {
            self.non_finite = true;
            return;
        }
        let d = effect - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (effect - self.mean);
        self.max_abs = self.max_abs.max(effect.abs());
    }

    /// Adds one effect with its draw's features (see [`super::control`]).
    pub fn push_with(&mut self, effect: f64, features: Features) {
        self.push(effect);
        if effect.is_finite() {
            self.regression.push(effect, features);
        }
    }

    /// Adds one effect drawn from brightness stratum `h` (see [`super::stratified`]).
    pub fn push_in(&mut self, effect: f64, h: usize) {
        self.push(effect);
        if effect.is_finite() {
            self.strata.push(effect, h);
        }
    }

    /// Sets the strata's weights (their shares of the library): from then on, once
    /// every stratum has two draws, [`Running::estimate`] and [`Running::sigma`] use the
    /// stratified mean.
    pub fn set_strata(&mut self, weights: &[f64]) {
        self.strata = StratifiedMean::new(weights);
    }

    /// The stratified mean and its per-draw sd, when in use: strata are set, every draw
    /// was finite and counted in one, and every stratum has two draws.
    pub fn stratified(&self) -> Option<(f64, f64)> {
        if !self.strata.is_on() || self.non_finite || self.strata.count() != self.n {
            return None;
        }
        self.strata.estimate()
    }

    /// The variance-reduced estimate and its per-draw sd, when one is in use: the
    /// stratified mean ([`Running::stratified`]) or the regression
    /// ([`Running::controlled`]).
    pub fn refined(&self) -> Option<(f64, f64)> {
        self.stratified().or_else(|| self.controlled())
    }

    /// Sets the expectation of the features: from then on [`Running::estimate`] and
    /// [`Running::sigma`] use the regression when it is the tighter estimate.
    pub fn set_control_mean(&mut self, mu: Features) {
        self.control_mean = Some(mu);
    }

    /// Whether the features' expectation is set.
    pub fn has_control_mean(&self) -> bool {
        self.control_mean.is_some()
    }

    /// The regression estimate and its per-draw sd, when it is in use: the features'
    /// expectation is set, every draw was finite, and the fit's sd is below the plain
    /// one.
    pub fn controlled(&self) -> Option<(f64, f64)> {
        let mu = self.control_mean.as_ref()?;
        if self.non_finite || self.regression.n() != self.n {
            return None;
        }
        self.regression
            .estimate(mu)
            .filter(|&(_, sd)| sd < self.std_dev())
    }

    /// The cell's estimated mean effect: the stratified mean or the regression
    /// estimate when in use ([`Running::refined`]), else the plain mean.
    pub fn estimate(&self) -> f64 {
        self.refined().map_or(self.mean, |(m, _)| m)
    }

    /// The per-draw sd behind the estimate's standard error (`sigma / sqrt(n)`).
    pub fn sigma(&self) -> f64 {
        self.refined().map_or(self.std_dev(), |(_, sd)| sd)
    }

    /// Draws so far.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// Mean effect.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Sample standard deviation of one draw (0 below 2 draws).
    pub fn std_dev(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).max(0.0).sqrt()
        }
    }

    /// Largest `|effect|` so far.
    pub fn max_abs(&self) -> f64 {
        self.max_abs
    }
}

/// Where a cell stands before a round.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Needs this many screening draws.
    Screen(u32),
    /// Unrelated (Eq. 3), capped, or not estimable: no more draws.
    Closed,
    /// Sensitive, needs this many warm-up draws.
    Warm(u32),
    /// Sensitive with `sigma` per draw.
    Open { sigma: f64 },
}

impl Adaptive {
    /// Most interventions in all (screening included).
    pub fn budget(mut self, n: u64) -> Self {
        self.budget = Some(n);
        self
    }

    /// The target expected relative L1 error (a fraction, e.g. 0.09).
    pub fn target(mut self, target: f64) -> Self {
        self.target = target;
        self
    }

    /// Screening draws per cell.
    pub fn screen(mut self, n: u32) -> Self {
        self.screen = n;
        self
    }

    /// Warm-up draws per sensitive cell.
    pub fn min_draws(mut self, n: u32) -> Self {
        self.min_draws = n;
        self
    }

    /// Most draws per cell.
    pub fn max_draws(mut self, n: u32) -> Self {
        self.max_draws = n;
        self
    }

    /// Draws per allocation round.
    pub fn round(mut self, n: u32) -> Self {
        self.round = n;
        self
    }

    /// Interval half-width in standard errors.
    pub fn z(mut self, z: f64) -> Self {
        self.z = z;
        self
    }

    /// Common random numbers across cells (default off; see [`Adaptive::common`]).
    pub fn common(mut self, on: bool) -> Self {
        self.common = on;
        self
    }

    /// Control variates on or off (default off; see [`Adaptive::control`]). A target
    /// still at the other variant's default moves to this one's
    /// ([`Adaptive::default_target`]); set another target after this call.
    pub fn control(self, on: bool) -> Self {
        self.keeping_default_target(|a| a.control = on)
    }

    /// Stratified draws on or off (default off; see [`Adaptive::stratified`]). Like
    /// [`Adaptive::control`], a target still at the other variant's default moves to
    /// this one's.
    pub fn stratified(self, on: bool) -> Self {
        self.keeping_default_target(|a| a.stratified = on)
    }

    /// Applies `set`; a target that was this variant's default becomes the new
    /// variant's default ([`Adaptive::default_target`]).
    fn keeping_default_target(mut self, set: impl FnOnce(&mut Self)) -> Self {
        let was_default = self.target == self.default_target();
        set(&mut self);
        if was_default {
            self.target = self.default_target();
        }
        self
    }

    /// Loss-aware allocation on or off (default off; see [`Adaptive::loss_aware`]).
    pub fn loss_aware(mut self, on: bool) -> Self {
        self.loss_aware = on;
        self
    }

    /// Quick screening on or off (default off; see [`Adaptive::quick`]).
    pub fn quick(mut self, on: bool) -> Self {
        self.quick = on;
        self
    }

    /// A budget of `fraction` of the same map's C3F50 cost ([`Adaptive::share`]).
    pub fn share(mut self, fraction: f64) -> Self {
        self.share = Some(fraction);
        self
    }

    /// The budget in force given the results so far: the fixed budget, or with a
    /// relative one ([`Adaptive::share`]) once screening is done, `floor(share x (screen
    /// x cells + 50 x sensitive))`, whichever is smaller. While cells still screen, the
    /// relative budget is not yet known and does not limit (screening runs first and
    /// costs what C3F50's coarse stage costs). A map with hardly any sensitive cell
    /// can have spent more than its share on screening alone; it then stops there.
    ///
    /// ```
    /// use cem::engine::{Adaptive, Running};
    /// let plan = Adaptive::default().share(0.6);
    /// let quiet = Running::of(&[0.0, 0.001, 0.0]);
    /// let loud = Running::of(&[0.5, 0.2, 0.4]);
    /// // 3 cells screened, 1 sensitive: C3F50 would spend 3 x 3 + 50 = 59
    /// assert_eq!(plan.budget_now(&[quiet, quiet, loud], 0.01), Some(35));
    /// // still screening: no limit yet
    /// assert_eq!(plan.budget_now(&[quiet, Running::default()], 0.01), None);
    /// ```
    pub fn budget_now(&self, cells: &[Running], tol: f64) -> Option<u64> {
        let relative = self.share.and_then(|fraction| {
            let screening = cells
                .iter()
                .any(|r| matches!(self.state(r, tol), State::Screen(_)));
            if screening {
                return None;
            }
            let sensitive = cells
                .iter()
                .filter(|r| r.n >= self.screen && r.max_abs >= tol)
                .count() as u64;
            let cost = self.screen as u64 * cells.len() as u64 + SHARE_FINE as u64 * sensitive;
            Some((fraction * cost as f64).floor() as u64)
        });
        match (self.budget, relative) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The default target of this variant: 9 % (C3F50's own precision on the shipped
    /// DnCNN), or 6 % with control variates or stratified draws, whose error estimates
    /// are tighter (on the shipped DnCNN control variates give S above C3F50's with
    /// under half its interventions: docs/table3.md).
    pub fn default_target(&self) -> f64 {
        if self.control || self.stratified {
            CV_TARGET
        } else {
            PLAIN_TARGET
        }
    }

    /// The label of Table III's row: `Adaptive`, `Adaptive-B960` with a budget, `-CRN`
    /// with common random numbers, `-CV` with control variates, `-Q` with quick
    /// screening, `-L` with loss-aware allocation, `-S` with stratified draws, and `-T5`
    /// for a target other than the variant's default (here 5 %).
    pub fn label(&self) -> String {
        let mut label = match self.budget {
            Some(b) => format!("Adaptive-B{b}"),
            None => "Adaptive".into(),
        };
        if let Some(f) = self.share {
            // e.g. -B60% for 60 % of the map's own C3F50 cost
            label.push_str(&format!("-B{}%", (f * 1000.0).round() / 10.0));
        }
        if self.common {
            label.push_str("-CRN");
        }
        if self.control {
            label.push_str("-CV");
        }
        if self.quick {
            label.push_str("-Q");
        }
        if self.loss_aware {
            label.push_str("-L");
        }
        if self.stratified {
            label.push_str("-S");
        }
        if self.target != self.default_target() {
            // e.g. -T5 for a 5 % target: maps made to other targets are other rows
            label.push_str(&format!("-T{}", (self.target * 1000.0).round() / 10.0));
        }
        label
    }

    /// Checks every setting, naming the bad one.
    pub fn check(&self) -> Result<()> {
        if self.screen == 0 {
            return Err(Error::invalid(
                "adaptive screen",
                self.screen,
                "needs at least 1 draw per cell",
            ));
        }
        if self.min_draws < 2 || self.min_draws < self.screen {
            return Err(Error::invalid(
                "adaptive min_draws",
                self.min_draws,
                format!(
                    "must be at least 2 (a standard error needs two draws) and at least the {} screening draws",
                    self.screen
                ),
            ));
        }
        if self.max_draws < self.min_draws {
            return Err(Error::invalid(
                "adaptive max_draws",
                self.max_draws,
                format!("must be at least min_draws ({})", self.min_draws),
            ));
        }
        if !(self.z.is_finite() && self.z > 0.0) {
            return Err(Error::invalid("adaptive z", self.z, "must be positive"));
        }
        if !(self.target.is_finite() && self.target > 0.0 && self.target < 1.0) {
            return Err(Error::invalid(
                "adaptive target",
                self.target,
                "must be a fraction between 0 and 1 (e.g. 0.09)",
            ));
        }
        if self.round == 0 {
            return Err(Error::invalid(
                "adaptive round",
                self.round,
                "needs at least 1 draw",
            ));
        }
        if self.budget == Some(0) {
            return Err(Error::invalid("budget", 0, "needs at least 1 inference"));
        }
        if let Some(f) = self.share {
            if !(f.is_finite() && f > 0.0 && f <= 1.0) {
                return Err(Error::invalid(
                    "budget share",
                    f,
                    "must be a fraction of C3F50's cost in (0, 1], e.g. 0.6 (adaptive:60%)",
                ));
            }
        }
        if self.stratified && self.control {
            return Err(Error::invalid(
                "adaptive variance reduction",
                "-cv with -s",
                "choose one: stratified draws (-s) already take out the brightness part that \
                 the control variates (-cv) would",
            ));
        }
        Ok(())
    }

    /// Checks that the budget pays for screening `cells` cells.
    pub fn check_budget(&self, cells: usize) -> Result<()> {
        let need = cells as u64 * self.screen as u64;
        match self.budget {
            Some(b) if b < need => Err(Error::invalid(
                "budget",
                b,
                format!(
                    "below the screening round's {need} inferences ({cells} cells x {}); raise it or screen fewer draws",
                    self.screen
                ),
            )),
            _ => Ok(()),
        }
    }

    fn state(&self, r: &Running, tol: f64) -> State {
        if self.quick && r.n < QUICK_DRAWS.min(self.screen) {
            State::Screen(QUICK_DRAWS.min(self.screen) - r.n)
        } else if self.quick && r.n < self.screen && r.max_abs < QUICK_FRACTION * tol {
            State::Closed
        } else if r.n < self.screen {
            State::Screen(self.screen - r.n)
        } else if r.non_finite || r.max_abs < tol || r.n >= self.max_draws {
            State::Closed
        } else if r.n < self.min_draws {
            State::Warm(self.min_draws - r.n)
        } else {
            State::Open { sigma: r.sigma() }
        }
    }

    /// The next round: `(cell index, extra draws)` for the cells that get draws, in
    /// index order; empty when the map is done. `cells` holds each cell's results so far
    /// (effects `O - PSNR`), `tol` the map's tolerance in dB.
    pub fn next_round(&self, cells: &[Running], tol: f64) -> Vec<(usize, u32)> {
        let spent: u64 = cells.iter().map(|r| r.n as u64).sum();
        let budget = self.budget_now(cells, tol);
        let mut left = budget.map_or(u64::MAX, |b| b.saturating_sub(spent));
        let states: Vec<State> = cells.iter().map(|r| self.state(r, tol)).collect();
        // screening, then warm-up: fixed counts, in cell order while the budget lasts
        for phase in [0, 1] {
            let needs: Vec<(usize, u32)> = states
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match (phase, s) {
                    (0, State::Screen(k)) | (1, State::Warm(k)) => Some((i, *k)),
                    _ => None,
                })
                .collect();
            if !needs.is_empty() {
                let mut out = vec![];
                for (i, need) in needs {
                    let k = (need as u64).min(left) as u32;
                    if k > 0 {
                        out.push((i, k));
                        left -= k as u64;
                    }
                }
                return out; // empty: the budget is spent
            }
        }
        self.allocate(cells, &states, tol, left)
    }

    /// One allocation round over the open cells (see the module docs).
    fn allocate(
        &self,
        cells: &[Running],
        states: &[State],
        tol: f64,
        left: u64,
    ) -> Vec<(usize, u32)> {
        let open: Vec<(usize, f64)> = states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                State::Open { sigma } => Some((i, *sigma)),
                _ => None,
            })
            .collect();
        if open.is_empty() {
            return vec![];
        }
        // the map's L1 norm as estimated now: every sensitive cell's |mean|
        let norm: f64 = open.iter().map(|&(i, _)| cells[i].estimate().abs()).sum();
        let allowed = self.target * norm;
        let share = allowed / open.len() as f64;
        let err = |sigma: f64, n: u32| sigma * SQRT_2_OVER_PI / (n as f64).sqrt();
        let settled = |i: usize, sigma: f64, n: u32| {
            let (m, se) = (cells[i].estimate().abs(), sigma / (n as f64).sqrt());
            m - self.z * se > tol || m + self.z * se < tol || err(sigma, n) <= share
        };
        // may cell k take one more draw this round? (at most as many as it has, since
        // its sigma is an estimate, and at most max_draws in all)
        let n_now = |k: usize, extra: &[u32]| cells[open[k].0].n + extra[k];
        let may_draw = |k: usize, extra: &[u32]| {
            n_now(k, extra) < self.max_draws && extra[k] < cells[open[k].0].n
        };
        // the settling rule: the unsettled cells first, then by the L1 error one more
        // draw removes, settled cells only while the map misses its target
        let by_settling = |extra: &[u32]| -> Option<usize> {
            let total: f64 = (0..open.len())
                .map(|k| err(open[k].1, n_now(k, extra)))
                .sum();
            let all_settled = (0..open.len()).all(|k| {
                let n = n_now(k, extra);
                n >= self.max_draws || settled(open[k].0, open[k].1, n)
            });
            if all_settled && total <= allowed {
                return None;
            }
            (0..open.len())
                .filter(|&k| may_draw(k, extra))
                .map(|k| {
                    let (i, sigma) = open[k];
                    let n = n_now(k, extra);
                    let gain = err(sigma, n) - err(sigma, n + 1);
                    (k, !settled(i, sigma, n), gain)
                })
                .filter(|&(_, unsettled, _)| unsettled || total > allowed)
                .max_by(|a, b| {
                    (a.1, a.2)
                        .partial_cmp(&(b.1, b.2))
                        .unwrap_or(std::cmp::Ordering::Equal)
                        .then(b.0.cmp(&a.0))
                })
                .map(|(k, _, _)| k)
        };
        // loss-aware (`-l`): by the thresholded loss one more draw removes, while that
        // gain is worth a draw's price: the marginal gain at which draws in proportion
        // to c^(2/3) (c = sigma sqrt(2/pi)) would bring the smooth error to `allowed`
        let c23: f64 = open
            .iter()
            .map(|&(_, sigma)| (sigma * SQRT_2_OVER_PI).powf(2.0 / 3.0))
            .sum();
        let price = if c23 > 0.0 && allowed > 0.0 {
            (allowed / c23).powi(3) / 2.0
        } else {
            f64::INFINITY
        };
        let loss = |k: usize, n: u32| {
            let (i, sigma) = open[k];
            thresholded_loss(cells[i].estimate(), sigma / (n as f64).sqrt(), tol)
        };
        let by_loss = |extra: &[u32]| -> Option<usize> {
            (0..open.len())
                .filter(|&k| may_draw(k, extra))
                .map(|k| {
                    let n = n_now(k, extra);
                    (k, loss(k, n) - loss(k, n + 1))
                })
                .filter(|&(_, gain)| gain >= price)
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(k, _)| k)
        };
        let mut extra = vec![0u32; open.len()];
        for _ in 0..(self.round as u64).min(left) {
            let next = if self.loss_aware {
                by_loss(&extra)
            } else {
                by_settling(&extra)
            };
            match next {
                Some(k) => extra[k] += 1,
                None => break,
            }
        }
        open.iter()
            .zip(extra)
            .filter(|(_, e)| *e > 0)
            .map(|(&(i, _), e)| (i, e))
            .collect()
    }
}

/// The expected absolute error of a cell's reported effect, `T(m)` with `T` the
/// tolerance rule (`|x| < tol` is 0), when its true mean is `N(m, s^2)` around the
/// estimate: `E |T(m) - T(mu)|`. Far from `tol` it is the plain `s sqrt(2/pi)`; near
/// `tol` it adds the chance that the true effect lies on the other side, which costs
/// the whole effect.
///
/// ```
/// use cem::engine::thresholded_loss;
/// let far = thresholded_loss(0.5, 0.01, 0.01);
/// assert!((far - 0.01 * (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-9);
/// // at tol the estimate is as likely 0: about half the effect is at stake
/// assert!(thresholded_loss(0.0101, 0.001, 0.01) > 0.004);
/// assert_eq!(thresholded_loss(0.02, 0.0, 0.01), 0.0);
/// ```
pub fn thresholded_loss(m: f64, s: f64, tol: f64) -> f64 {
    if s.is_nan() || s <= 0.0 || !m.is_finite() {
        return 0.0;
    }
    let r = if m.abs() < tol { 0.0 } else { m };
    let cdf = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
    let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    // E[mu - r; a < mu < b]
    let part = |a: f64, b: f64| {
        let (za, zb) = ((a - m) / s, (b - m) / s);
        (m - r) * (cdf(zb) - cdf(za)) + s * (pdf(za) - pdf(zb))
    };
    // E[|r - mu|; lo < mu < hi]
    let abs_part = |lo: f64, hi: f64| {
        let below = if lo < r { -part(lo, r.min(hi)) } else { 0.0 };
        let above = if hi > r { part(r.max(lo), hi) } else { 0.0 };
        below + above
    };
    let inside = cdf((tol - m) / s) - cdf((-tol - m) / s);
    abs_part(f64::NEG_INFINITY, -tol) + abs_part(tol, f64::INFINITY) + r.abs() * inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    const TOL: f64 = 0.01;

    /// Runs the plan to the end on cells with normal effects `N(mean, sd)`; returns each
    /// cell's results and the rounds' sizes.
    fn simulate(plan: &Adaptive, truth: &[(f64, f64)], seed: u64) -> (Vec<Running>, Vec<u64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut cells = vec![Running::default(); truth.len()];
        let mut rounds = vec![];
        loop {
            let round = plan.next_round(&cells, TOL);
            if round.is_empty() {
                return (cells, rounds);
            }
            rounds.push(round.iter().map(|&(_, k)| k as u64).sum());
            for (i, k) in round {
                let (m, sd) = truth[i];
                for _ in 0..k {
                    let e = if sd == 0.0 {
                        m
                    } else {
                        Normal::new(m, sd).unwrap().sample(&mut rng)
                    };
                    cells[i].push(e);
                }
            }
            assert!(rounds.len() < 10_000, "no end");
        }
    }

    /// 40 far cells (no effect), 10 loud cells with large spread, 10 quiet but clear ones.
    fn field() -> Vec<(f64, f64)> {
        let mut t = vec![(0.0, 0.0); 40];
        t.extend((0..10).map(|i| (0.2 + 0.05 * i as f64, 0.4)));
        t.extend((0..10).map(|i| (-0.03 - 0.002 * i as f64, 0.01)));
        t
    }

    fn l1_error(cells: &[Running], truth: &[(f64, f64)]) -> f64 {
        cells
            .iter()
            .zip(truth)
            .map(|(r, &(m, _))| {
                let est = if r.max_abs() < TOL { 0.0 } else { r.mean() };
                (est - m).abs()
            })
            .sum()
    }

    #[test]
    fn labels_name_every_option_and_a_target_other_than_the_variants_default() {
        let a = Adaptive::default();
        assert_eq!(a.label(), "Adaptive");
        assert_eq!(a.control(true).label(), "Adaptive-CV");
        assert_eq!(a.control(true).target, 0.06);
        assert_eq!(a.control(true).control(false), a);
        assert_eq!(a.control(true).target(0.05).label(), "Adaptive-CV-T5");
        assert_eq!(a.target(0.06).label(), "Adaptive-T6");
        assert_eq!(
            a.budget(900).common(true).control(true).label(),
            "Adaptive-B900-CRN-CV"
        );
        // a target set before control(true) is kept
        assert_eq!(a.target(0.045).control(true).label(), "Adaptive-CV-T4.5");
    }

    #[test]
    fn a_controlled_cell_uses_the_regression_only_when_it_is_tighter() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let noise = Normal::new(0.0, 0.01).unwrap();
        let (mut tight, mut useless) = (Running::default(), Running::default());
        for k in 0..30 {
            let z = [k as f64 * 7.0 % 50.0, (k * k) as f64 % 31.0, (k % 5) as f64];
            tight.push_with(0.01 * z[0] + noise.sample(&mut rng), z);
            // an effect the features say nothing about
            useless.push_with(0.3 + 10.0 * noise.sample(&mut rng), z);
        }
        // without the features' expectation: the plain mean
        assert_eq!(tight.estimate(), tight.mean());
        assert_eq!(tight.sigma(), tight.std_dev());
        for r in [&mut tight, &mut useless] {
            r.set_control_mean([25.0, 15.0, 2.0]);
        }
        // the fitted slope removes the z spread: the estimate centres on 0.25
        let (m, sd) = tight.controlled().unwrap();
        assert!(
            (m - 0.25).abs() < 0.01 && sd < 0.3 * tight.std_dev(),
            "{m} {sd}"
        );
        assert_eq!((tight.estimate(), tight.sigma()), (m, sd));
        // a fit that is no tighter than the plain mean is not used
        if useless.controlled().is_none() {
            assert_eq!(useless.estimate(), useless.mean());
        } else {
            assert!(useless.sigma() < useless.std_dev());
        }
    }

    #[test]
    fn running_matches_the_textbook_formulas() {
        let v = [0.3, -0.1, 0.25, 0.7, 0.05];
        let r = Running::of(&v);
        let mean = v.iter().sum::<f64>() / 5.0;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert!((r.mean() - mean).abs() < 1e-15);
        assert!((r.std_dev() - var.sqrt()).abs() < 1e-15);
        assert_eq!(r.max_abs(), 0.7);
        assert_eq!(Running::of(&[2.0]).std_dev(), 0.0);
    }

    #[test]
    fn screening_closes_far_cells_and_keeps_their_draws_at_three() {
        let plan = Adaptive::default();
        let truth = field();
        let (cells, rounds) = simulate(&plan, &truth, 1);
        assert_eq!(
            rounds[0],
            60 * 3,
            "the screening round: every cell, 3 draws"
        );
        assert_eq!(rounds[1], 20 * 5, "warm-up of the 20 sensitive cells to 8");
        for (r, &(m, _)) in cells.iter().zip(&truth) {
            if m == 0.0 {
                assert_eq!((r.n(), r.max_abs()), (3, 0.0));
            } else {
                assert!(r.n() >= 8);
                assert_eq!(r.mean().signum(), m.signum(), "{r:?} for {m}");
            }
        }
        assert!(rounds[2..].iter().all(|&k| k <= 64), "{rounds:?}");
    }

    #[test]
    fn quick_screening_closes_cells_on_two_tiny_first_draws_and_screens_the_rest_as_eq_3() {
        let plan = Adaptive::default().quick(true);
        // far cells (no effect), cells whose first draw is small but not tiny, wired ones
        let mut truth = vec![(0.0, 0.0); 30];
        truth.extend([(3.0 * QUICK_FRACTION * TOL, 0.0); 10]);
        truth.extend((0..10).map(|i| (0.2 + 0.05 * i as f64, 0.04)));
        let (cells, rounds) = simulate(&plan, &truth, 3);
        assert_eq!(
            rounds[0],
            50 * 2,
            "the first round: two draws of every cell"
        );
        assert_eq!(rounds[1], 20, "the rest of the screen for 20 cells");
        for (r, &(m, _)) in cells.iter().zip(&truth) {
            if m == 0.0 {
                assert_eq!(r.n(), 2, "two zero first effects close the cell");
            } else if m < TOL {
                // above the cut-off: screened by Eq. 3 with all 3 draws, then unrelated
                assert_eq!(r.n(), 3, "{r:?}");
            } else {
                assert!(r.n() >= 8 && r.mean() > 0.0, "{r:?}");
            }
        }
        // without it, the same cells get 3 screening draws each
        let (plain, _) = simulate(&Adaptive::default(), &truth, 3);
        assert!(plain[..30].iter().all(|r| r.n() == 3));
        assert_eq!(
            Adaptive::default().control(true).quick(true).label(),
            "Adaptive-CV-Q"
        );
    }

    #[test]
    fn thresholded_loss_is_the_expected_error_of_the_thresholded_estimate() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let t = |x: f64| if x.abs() < TOL { 0.0 } else { x };
        for (m, s) in [
            (0.05, 0.01),
            (0.011, 0.003),
            (0.009, 0.004),
            (-0.012, 0.006),
            (0.0, 0.02),
        ] {
            let normal = Normal::new(m, s).unwrap();
            let draws = 200_000;
            let mc: f64 = (0..draws)
                .map(|_| (t(m) - t(normal.sample(&mut rng))).abs())
                .sum::<f64>()
                / draws as f64;
            let exact = thresholded_loss(m, s, TOL);
            assert!(
                (exact - mc).abs() < 2e-5 + 0.01 * mc,
                "{m} {s}: {exact} vs {mc}"
            );
        }
    }

    #[test]
    fn loss_aware_allocation_spends_on_cells_near_tol_that_draws_can_decide() {
        // loud cells far from tol, and quiet ones just above it: the plain rule settles
        // the quiet ones by their small sd, the loss-aware one buys them draws
        let mut truth: Vec<(f64, f64)> = (0..6).map(|i| (0.1 + 0.02 * i as f64, 0.2)).collect();
        truth.extend([(0.0125, 0.007); 6]);
        let (mut plain_n, mut aware_n, mut plain_err, mut aware_err) = (0u32, 0u32, 0.0, 0.0);
        let t = |x: f64| if x.abs() < TOL { 0.0 } else { x };
        for seed in 0..40 {
            for (aware, n, err) in [
                (false, &mut plain_n, &mut plain_err),
                (true, &mut aware_n, &mut aware_err),
            ] {
                let plan = Adaptive::default().loss_aware(aware);
                let (cells, _) = simulate(&plan, &truth, seed);
                *n += cells[6..].iter().map(Running::n).sum::<u32>();
                *err += cells[6..]
                    .iter()
                    .zip(&truth[6..])
                    .map(|(r, &(m, _))| (t(r.mean()) - m).abs())
                    .sum::<f64>();
            }
        }
        assert!(aware_n > plain_n, "{aware_n} vs {plain_n}");
        assert!(aware_err < plain_err, "{aware_err} vs {plain_err}");
    }

    #[test]
    fn noisy_cells_get_the_draws_and_quiet_clear_ones_stop_early() {
        let plan = Adaptive::default();
        let (cells, _) = simulate(&plan, &field(), 2);
        let loud: u32 = cells[40..50].iter().map(Running::n).min().unwrap();
        let quiet: u32 = cells[50..60].iter().map(Running::n).max().unwrap();
        // the quiet cells' sign is clear from the warm-up (|mean| / se >> z)
        assert!(quiet <= 12, "{cells:?}");
        assert!(loud > 30, "{cells:?}");
    }

    #[test]
    fn it_meets_its_target_and_beats_equal_allocation_at_the_same_cost() {
        let truth = field();
        let norm: f64 = truth.iter().map(|t| t.0.abs()).sum();
        let plan = Adaptive::default();
        let (mut adaptive_err, mut equal_err, mut spent) = (0.0, 0.0, 0u64);
        for seed in 0..20 {
            let (cells, rounds) = simulate(&plan, &truth, seed);
            let cost: u64 = rounds.iter().sum();
            spent += cost;
            adaptive_err += l1_error(&cells, &truth);
            // the same number of draws, C3F-style: screening, then equal shares
            let per = ((cost - 180) / 20) as usize;
            let mut rng = ChaCha8Rng::seed_from_u64(1000 + seed);
            let equal: Vec<Running> = truth
                .iter()
                .map(|&(m, sd)| {
                    let n = if m == 0.0 { 3 } else { per };
                    let v: Vec<f64> = (0..n)
                        .map(|_| {
                            if sd == 0.0 {
                                m
                            } else {
                                Normal::new(m, sd).unwrap().sample(&mut rng)
                            }
                        })
                        .collect();
                    Running::of(&v)
                })
                .collect();
            equal_err += l1_error(&equal, &truth);
        }
        let (a, e) = (adaptive_err / 20.0 / norm, equal_err / 20.0 / norm);
        // the expected relative L1 error is near the 9 % target, and well below the
        // equal split of the same draws
        assert!(a < 0.11, "adaptive {a}");
        assert!(
            a < 0.8 * e,
            "adaptive {a} vs equal {e} at {} draws",
            spent / 20
        );
    }

    #[test]
    fn the_budget_is_never_exceeded_and_rounds_are_fixed_size() {
        let plan = Adaptive::default().budget(700).target(0.01);
        let (cells, rounds) = simulate(&plan, &field(), 3);
        let spent: u64 = cells.iter().map(|r| r.n() as u64).sum();
        assert_eq!(spent, 700, "a tight target spends the whole budget");
        assert!(
            rounds[2..rounds.len() - 1].iter().all(|&k| k == 64),
            "{rounds:?}"
        );
        assert!(plan.check_budget(233).is_ok());
        let e = plan.check_budget(234).unwrap_err().to_string();
        assert!(e.contains("700") && e.contains("702"), "{e}");
        assert!(plan.check_budget(200).is_ok());
    }

    #[test]
    fn a_relative_budget_is_a_share_of_the_maps_own_c3f50_cost() {
        let truth = field();
        // the 20 cells with effects pass Eq. 3 (|effect| >= tol in 3 draws) in this field
        let c3f50 = 3 * truth.len() as u64 + SHARE_FINE as u64 * 20;
        for (fraction, seed) in [(0.6, 1), (0.3, 2)] {
            let plan = Adaptive::default().share(fraction).target(0.001);
            let (cells, _) = simulate(&plan, &truth, seed);
            let spent: u64 = cells.iter().map(|r| r.n() as u64).sum();
            let sensitive = cells.iter().filter(|r| r.max_abs() >= TOL).count() as u64;
            assert_eq!(sensitive, 20, "seed {seed}");
            assert_eq!(spent, (fraction * c3f50 as f64).floor() as u64);
        }
        // with a fixed budget too, the smaller one holds
        let plan = Adaptive::default().share(0.6).budget(500).target(0.001);
        let (cells, _) = simulate(&plan, &truth, 1);
        assert_eq!(cells.iter().map(|r| r.n() as u64).sum::<u64>(), 500);
        // a map with no sensitive cell stops after screening, whatever its share
        let plan = Adaptive::default().share(0.1);
        let (cells, _) = simulate(&plan, &[(0.0, 0.0); 10], 0);
        assert!(cells.iter().all(|r| r.n() == 3));
        for bad in [0.0, 1.5, f64::NAN] {
            let e = Adaptive::default()
                .share(bad)
                .check()
                .unwrap_err()
                .to_string();
            assert!(e.contains("budget share"), "{e}");
        }
    }

    #[test]
    fn deterministic_cells_settle_at_warm_up_and_bad_settings_are_named() {
        // a glass-box cell: every draw the same effect, so SE 0
        let plan = Adaptive::default();
        let (cells, rounds) = simulate(&plan, &[(0.3, 0.0), (0.0, 0.0), (-0.2, 0.0)], 0);
        assert_eq!(cells.iter().map(Running::n).collect::<Vec<_>>(), [8, 3, 8]);
        assert_eq!(rounds, [9, 10]);
        for (bad, name) in [
            (Adaptive::default().screen(0), "screen"),
            (Adaptive::default().min_draws(1), "min_draws"),
            (Adaptive::default().max_draws(4), "max_draws"),
            (Adaptive::default().z(f64::NAN), "z"),
            (Adaptive::default().target(1.5), "target"),
            (Adaptive::default().round(0), "round"),
            (Adaptive::default().budget(0), "budget"),
        ] {
            let e = bad.check().unwrap_err().to_string();
            assert!(e.contains(name), "{e}");
        }
        assert!(Adaptive::default().check().is_ok());
    }

    #[test]
    fn a_non_finite_draw_closes_the_cell() {
        let mut r = Running::of(&[0.5, 0.4, 0.6]);
        r.push(f64::NEG_INFINITY);
        assert!(Adaptive::default().next_round(&[r], TOL).is_empty());
    }
}
