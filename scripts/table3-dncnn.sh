#!/usr/bin/env bash
# Table III on the authors' DnCNN (colour, blind; ../shared/data/models), issue 15's
# evidence: demo_2, the authors' noisy input, ROI 96,152,32, the authors' patch library,
# locality on. A `Full<500>` reference (seed 100), then five seeds each of C3F50 and
# `adaptive-cv` (ADAPTIVE=... NAME=... for another strategy and its folders' prefix;
# SEEDS="0 1 ... 9" for more seeds). The reference is 84 cells x 500 = 42,000
# interventions on an 80 x 80 crop. Writes one result folder per map under
# ${OUT:-runs/table3-dncnn}, then the table (docs/table3.md quotes it).
# STAGE=ref runs only the reference; STAGE=sampled only the sampled maps. ADAPTIVE_ARGS:
# more options for the adaptive maps (e.g. "--target 0.02" with a budget, docs/table3.md).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/table3-dncnn}
CEM=${CEM:-target/debug/cem}
STAGE=${STAGE:-all}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
COMMON=(--model ../shared/data/models/dncnn_color_blind.torchscript.pt
  --image ../shared/data/test-images/demo_2.png
  --input ../shared/reference/fixtures/demo_2_dn_sigma50_seed0.png --task dn
  --roi 96,152,32 --library ../shared/data/patches-div2k-8)
run() { # strategy seed folder [more options]
  [ -f "$OUT/$3/cem.json" ] || nice -n ${NICE:-10} "$CEM" map "${COMMON[@]}" --strategy "$1" --seed "$2" --out "$OUT/$3" "${@:4}"
}
if [ "$STAGE" != sampled ]; then run full:500 100 full500; fi
if [ "$STAGE" != ref ]; then
  for s in ${SEEDS:-0 1 2 3 4}; do
    run c3f50 "$s" "c3f50-s$s"
    # shellcheck disable=SC2086
    run "${ADAPTIVE:-adaptive-cv}" "$s" "${NAME:-adaptive-cv}-s$s" ${ADAPTIVE_ARGS:-}
  done
  "$CEM" table table3 "$OUT"
fi
