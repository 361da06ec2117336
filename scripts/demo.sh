#!/usr/bin/env bash
# The main job: set up what it needs (the virtualenv with torch; first time only),
# build the `cem` binary, and run `cem demo` on the embedded defaults. Extra arguments
# go to `cem demo` (e.g. --out DIR, --task sr).
#
# The binary is built in cargo's dev profile: dependencies are optimised there
# (Cargo.toml, `[profile.dev.package."*"]`), so the map takes seconds, and the test
# command reuses every compiled dependency instead of building a second, release set.
# `cargo build --release --bin cem` gives a faster binary for long runs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh
cargo run --quiet --bin cem -- demo "$@"
