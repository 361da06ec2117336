//! The crate's one error type.
//!
//! Every variant names the value that was wrong, so a notebook user can fix the
//! call without reading the source. Errors from the libraries underneath (the OS,
//! `image`, `polars`, `plotters`, libtorch, `serde_json`) are kept as the
//! [`source`](std::error::Error::source) of the variant that says which file or value
//! they concern; a variant's own text never repeats its source's, so a printed chain
//! (anyhow's `{:#}`, or [`Error::report`]) reads once:
//!
//! ```
//! let err = cem::image::load_rgb("no/such.png").unwrap_err();
//! assert_eq!(err.to_string(), "cannot read image no/such.png");
//! assert_eq!(
//!     err.report(),
//!     "cannot read image no/such.png: No such file or directory (os error 2)"
//! );
//! ```

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written; what the OS said is the source.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// An image file is missing, unreadable, corrupt or cannot be written; what the
    /// decoder, encoder or OS said is the source.
    #[error("cannot {op} image {path}")]
    Image {
        /// `read` or `write`.
        op: &'static str,
        /// The file (`<memory>` for bytes).
        path: PathBuf,
        /// What the decoder, encoder or OS said.
        #[source]
        source: ::image::ImageError,
    },
    /// A model file that cannot be opened (missing, unreadable).
    #[error("cannot open model file {path}")]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A model file is not a TorchScript archive libtorch can load.
    #[error("{path} is not a loadable TorchScript model ({reason}); export it with torch.jit.trace or torch.jit.script and torch.jit.save")]
    NotTorchScript {
        /// The file.
        path: PathBuf,
        /// What libtorch said.
        reason: String,
    },
    /// A model returned an output of the wrong shape.
    #[error(
        "model output has shape {got:?}, expected {expected:?} (input {input:?}, scale {scale})"
    )]
    ModelOutputShape {
        /// The shape the engine expected.
        expected: Vec<i64>,
        /// The shape the model returned.
        got: Vec<i64>,
        /// The input shape.
        input: Vec<i64>,
        /// The scale the output was checked against.
        scale: u32,
    },
    /// A model returned NaN or infinite values.
    #[error("model output contains NaN/inf: {count} {context}")]
    ModelOutputNotFinite {
        /// How many values (or whole outputs, per `context`) were not finite.
        count: i64,
        /// Where it happened (e.g. which batch).
        context: String,
    },
    /// The model itself failed (a libtorch error or a panic inside a closure model).
    #[error("model forward failed: {0}")]
    ModelFailed(String),
    /// The device has not enough memory for the work: found before running (from an
    /// estimate against the free memory) or reported by libtorch while running.
    #[error("{}", out_of_memory_text(device, what, *needed, *available))]
    OutOfMemory {
        /// The device (`cpu`, `cuda:0`).
        device: String,
        /// What needed the memory (e.g. "one 8000x8000 input through dncnn").
        what: String,
        /// Bytes needed, when estimated.
        needed: Option<u64>,
        /// Bytes free, when known.
        available: Option<u64>,
    },
    /// A region of interest does not lie inside the image.
    #[error("ROI x={x} y={y} size={size} lies outside the {width}x{height} image")]
    RoiOutsideImage {
        /// ROI left edge.
        x: u32,
        /// ROI top edge.
        y: u32,
        /// ROI side.
        size: u32,
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
    /// The block (patch) size does not tile the image or the scale.
    #[error("block size {block} does not divide {what} ({value})")]
    BlockDoesNotDivide {
        /// Block size in output pixels.
        block: u32,
        /// What it must divide ("image width", "scale", ...).
        what: String,
        /// That value.
        value: u32,
    },
    /// Two images or tensors that must agree in size do not.
    #[error("size mismatch: {what}: expected {expected}, got {got}")]
    SizeMismatch {
        /// What was compared.
        what: String,
        /// Expected size.
        expected: String,
        /// Actual size.
        got: String,
    },
    /// A task name that is not `sr`, `dn` or `dr`.
    #[error("unknown task '{0}': expected one of sr, dn, dr, sr-up, blur, jpeg, haze, lowlight")]
    UnknownTask(String),
    /// A setting outside its allowed range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// Name of the setting.
        name: String,
        /// The value given.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// An intervention library that cannot be built.
    #[error("intervention library {path}: {reason}")]
    Library {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A stored result file that cannot be read back.
    #[error("result file {path}: {reason}")]
    ResultFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A run was interrupted; what was done so far is saved.
    #[error("interrupted after {done} of {total} inferences; progress saved in {checkpoint}, run again to resume")]
    Interrupted {
        /// Inferences done.
        done: usize,
        /// Inferences planned.
        total: usize,
        /// Where the partial state is.
        checkpoint: PathBuf,
    },
    /// Another run is writing into the same result folder.
    #[error("{dir} is already in use by another cem run ({holder}); wait for it, use another --out, or delete {lock} if that run is gone")]
    FolderLocked {
        /// The result folder.
        dir: PathBuf,
        /// Who holds the lock (host and process id).
        holder: String,
        /// The lock file.
        lock: PathBuf,
    },
    /// A result folder cannot be created or written.
    #[error("cannot write results to {dir}")]
    FolderNotWritable {
        /// The folder.
        dir: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A libtorch error (its own text); out-of-memory failures become
    /// [`Error::OutOfMemory`] instead.
    #[error(transparent)]
    Torch(tch::TchError),
    /// A JSON error (its own text).
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A table (polars) operation failed (polars' own text).
    #[error(transparent)]
    Table(#[from] polars::error::PolarsError),
    /// polars could not read or write a table file; polars' error is the source.
    #[error("cannot {op} table {path}")]
    TableFile {
        /// `read` or `write`.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// What polars said.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A figure could not be drawn or written.
    #[error("figure: {0}")]
    Figure(String),
    /// A plotters drawing call failed; plotters' error is the source.
    #[error("cannot draw {what}")]
    Plot {
        /// What was being drawn.
        what: String,
        /// What plotters (or its backend) said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A model that cannot be differentiated was asked for gradients (LAM, the
    /// single-pixel experiment).
    #[error("model '{model}' does not support gradients: {reason}")]
    NoGradients {
        /// The model's name.
        model: String,
        /// Why, and what to use instead.
        reason: String,
    },
}

impl From<tch::TchError> for Error {
    /// libtorch's out-of-memory failures (which reach Rust only as text) become
    /// [`Error::OutOfMemory`]; every other error stays [`Error::Torch`].
    fn from(e: tch::TchError) -> Self {
        match &e {
            tch::TchError::Torch(text) if crate::model::memory::is_out_of_memory_text(text) => {
                crate::model::memory::out_of_memory_from_text(text)
            }
            _ => Error::Torch(e),
        }
    }
}

fn out_of_memory_text(
    device: &str,
    what: &str,
    needed: Option<u64>,
    available: Option<u64>,
) -> String {
    let mut text = format!("out of memory on {device}: {what}");
    match (needed, available) {
        (Some(n), Some(a)) => {
            text += &format!(
                " needs about {} but {} is free",
                crate::model::memory::human_bytes(n),
                crate::model::memory::human_bytes(a)
            )
        }
        (Some(n), None) => {
            text += &format!(" needs about {}", crate::model::memory::human_bytes(n))
        }
        _ => {}
    }
    text + "; crop the image to the region around the ROI (or use a smaller image), or a device with more memory"
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn invalid(name: &str, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Image`] for an image that cannot be read (an OS error becomes the
    /// decoder's I/O error).
    pub fn image_read(path: impl Into<PathBuf>, source: impl Into<ImageSource>) -> Self {
        Error::Image {
            op: "read",
            path: path.into(),
            source: source.into().0,
        }
    }

    /// An [`Error::Image`] for an image that cannot be written.
    pub fn image_write(path: impl Into<PathBuf>, source: impl Into<ImageSource>) -> Self {
        Error::Image {
            op: "write",
            path: path.into(),
            source: source.into().0,
        }
    }

    /// An [`Error::Plot`]: drawing `what` failed with plotters' error `source`.
    pub fn plot(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Plot {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// The error and its sources, joined by `: ` (what the `cem` command prints).
    ///
    /// ```
    /// let err = cem::Error::io("x.csv", std::io::Error::other("disk full"));
    /// assert_eq!(err.report(), "x.csv: disk full");
    /// ```
    pub fn report(&self) -> String {
        report_chain(self)
    }
}

/// An error and its sources joined by `: `, leaving out a source whose text the
/// line already ends with (some libraries, `image` among them, print their source
/// inside their own text and return it as the source too).
///
/// ```
/// let err = cem::Error::io("x.csv", std::io::Error::other("disk full"));
/// assert_eq!(cem::error::report_chain(&err), "x.csv: disk full");
/// ```
pub fn report_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !part.is_empty() && !text.ends_with(&part) {
            text += ": ";
            text += &part;
        }
        source = s.source();
    }
    text
}

/// What an image error can come from: the decoder/encoder's own error or the OS's.
#[derive(Debug)]
pub struct ImageSource(::image::ImageError);

impl From<::image::ImageError> for ImageSource {
    fn from(e: ::image::ImageError) -> Self {
        ImageSource(e)
    }
}

impl From<std::io::Error> for ImageSource {
    fn from(e: std::io::Error) -> Self {
        ImageSource(::image::ImageError::IoError(e))
    }
}
