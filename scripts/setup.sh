#!/usr/bin/env bash
# One-time (idempotent) set-up of what cem needs, into the project. Always:
#   .venv/            Python virtualenv: torch==2.11.0 (PyPI, with its CUDA libraries), NumPy
#   .venv/libtorch    link to the wheel's torch/ folder: the libtorch cargo builds against
#                     (see .cargo/config.toml; nothing to export by hand)
# With --notebooks (the test command and scripts/notebooks.sh), also:
#   Jupyter           notebook, nbclient, nbconvert in the virtualenv
#   evcxr_jupyter     the Rust Jupyter kernel (cargo install, in ~/.cargo/bin)
#   .venv/share/jupyter/kernels/cem-rust   its kernel spec, with libtorch in its env
# Set CEM_VENV=/some/dir to keep the virtualenv elsewhere (.venv becomes a link to it).
set -euo pipefail
notebooks=0
for arg in "$@"; do
    case "$arg" in
        --notebooks) notebooks=1 ;;
        *) printf '[setup] unknown option %s (only --notebooks)\n' "$arg" >&2; exit 2 ;;
    esac
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
TORCH_VERSION=2.11.0
EVCXR_VERSION=0.22.0
python=${PYTHON:-python3}
say() { printf '[setup] %s\n' "$*" >&2; }

venv=${CEM_VENV:-$root/.venv}
if [ "$venv" != "$root/.venv" ]; then
    mkdir -p "$venv"
    [ -L .venv ] || [ ! -e .venv ] || { say ".venv exists and is not a link; remove it or unset CEM_VENV"; exit 1; }
    ln -sfn "$venv" .venv
fi
if [ ! -x "$venv/bin/python" ]; then
    say "creating virtualenv $venv"
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"
# true when every named package is installed (at the given version, if any)
have() { "$py" - "$@" <<'PY' 2>/dev/null
import sys, importlib.metadata as m
for spec in sys.argv[1:]:
    name, _, version = spec.partition("==")
    installed = m.version(name)  # raises if missing
    if version and installed != version:
        sys.exit(1)
PY
}
if ! have "torch==$TORCH_VERSION" numpy; then
    say "installing torch==$TORCH_VERSION and NumPy into $venv (about 5 GB, 1-3 minutes)"
    "$py" -m pip install --disable-pip-version-check -q "torch==$TORCH_VERSION" numpy
fi
site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[ -f "$site/torch/lib/libtorch_cpu.so" ] || { say "no libtorch in $site/torch"; exit 1; }
ln -sfn "$site/torch" "$venv/libtorch"
if [ "$notebooks" -eq 0 ]; then
    say "ready: $("$py" -c 'import importlib.metadata as m; print("torch", m.version("torch"))') (notebooks: scripts/setup.sh --notebooks)"
    exit 0
fi

if ! have nbclient nbconvert notebook; then
    say "installing Jupyter (notebook, nbclient, nbconvert) into $venv"
    "$py" -m pip install --disable-pip-version-check -q nbclient nbconvert notebook
fi

if ! command -v evcxr_jupyter >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/evcxr_jupyter" ]; then
    say "installing evcxr_jupyter $EVCXR_VERSION (cargo install, about 10 minutes on 2 cores)"
    cargo install --locked "evcxr_jupyter@$EVCXR_VERSION"
fi
evcxr=$(command -v evcxr_jupyter || echo "$HOME/.cargo/bin/evcxr_jupyter")

kernel="$venv/share/jupyter/kernels/cem-rust"
if [ ! -f "$kernel/kernel.json" ] || ! grep -q "$site/torch" "$kernel/kernel.json"; then
    say "writing the Jupyter kernel spec $kernel"
    tmp=$(mktemp -d)
    HOME="$tmp" "$evcxr" --install >/dev/null
    mkdir -p "$kernel"
    cp "$tmp"/.local/share/jupyter/kernels/rust/* "$kernel"/
    rm -rf "$tmp"
    mkdir -p "$venv/evcxr"
    # evcxr builds `:dep cem` itself, outside this repository: it needs libtorch's
    # build variables and, to load the result, the library path.
    cat > "$kernel/kernel.json" <<JSON
{
  "argv": ["$evcxr", "--control_file", "{connection_file}"],
  "display_name": "Rust (cem)",
  "language": "rust",
  "interrupt_mode": "message",
  "env": {
    "LIBTORCH": "$site/torch",
    "LIBTORCH_CXX11_ABI": "1",
    "LD_LIBRARY_PATH": "$site/torch/lib",
    "EVCXR_CONFIG_DIR": "$venv/evcxr"
  }
}
JSON
    # a build cache shared by all notebook sessions (~/.cache/evcxr)
    echo ':cache 4000' > "$venv/evcxr/init.evcxr"
fi
say "ready: $("$py" -c 'import importlib.metadata as m; print("torch", m.version("torch"))'), kernel cem-rust"
