//! Models: one trait that a TorchScript file, a native `tch` module and a plain
//! closure all stand behind.
//!
//! A model maps a batch `[N, 3, H, W]` of inputs in [0, 1] to `[N, 3, sH, sW]`
//! outputs (`s` the SR scale, 1 for restoration). [`forward_checked`] adds the shape
//! and finiteness checks the engine relies on.
//!
//! Nothing on the inference path panics: TorchScript calls and the checks use
//! libtorch's fallible calls, native `tch::nn` modules (whose layers have no fallible
//! form) run inside a panic guard, and libtorch's out-of-memory failures come back as
//! [`Error::OutOfMemory`]. [`memory`] estimates before running whether an input fits.

pub mod allocator;
pub mod device;
pub mod memory;

use crate::error::{Error, Result};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use tch::{CModule, Device, Kind, Tensor};

pub use allocator::keep_freed_memory;
pub use device::{
    cuda_available, device_name, ensure_cuda_loaded, full_fp32_on_cuda, parse_device,
    ALLOW_TF32_VAR,
};

/// A low-level vision model.
pub trait Model {
    /// Runs the model on a batch `[N, 3, H, W]` (on [`Model::device`]); no gradients.
    fn forward(&self, input: &Tensor) -> Result<Tensor>;
    /// Where the model's weights live; inputs are sent there.
    fn device(&self) -> Device;
    /// A name for result files and figure titles.
    fn name(&self) -> String;
    /// The model's feature channels (its width), for the memory estimate of
    /// [`memory::plan_batch`]; `None` (the default) assumes
    /// [`memory::DEFAULT_FEATURE_CHANNELS`].
    fn feature_channels(&self) -> Option<i64> {
        None
    }
    /// Runs the model with autograd enabled, so gradients can flow back to `input`
    /// (LAM, the single-pixel experiment). TorchScript, native and closure models
    /// implement it; a model that cannot be differentiated keeps this default, which
    /// says so with [`Error::NoGradients`].
    fn forward_grad(&self, input: &Tensor) -> Result<Tensor> {
        let _ = input;
        Err(Error::NoGradients {
            model: self.name(),
            reason: "its Model implementation has no forward_grad (only no-grad inference)".into(),
        })
    }
}

thread_local! {
    /// Set while [`guarded`] runs: its panics become errors and are not printed.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Wraps the process's panic hook once so that panics inside [`guarded`] print
/// nothing (they come back as errors); every other panic prints as before.
fn quiet_guarded_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(|g| g.get()) {
                previous(info)
            }
        }));
    });
}

/// Runs a closure that may panic inside libtorch, turning a panic into an error (a
/// panic would kill a notebook kernel with every variable in it): libtorch's
/// out-of-memory failures into [`Error::OutOfMemory`], others into
/// [`Error::ModelFailed`].
pub(crate) fn guarded(f: impl FnOnce() -> Result<Tensor>) -> Result<Tensor> {
    quiet_guarded_panics();
    let was = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    match result {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(if memory::is_out_of_memory_text(&msg) {
                memory::out_of_memory_from_text(&unwrap_text(&msg))
            } else {
                Error::ModelFailed(msg)
            })
        }
    }
}

/// The libtorch text inside a ``called `Result::unwrap()` on an `Err` value: Torch("...")``
/// panic message (escaped newlines restored), or the message itself.
fn unwrap_text(msg: &str) -> String {
    match msg.split_once("Torch(\"") {
        Some((_, rest)) => rest
            .trim_end_matches("\")")
            .replace("\\n", "\n")
            .replace("\\\"", "\""),
        None => msg.to_string(),
    }
}

/// A libtorch error from running a model: [`Error::OutOfMemory`] when memory ran
/// out, otherwise [`Error::ModelFailed`] with libtorch's whole message.
fn model_failed(e: tch::TchError) -> Error {
    let text = e.to_string();
    if memory::is_out_of_memory_text(&text) {
        memory::out_of_memory_from_text(&text)
    } else {
        Error::ModelFailed(full_message(&text))
    }
}

/// A TorchScript model (`torch.jit.trace` / `torch.jit.script` + `torch.jit.save`).
pub struct TorchScript {
    module: CModule,
    device: Device,
    path: PathBuf,
}

impl TorchScript {
    /// Loads a TorchScript file onto `device`, in eval mode.
    pub fn load(path: impl AsRef<Path>, device: Device) -> Result<Self> {
        let path = path.as_ref();
        if let Err(source) = std::fs::metadata(path) {
            return Err(Error::ModelFile {
                path: path.to_path_buf(),
                source,
            });
        }
        if device.is_cuda() {
            ensure_cuda_loaded();
        }
        let mut module =
            CModule::load_on_device(path, device).map_err(|e| Error::NotTorchScript {
                path: path.to_path_buf(),
                reason: first_line(&e.to_string()),
            })?;
        module.set_eval();
        Ok(TorchScript {
            module,
            device,
            path: path.to_path_buf(),
        })
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// libtorch's message without blank lines; a TorchScript error keeps all of it (its
/// first line alone, "The following operation failed in the TorchScript interpreter.",
/// would drop the model's own message).
fn full_message(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Model for TorchScript {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        let _guard = tch::no_grad_guard();
        self.module.forward_ts(&[input]).map_err(model_failed)
    }

    fn forward_grad(&self, input: &Tensor) -> Result<Tensor> {
        tch::with_grad(|| self.module.forward_ts(&[input])).map_err(model_failed)
    }

    fn device(&self) -> Device {
        self.device
    }

    fn name(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "torchscript".into())
    }
}

/// A native `tch` module (anything implementing [`tch::nn::Module`]).
pub struct Native<M> {
    module: M,
    device: Device,
    name: String,
}

impl<M: tch::nn::Module> Native<M> {
    /// Wraps `module`, whose variables live on `device`.
    pub fn new(name: impl Into<String>, module: M, device: Device) -> Self {
        Native {
            module,
            device,
            name: name.into(),
        }
    }
}

impl<M: tch::nn::Module> Model for Native<M> {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        let _guard = tch::no_grad_guard();
        guarded(|| Ok(self.module.forward(input)))
    }

