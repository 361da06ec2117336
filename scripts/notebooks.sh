#!/usr/bin/env bash
# Set up the notebook side (Jupyter and the evcxr Rust kernel `Rust (cem)`; first time
# only, ~10 minutes for `cargo install evcxr_jupyter` on 2 cores) and start Jupyter on
# notebooks/. Extra arguments go to `jupyter notebook` (e.g. --no-browser --port 8899).
# The first notebook run compiles the crate inside evcxr (~15-25 minutes on 2 cores);
# later ones reuse evcxr's cache.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh --notebooks
exec .venv/bin/jupyter notebook --notebook-dir="$root/notebooks" "$@"
