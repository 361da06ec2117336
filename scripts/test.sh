#!/usr/bin/env bash
# The whole test suite: set up (first time only), `cargo test` (unit, integration and
# doc tests; reference checks skip with a message when ../shared is absent), then every
# notebook in notebooks/ executed headless on the cem-rust kernel (any cell error fails).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/setup.sh --notebooks
log=$(mktemp)
out=$(mktemp -d)
results=$(mktemp -d)
trap 'rm -rf "$log" "$out" "$results"' EXIT
cargo test 2>&1 | tee "$log"
count() { awk -v f="$1" '/^test result:/ { for (i = 1; i <= NF; i++) if ($i ~ "^" f) n += $(i - 1) } END { print n + 0 }' "$log"; }
passed=$(count passed)
failed=$(count failed)
# The notebooks, in quick mode (CEM_NOTEBOOK_QUICK=1: the figure notebooks map fewer
# models and images with a coarser strategy), on the cem-rust kernel. A notebook fails
# when a cell fails: evcxr reports a cell that does not compile or whose process dies,
# but a cell whose `?` returns an error, or that panics, only prints to stderr, so every
# executed notebook is written (--allow-errors) and scripts/check-notebook.py fails it on
# any error or stderr output (but libtorch's own warnings), naming the cell.
# - evcxr builds `cem` and all its dependencies in a work folder of its own, at
#   opt-level 2 by default. Quick mode only checks that every cell runs, and its time is
#   libtorch's, so the test builds at opt-level 0 (the environment overrides evcxr's
#   manifest): 4 min instead of about 11 for that first build on 2 cores, and cells
#   compile faster. Its folders (/tmp/cem-evcxr-test-UID and ...-b) are the test's own:
#   a folder shared with opt-level-2 sessions would be rebuilt at every switch.
# - Two lanes: notebook 00 builds the first folder, a copy of it serves the second lane
#   (cargo finds it up to date), then both lanes take the others from one queue, slowest
#   first, each with one libtorch thread, so that one lane's compiling overlaps the
#   other's maps (CEM_NOTEBOOK_LANES=1: one after another on every core).
# - Under /tmp: the libraries evcxr links find Rust's libstd through a relative rpath
#   that only resolves from a shallow folder (one under /root fails to load: dlopen).
#   The folders persist between runs, and cargo keeps the build in them.
base=${EVCXR_TMPDIR:-/tmp/cem-evcxr-test-$(id -u)}
lanes=${CEM_NOTEBOOK_LANES:-2}
[ "$lanes" = 1 ] || [ "$lanes" = 2 ] || { echo "CEM_NOTEBOOK_LANES must be 1 or 2, not $lanes" >&2; exit 2; }
# run_notebook FOLDER THREADS NOTEBOOK: executes one (THREADS: libtorch's, empty for its
# default), records ok or FAILED and keeps its log
run_notebook() {
    local name start rc threads=()
    name=$(basename "$3" .ipynb)
    start=$(date +%s)
    [ -z "$2" ] || threads=(OMP_NUM_THREADS="$2")
    mkdir -p "$1"
    # (without `.ci/run`'s clippy wrapper, which would deny the cells' own warnings)
    if env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS "${threads[@]}" JUPYTER_PATH="$results/jupyter" EVCXR_TMPDIR="$1" CARGO_PROFILE_DEV_OPT_LEVEL=0 CEM_NOTEBOOK_QUICK=1 \
        .venv/bin/jupyter nbconvert --to notebook --execute --allow-errors \
        --ExecutePreprocessor.timeout=1800 --output-dir "$out" "$3" >"$results/$name.log" 2>&1 &&
        .venv/bin/python scripts/check-notebook.py "$out/$name.ipynb" >"$results/$name.cells" 2>&1; then
        rc=ok
    else
        rc=FAILED
    fi
    echo "notebook $3 ... $rc ($(($(date +%s) - start)) s)" | tee "$results/$name.result"
}
# - The test's own kernel: cem-rust as setup.sh installed it, with an empty evcxr config
#   folder, so without the shared build cache (`:cache`) that the users' sessions have.
#   That cache restores a crate with the paths of the folder it was first built in; where
#   that folder is gone, cargo finds the crate stale at every session and rebuilds it and
#   all that depends on it (111 crates here) from the cache, and two lanes doing that at
#   once race on the cache's files. A folder of the test's own is self-consistent: after
#   notebook 00, no session rebuilds anything.
mkdir -p "$results/jupyter/kernels" "$results/evcxr"
cp -r .venv/share/jupyter/kernels/cem-rust "$results/jupyter/kernels/"
.venv/bin/python - "$results/jupyter/kernels/cem-rust/kernel.json" "$results/evcxr" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["env"]["EVCXR_CONFIG_DIR"] = sys.argv[2]
json.dump(spec, open(sys.argv[1], "w"), indent=2)
PY
first=notebooks/00-quickstart.ipynb
run_notebook "$base" "" "$first"
# the queue: the slowest first (quick-mode times measured in session 16: 10 and 13 take
# about 4 min with one thread, 07, 01 and 12 under 1.5 min), then any notebook not named
queue=()
for n in 10 13 14 09 06 11 08 07 01 12; do
    for nb in notebooks/"$n"-*.ipynb; do
        if [ -f "$nb" ]; then queue+=("$nb"); fi
    done
done
for nb in notebooks/*.ipynb; do
    [[ "$nb" == "$first" || " ${queue[*]} " == *" $nb "* ]] || queue+=("$nb")
done
# lane FOLDER THREADS: takes the queue's next notebook nobody has claimed (mkdir is
# atomic), until none is left
lane() {
    local nb
    for nb in "${queue[@]}"; do
        mkdir "$results/$(basename "$nb" .ipynb).claim" 2>/dev/null || continue
        run_notebook "$1" "$2" "$nb"
    done
}
if [ "$lanes" = 2 ]; then
    rm -rf "$base-b"
    cp -a "$base" "$base-b"
    lane "$base-b" 1 &
    lane_b=$!
    lane "$base" 1
    wait "$lane_b"
else
    lane "$base" ""
fi
for result in "$results"/*.result; do
    if grep -q ' ok (' "$result"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        name=$(basename "$result" .result)
        if [ -s "$results/$name.cells" ]; then
            echo "--- notebook $name: its failed cells"
            cat "$results/$name.cells"
        else
            echo "--- notebook $name: the end of its log"
            grep -v Compiling "$results/$name.log" | tail -40
        fi
    fi
done
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
