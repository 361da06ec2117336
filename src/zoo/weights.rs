//! PyTorch checkpoints into native networks: `.pth` → safetensors through the project's
//! own Python torch, then safetensors into a `VarStore` with every key and shape checked.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::nn::VarStore;
use tch::Tensor;

static CONVERTER: &str = include_str!("../../scripts/convert_weights.py");

/// The Python that has torch: `$CEM_PYTHON`, else the project venv's
/// (`.venv/bin/python` beside the crate), else `python3` from `PATH`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CEM_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

/// How [`convert_weights`] treats the files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Allow arbitrary pickles (only for files you trust); by default torch loads with
    /// `weights_only=True`.
    pub unsafe_pickle: bool,
    /// Replace an existing output file (never the checkpoint itself).
    pub force: bool,
}

/// Converts a PyTorch checkpoint (`.pth`, legacy or zip format; a state_dict, one
/// nested under `params_ema`/`params`/`state_dict`/`model`, or a pickled module) to
/// safetensors at `out`; returns the converter's summary.
///
/// The checkpoint is never overwritten: an `out` that is the same file as `input`
/// (after resolving links and `..`) is refused, and so is an existing `out` unless
/// [`ConvertOptions::force`]. The file is written beside `out` under a temporary name
/// and renamed into place only when complete, so a failed conversion leaves nothing
/// behind and an old `out` intact.
///
/// ```no_run
/// use cem::zoo::{convert_weights, ConvertOptions};
/// use std::path::Path;
/// # fn main() -> cem::Result<()> {
/// let summary = convert_weights(
///     Path::new("EDSR_x4.pth"),
///     Path::new("edsr_x4.safetensors"),
///     ConvertOptions::default(),
/// )?;
/// println!("{summary}");
/// # Ok(()) }
/// ```
pub fn convert_weights(input: &Path, out: &Path, options: ConvertOptions) -> Result<String> {
    let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
    if !meta.is_file() {
        return Err(Error::invalid(
            "checkpoint",
            input.display(),
            "is not a file",
        ));
    }
    if same_file(input, out) {
        return Err(Error::invalid(
            "output",
            out.display(),
            format!(
                "is the checkpoint {} itself; converting in place would replace it: give another output file",
                input.display()
            ),
        ));
    }
    if out.exists() && !options.force {
        return Err(Error::invalid(
            "output",
            out.display(),
            "already exists; give another file, or --force (ConvertOptions::force) to replace it",
        ));
    }
    let tmp = partial_path(out);
    let script = std::env::temp_dir().join(format!("cem-convert-{}.py", std::process::id()));
    std::fs::write(&script, CONVERTER).map_err(|e| Error::io(&script, e))?;
    let mut cmd = Command::new(python());
    cmd.arg(&script).arg(input).arg(&tmp);
    if options.unsafe_pickle {
        cmd.arg("--unsafe-pickle");
    }
    let run = cmd.output().map_err(|e| Error::io(python(), e));
    let _ = std::fs::remove_file(&script);
    let run = match run {
        Ok(run) if run.status.success() => run,
        Ok(run) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::ResultFile {
                path: input.to_path_buf(),
                reason: format!(
                    "conversion to safetensors failed ({}): {}",
                    python().display(),
                    String::from_utf8_lossy(&run.stderr).trim()
                ),
            });
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(out, e)
    })?;
    Ok(String::from_utf8_lossy(&run.stdout).trim().to_string())
}

/// Whether `a` and `b` name the same file: the same device and inode when both exist,
/// else the same canonical path (`b`'s folder resolved, its name appended).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return ma.dev() == mb.dev() && ma.ino() == mb.ino();
    }
    let canonical = |p: &Path| -> Option<PathBuf> {
        if let Ok(c) = p.canonicalize() {
            return Some(c);
        }
        let name = p.file_name()?;
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Some(parent.canonicalize().ok()?.join(name))
    };
    matches!((canonical(a), canonical(b)), (Some(x), Some(y)) if x == y)
}

