#!/usr/bin/env bash
# Renders the example figures in docs/figures with `cem plot`, from maps computed here:
# the two demos (shipped models) and, when ../shared is there, the real DnCNN and the
# shipped small DnCNN on the paper's demo_2 (DN sigma 50, the authors' noisy input and
# patches). About 3 minutes on 2 cores. Usage: scripts/docs-figures.sh [OUT_RUNS_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${1:-out/docs-runs}
cargo build --release -q
cem=${CARGO_TARGET_DIR:-target}/release/cem
mkdir -p "$runs" docs/figures
$cem demo --task dn --out "$runs/demo-dn"
$cem demo --task sr --out "$runs/demo-sr"
shared=../shared
if [ -d "$shared/data" ]; then
    common=(--image "$shared/data/test-images/demo_2.png" --input "$shared/reference/fixtures/demo_2_dn_sigma50_seed0.png"
            --task dn --roi 96,152,32 --strategy c3f50 --seed 0 --library "$shared/data/patches-div2k-8")
    [ -f "$runs/dncnn/cem.json" ] || $cem map --model "$shared/data/models/dncnn_color_blind.torchscript.pt" "${common[@]}" --out "$runs/dncnn"
    [ -f "$runs/dncnn-s/cem.json" ] || $cem map --model shipped:dncnn-s-dn50 "${common[@]}" --out "$runs/dncnn-s"
    $cem plot "$runs/dncnn" "$runs/dncnn-s" --layout compare --out docs/figures/compare-dncnn.png
fi
$cem plot "$runs/demo-dn" --layout panel --out docs/figures/panel-dn.png
$cem plot "$runs/demo-sr" --layout panel --out docs/figures/panel-sr.png
$cem plot "$runs/demo-dn" "$runs/demo-sr" --layout grid --out docs/figures/grid.png
$cem plot "$runs" --layout pies --years dncnn_color_blind.torchscript=2017,dncnn-s-dn50=2026,srresnet-s-x4=2026 --out docs/figures/pies.png
$cem plot "$runs/demo-dn" --layout panel --out docs/figures/panel-dn.svg
$cem table table1 "$runs" --out docs/figures/table1.md
