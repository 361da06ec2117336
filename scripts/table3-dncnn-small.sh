#!/usr/bin/env bash
# Table III on the shipped small DnCNN (dncnn-s-dn50): demo_2, the authors' noisy input,
# ROI 96,152,32, the authors' patch library, locality on. CPU; about 40 minutes on two
# shared cores. Writes one result folder per map under ${OUT:-runs/table3-dncnn-s}, then
# the table (docs/table3.md quotes it).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/table3-dncnn-s}
CEM=${CEM:-target/debug/cem}
COMMON=(--model shipped:dncnn-s-dn50 --image ../shared/data/test-images/demo_2.png
  --input ../shared/reference/fixtures/demo_2_dn_sigma50_seed0.png --task dn
  --roi 96,152,32 --library ../shared/data/patches-div2k-8)
run() { # strategy seed folder
  [ -f "$OUT/$3/cem.json" ] || nice -n 19 "$CEM" map "${COMMON[@]}" --strategy "$1" --seed "$2" --out "$OUT/$3"
}
run full:500 100 full500
for s in 0 1 2 3 4; do run adaptive $s adaptive-s$s; run c3f50 $s c3f50-s$s; run adaptive-crn $s adaptivecrn-s$s; done
for s in 0 1 2; do run adaptive:686 $s adaptive686-s$s; run adaptive:686-crn $s adaptive686crn-s$s; run c3f50-u $s c3f50u-s$s; done
for s in 0 1; do run c3f30 $s c3f30-s$s; run c3f10 $s c3f10-s$s; run c1f50 $s c1f50-s$s; done
"$CEM" table table3 "$OUT"