    fn forward_grad(&self, input: &Tensor) -> Result<Tensor> {
        tch::with_grad(|| guarded(|| Ok(self.module.forward(input))))
    }

    fn device(&self) -> Device {
        self.device
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// A plain closure as a model, e.g. `FnModel::new("identity", Device::Cpu, |x| x.shallow_clone())`.
pub struct FnModel<F> {
    f: F,
    device: Device,
    name: String,
}

impl<F: Fn(&Tensor) -> Tensor> FnModel<F> {
    /// Wraps `f`, which runs on `device`.
    pub fn new(name: impl Into<String>, device: Device, f: F) -> Self {
        FnModel {
            f,
            device,
            name: name.into(),
        }
    }

    /// Traces the closure on `example` into a TorchScript module and saves it, so it
    /// can be loaded by [`TorchScript::load`] (or by PyTorch users).
    pub fn save_traced(&self, example: &Tensor, path: impl AsRef<Path>) -> Result<()> {
        let mut closure = |inputs: &[Tensor]| vec![(self.f)(&inputs[0])];
        let module = CModule::create_by_tracing(
            &self.name,
            "forward",
            std::slice::from_ref(example),
            &mut closure,
        )?;
        module.save(path.as_ref())?;
        Ok(())
    }
}

impl<F: Fn(&Tensor) -> Tensor> Model for FnModel<F> {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        let _guard = tch::no_grad_guard();
        guarded(|| Ok((self.f)(input)))
    }

    fn forward_grad(&self, input: &Tensor) -> Result<Tensor> {
        tch::with_grad(|| guarded(|| Ok((self.f)(input))))
    }

    fn device(&self) -> Device {
        self.device
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

impl<T: Model + ?Sized> Model for Box<T> {
    fn forward(&self, input: &Tensor) -> Result<Tensor> {
        (**self).forward(input)
    }
    fn device(&self) -> Device {
        (**self).device()
    }
    fn name(&self) -> String {
        (**self).name()
    }
    fn forward_grad(&self, input: &Tensor) -> Result<Tensor> {
        (**self).forward_grad(input)
    }
    fn feature_channels(&self) -> Option<i64> {
        (**self).feature_channels()
    }
}

/// Runs `model` on `input` (moved to the model's device) and checks that the output
/// is `[N, 3, scale H, scale W]` and finite.
pub fn forward_checked(model: &dyn Model, input: &Tensor, scale: u32) -> Result<Tensor> {
    let input = input.f_to_device(model.device())?.f_to_kind(Kind::Float)?;
    let out = model.forward(&input)?;
    let i = input.size();
    let expected = vec![i[0], 3, i[2] * scale as i64, i[3] * scale as i64];
    if out.size() != expected {
        return Err(Error::ModelOutputShape {
            expected,
            got: out.size(),
            input: i,
            scale,
        });
    }
    let out = out.f_to_kind(Kind::Float)?;
    let bad = out
        .f_isfinite()?
        .f_logical_not()?
        .f_sum(Kind::Int64)?
        .f_int64_value(&[])?;
    if bad > 0 {
        return Err(Error::ModelOutputNotFinite {
            count: bad,
            context: format!("values in a batch of {}", i[0]),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closure_models_and_checks() {
        let input = Tensor::rand([2, 3, 4, 5], (Kind::Float, Device::Cpu));
        let id = FnModel::new("id", Device::Cpu, |x: &Tensor| x.shallow_clone());
        assert_eq!(
            forward_checked(&id, &input, 1).unwrap().size(),
            vec![2, 3, 4, 5]
        );
        let err = forward_checked(&id, &input, 2).unwrap_err();
        assert!(matches!(err, Error::ModelOutputShape { .. }), "{err}");
        let nan = FnModel::new("nan", Device::Cpu, |x: &Tensor| x.log().log());
        let err = forward_checked(&nan, &(input.zeros_like() - 1.0), 1).unwrap_err();
        assert!(
            matches!(err, Error::ModelOutputNotFinite { count: 120, .. }),
            "{err}"
        );
        let panics = FnModel::new("bad", Device::Cpu, |x: &Tensor| x.view([7, 7]));
        assert!(matches!(
            forward_checked(&panics, &input, 1),
            Err(Error::ModelFailed(_))
        ));
    }
}
