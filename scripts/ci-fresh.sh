#!/usr/bin/env bash
# Times CI as a fresh machine would run it: `.ci/run` in a new clone of this repository's
# HEAD with an empty HOME (no ~/.cache/cem target dir or virtualenv, no pip cache, no
# cargo registry, no evcxr_jupyter) and a fresh evcxr folder. Kept from this machine: the
# Rust toolchain (rustup) and the apt packages (slurm-wlm, munge, chromium), which a
# fresh machine also installs. Needs ~20 GB free under /tmp and the two cores to itself.
#
#   scripts/ci-fresh.sh            # prints "fresh .ci/run: rc=0 in M min S s" at the end
#
# Session 10: 41 min 46 s (docs: the issue notes; phases in the log's timestamps).
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
F=${CI_FRESH_DIR:-/tmp/cem-ci-fresh}
evcxr=/tmp/cem-ci-fresh-evcxr   # shallow: evcxr's libraries find libstd by a relative rpath
rm -rf "$F" "$evcxr" "$evcxr-b"
mkdir -p "$F/home" "$F/bin"
git clone -q "$repo" "$F/main"
ln -s "$(cd "$repo/../shared" && pwd)" "$F/shared"
cargo_bin=$(dirname "$(command -v cargo)")
for b in cargo rustc rustdoc rustup cargo-clippy clippy-driver rustfmt cargo-fmt; do
    ln -s "$cargo_bin/$b" "$F/bin/$b"
done
cd "$F/main"
start=$(date +%s)
env -i HOME="$F/home" CARGO_HOME="$F/home/.cargo" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
    PATH="$F/bin:$F/home/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    EVCXR_TMPDIR="$evcxr" PIP_NO_CACHE_DIR=1 TERM=dumb LANG=C.UTF-8 \
    .ci/run 2>&1 | awk '{ print strftime("%H:%M:%S"), $0; fflush() }'
rc=${PIPESTATUS[0]}
end=$(date +%s)
echo "fresh .ci/run: rc=$rc in $(((end - start) / 60)) min $(((end - start) % 60)) s"
exit "$rc"