/// The temporary file a conversion writes before it is renamed to `out`: beside it
/// (same file system, so the rename is atomic), hidden, with this process's id.
fn partial_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "weights".into());
    out.with_file_name(format!(
        ".{name}.partial-{}.safetensors",
        std::process::id()
    ))
}

/// Reads weights into `vs`: safetensors directly; `.pth`/`.pt` checkpoints are
/// converted first (beside a temporary file). Every variable must be present with its
/// shape and no unknown tensor may be left over; the error lists the differences.
pub fn load_into(vs: &mut VarStore, path: &Path) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let tensors = match ext {
        "safetensors" => read(path)?,
        "pth" | "pt" | "ckpt" => {
            let tmp = tempfile_path(path);
            convert_weights(
                path,
                &tmp,
                ConvertOptions {
                    force: true,
                    ..ConvertOptions::default()
                },
            )?;
            let t = read(&tmp);
            let _ = std::fs::remove_file(&tmp);
            t?
        }
        _ => {
            return Err(Error::invalid(
                "weights",
                path.display(),
                "expected a .safetensors or .pth file",
            ))
        }
    };
    assign(vs, tensors, path)
}

fn tempfile_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("weights");
    std::env::temp_dir().join(format!("cem-{stem}-{}.safetensors", std::process::id()))
}

fn read(path: &Path) -> Result<Vec<(String, Tensor)>> {
    if !path.is_file() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such weights file"),
        ));
    }
    Tensor::read_safetensors(path).map_err(|e| Error::ResultFile {
        path: path.to_path_buf(),
        reason: format!("not a readable safetensors file: {e}"),
    })
}

/// Buffers the native networks recompute for every input size (SwinIR's
/// `relative_position_index` and `attn_mask`), skipped when loading.
fn is_recomputed_buffer(name: &str) -> bool {
    name.ends_with(".relative_position_index") || name.ends_with(".attn_mask")
}

fn assign(vs: &mut VarStore, tensors: Vec<(String, Tensor)>, path: &Path) -> Result<()> {
    let mut vars = vs.variables();
    let mut unknown = Vec::new();
    let mut mismatched = Vec::new();
    tch::no_grad(|| {
        for (name, value) in tensors {
            if is_recomputed_buffer(&name) {
                continue;
            }
            match vars.remove(&name) {
                Some(mut var) => {
                    if var.size() != value.size() {
                        mismatched.push(format!(
                            "{name}: file {:?}, network {:?}",
                            value.size(),
                            var.size()
                        ));
                    } else {
                        var.copy_(&value.to_kind(var.kind()).to_device(var.device()));
                    }
                }
                None => unknown.push(name),
            }
        }
    });
    let mut missing: Vec<String> = vars.into_keys().collect();
    missing.sort();
    unknown.sort();
    if missing.is_empty() && unknown.is_empty() && mismatched.is_empty() {
        return Ok(());
    }
    let list = |v: &[String]| {
        let head: Vec<&str> = v.iter().take(6).map(String::as_str).collect();
        let more = if v.len() > 6 {
            format!(" and {} more", v.len() - 6)
        } else {
            String::new()
        };
        format!("{}{more}", head.join(", "))
    };
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("{} missing ({})", missing.len(), list(&missing)));
    }
    if !unknown.is_empty() {
        parts.push(format!("{} unexpected ({})", unknown.len(), list(&unknown)));
    }
    if !mismatched.is_empty() {
        parts.push(format!(
            "{} of the wrong shape ({})",
            mismatched.len(),
            list(&mismatched)
        ));
    }
    Err(Error::ResultFile {
        path: path.to_path_buf(),
        reason: format!(
            "weights do not fit the network: {} — check --arch and its size options",
            parts.join("; ")
        ),
    })
}
