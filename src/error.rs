//! The crate's one error type.
//!
//! Every variant names the value that was wrong, so a notebook user can fix the
//! call without reading the source.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// An image file is missing, unreadable or corrupt.
    #[error("cannot read image {path}: {reason}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
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
    #[error("cannot write results to {dir}: {reason}")]
    FolderNotWritable {
        /// The folder.
        dir: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// A libtorch error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A JSON error.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A table (polars) operation failed.
    #[error("table: {0}")]
    Table(String),
    /// A figure could not be drawn or written.
    #[error("figure: {0}")]
    Figure(String),
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

impl From<polars::error::PolarsError> for Error {
    fn from(e: polars::error::PolarsError) -> Self {
        Error::Table(e.to_string())
    }
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
}
