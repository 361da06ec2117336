//! Which random generator makes a degraded input, and the per-image seed of the
//! authors' pipeline.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The random generator a degradation draws the model input from.
///
/// ```
/// use cem::degrade::RngKind;
/// assert_eq!(RngKind::parse("numpy").unwrap(), RngKind::Numpy);
/// assert_eq!(RngKind::default().name(), "chacha");
/// assert!(RngKind::parse("mt").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RngKind {
    /// The crate's seeded ChaCha8 generator (the default).
    #[default]
    ChaCha,
    /// NumPy's legacy global generator, draw for draw as the authors' code (DN:
    /// `np.random.seed(seed)`; DR: `RainGenerator(first integer of the file name)`).
    Numpy,
}

impl RngKind {
    /// Parses `chacha` or `numpy`.
    pub fn parse(name: &str) -> Result<RngKind> {
        match name.to_ascii_lowercase().as_str() {
            "chacha" => Ok(RngKind::ChaCha),
            "numpy" => Ok(RngKind::Numpy),
            _ => Err(Error::invalid("rng", name, "must be chacha or numpy")),
        }
    }

    /// `chacha` or `numpy`.
    pub fn name(&self) -> &'static str {
        match self {
            RngKind::ChaCha => "chacha",
            RngKind::Numpy => "numpy",
        }
    }
}

/// The first run of ASCII digits in `name`, as the authors'
/// `extract_first_number_from_image_name` (`re.search(r'\d+', name)`): the per-image
/// rain seed (`demo_2.png` -> 2). `None` when the name has no digit.
///
/// ```
/// use cem::degrade::image_number;
/// assert_eq!(image_number("demo_2.png").unwrap(), Some(2));
/// assert_eq!(image_number("0801x4.png").unwrap(), Some(801));
/// assert_eq!(image_number("cat.png").unwrap(), None);
/// assert!(image_number("img_99999999999999999999999.png").is_err());
/// ```
pub fn image_number(name: &str) -> Result<Option<u64>> {
    let start = match name.find(|c: char| c.is_ascii_digit()) {
        Some(s) => s,
        None => return Ok(None),
    };
    let digits: String = name[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse::<u64>().map(Some).map_err(|_| {
        Error::invalid(
            "image number",
            format!("{digits} (in {name})"),
            "must fit in 64 bits",
        )
    })
}
