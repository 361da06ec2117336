#!/usr/bin/env bash
# The main job: set up (first time only), build, and run `cem demo` on the embedded
# defaults. Extra arguments go to `cem demo` (e.g. --out DIR).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh
cargo run --release --quiet --bin cem -- demo "$@"
