#!/usr/bin/env bash
# The whole test suite: set up (first time only), `cargo test` (unit, integration and
# doc tests; reference checks skip with a message when ../shared is absent), then every
# notebook in notebooks/ executed headless on the cem-rust kernel (any cell error fails).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh --notebooks
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test 2>&1 | tee "$log"
count() { awk -v f="$1" '/^test result:/ { for (i = 1; i <= NF; i++) if ($i ~ "^" f) n += $(i - 1) } END { print n + 0 }' "$log"; }
passed=$(count passed)
failed=$(count failed)
out=$(mktemp -d)
# One evcxr work folder for every notebook (and every test run): evcxr caches compiled
# registry crates itself (`:cache`), but compiles the `cem` crate anew in each kernel
# session unless the sessions share their folder, where cargo finds it up to date.
# Under /tmp: the libraries evcxr links find Rust's libstd through a relative rpath
# that only resolves from a shallow folder (one under /root fails to load: dlopen).
export EVCXR_TMPDIR=${EVCXR_TMPDIR:-/tmp/cem-evcxr-$(id -u)}
mkdir -p "$EVCXR_TMPDIR"
for nb in notebooks/*.ipynb; do
    echo "notebook $nb"
    # quick mode: the figure notebooks run on fewer images and a coarser strategy
    if CEM_NOTEBOOK_QUICK=1 .venv/bin/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=1800 \
        --output-dir "$out" "$nb" >"$log" 2>&1; then
        passed=$((passed + 1))
        echo "notebook $nb ... ok"
    else
        failed=$((failed + 1))
        grep -v Compiling "$log" | tail -40
        echo "notebook $nb ... FAILED"
    fi
done
rm -rf "$out"
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
