#!/usr/bin/env bash
# Trains the shipped small model family (issue 13; model cards in data/models/README.md)
# with `cem train`, one model after another, on the CPU. All recipes are in RECIPES below.
#
#   scripts/train-family.sh OUT [NAME...]     train (or resume) every recipe, or the named
#                                              ones, into OUT/NAME (log: OUT/train.log)
#   scripts/train-family.sh --install OUT     copy the finished runs whose validation beats
#                                              doing nothing into data/models/ as
#                                              NAME.safetensors + NAME.train.json
#   scripts/train-family.sh --list            the recipes
#
# Resumable: `cem train` continues from OUT/NAME/train.json + weights.safetensors; a
# finished run returns at once, or is extended when its recipe asks for more steps. The order is the notebooks' priority (Figs. 11, 10, 9 first,
# then the mix-trained networks of Fig. 12, then the MIO ones of Fig. 13).
# Environment: CEM_BIN (the cem binary; default: `cem` on PATH), THREADS (libtorch CPU
# threads, default 1), DEVICE (default cpu). The existing dncnn-s-dn50 and srresnet-s-x4
# have their own recipes in data/models/README.md and are not retrained here.
set -euo pipefail

# name | cem train arguments. Steps are sized to finish the whole queue in about 100
# minutes on one contended CPU core; RCAN (SR) needs more than the others to pass bicubic.
# Networks without a path from the input to the output (RCAN at any scale, EDSR, RCAN_mix,
# SwinIR_mix) must learn to reproduce the image first: their later recipes use a higher
# rate (2e-3 for RCAN: 24.0 dB at 200 steps against 22.8 with 5e-4, measured on SR).
# name | cem train arguments. SR networks see 48 px ground-truth crops (12 px inputs);
# SwinIR sees 64 px (16 px inputs: two windows; with 48 px crops, 12 px inputs padded to
# 16, lr 5e-4, it stayed 2.4 dB under bicubic after 1,500 steps);
# RCAN and RCAN_AP16 see 128 px crops (32 px inputs) so that AP16's 16x16 pooling has
# more than one cell to pool; scale-1 networks (DN, DR, mixed, MIO) see 32 px crops.
RECIPES=(
  "rcan-s-x4        | --arch rcan --task sr --scale 4 --feats 32 --groups 2 --blocks 4 --steps 2000 --batch 8 --crop 128 --lr 5e-4"
  "swinir-s-x4      | --arch swinir --task sr --scale 4 --feats 36 --groups 2 --blocks 2 --steps 10000 --batch 16 --crop 64 --lr 1e-3 --val-every 500"
  "srresnet-s-dn50  | --arch srresnet --task dn --sigma 50 --feats 32 --blocks 6 --steps 1500 --batch 16 --crop 32 --lr 1e-3"
  "rcan-s-dn50      | --arch rcan --task dn --sigma 50 --feats 32 --groups 2 --blocks 4 --steps 1200 --batch 16 --crop 32 --lr 2e-3"
  "swinir-s-dn50    | --arch swinir --task dn --sigma 50 --feats 36 --groups 2 --blocks 2 --steps 1000 --batch 8 --crop 32 --lr 5e-4"
  "srresnet-s-dr    | --arch srresnet --task dr --feats 32 --blocks 6 --steps 1500 --batch 16 --crop 32 --lr 1e-3"
  "rcan-s-dr        | --arch rcan --task dr --feats 32 --groups 2 --blocks 4 --steps 1200 --batch 16 --crop 32 --lr 2e-3"
  "swinir-s-dr      | --arch swinir --task dr --feats 36 --groups 2 --blocks 2 --steps 3000 --batch 8 --crop 48 --lr 5e-4 --val-every 250"
  "rcan-ap16-s-x4   | --arch rcan_ap16 --task sr --scale 4 --feats 32 --groups 2 --blocks 4 --steps 2000 --batch 8 --crop 128 --lr 5e-4"
  "edsr-s-x4        | --arch edsr --task sr --scale 4 --feats 32 --blocks 6 --steps 2000 --batch 16 --crop 48 --lr 2e-3"
  "srcnn-s-x4       | --arch srcnn --task sr --scale 4 --feats 32 --steps 20000 --batch 16 --crop 48 --lr 1e-3 --val-every 1000"
  "srresnet-mix-s   | --arch srresnet_mix --task mixed --scale 4 --sigma 50 --feats 32 --blocks 6 --steps 6000 --batch 16 --crop 32 --lr 1e-3 --val-every 500"
  "rcan-mix-s       | --arch rcan_mix --task mixed --scale 4 --sigma 50 --feats 32 --groups 2 --blocks 4 --steps 6000 --batch 16 --crop 32 --lr 2e-3 --val-every 500"
  "swinir-mix-s     | --arch swinir_mix --task mixed --scale 4 --sigma 50 --feats 36 --groups 2 --blocks 2 --steps 6000 --batch 8 --crop 32 --lr 1e-3 --val-every 500"
  "srresnet-mio-s   | --arch srresnet_mix --task mio --scale 4 --feats 32 --blocks 6 --init shipped:srresnet-mix-s --loss psnr --photos @MIO_PHOTOS@ --steps 6000 --batch 16 --crop 32 --lr 2e-4"
  "swinir-mio-s     | --arch swinir_mix --task mio --scale 4 --feats 36 --groups 2 --blocks 2 --init shipped:swinir-mix-s --loss psnr --photos @MIO_PHOTOS@ --steps 6000 --batch 8 --crop 32 --lr 2e-4"
)
# The MIO networks start from the shipped mix-trained ones (--init) and train on eleven
# photos (@MIO_PHOTOS@: OUT/mio-photos, made by scripts/mio-photos.sh): the embedded ones
# lack clean flat bright areas, which a MIO network trained on them alone takes for haze.
# appended to every recipe; --val-every 100 unless the recipe sets its own
COMMON="--seed 0"
common_of() { case "$1" in *--val-every*) echo "$COMMON" ;; *) echo "$COMMON --val-every 100" ;; esac; }

# prints "yes" when a train.json's last validation PSNR beats its baseline (doing nothing;
# SRCNN's is its own align_corners=True upsampling), else both numbers; tests/family.rs
# then checks every task of an installed model
BEATS='import json, sys
r = json.load(open(sys.argv[1]))
v, b = r["history"][-1]["val_psnr"], r["baseline_psnr"]
print("yes" if v > b else f"{v:.2f} dB vs {b:.2f} dB")'

name_of() { echo "${1%%|*}" | tr -d ' '; }
args_of() { echo "${1#*|}"; }

case "${1:-}" in
  --list)
    for r in "${RECIPES[@]}"; do printf '%-16s %s\n' "$(name_of "$r")" "$(args_of "$r") $(common_of "$r")"; done
    exit 0 ;;
  --install)
    out=${2:?usage: $0 --install OUT}
    models=$(cd "$(dirname "$0")/.." && pwd)/data/models
    for r in "${RECIPES[@]}"; do
      n=$(name_of "$r")
      rec="$out/$n/train.json"
      if ! { [ -f "$rec" ] && grep -q '"finished": true' "$rec"; }; then
        echo "skipped $n (not finished)"
      elif ! beats=$("${PYTHON:-python3}" -c "$BEATS" "$rec"); then
        echo "skipped $n (cannot read $rec)"
      elif [ "$beats" != yes ]; then
        echo "skipped $n (its last validation PSNR does not beat doing nothing: $beats)"
      else
        cp "$out/$n/weights.safetensors" "$models/$n.safetensors"
        cp "$rec" "$models/$n.train.json"
        echo "installed $n"
      fi
    done
    exit 0 ;;
  ""|-h|--help)
    sed -n 2,17p "$0"; exit 1 ;;
esac

out=$1; shift
mkdir -p "$out"
# one queue at a time per folder: a second invocation waits for the first to finish
exec 9>"$out/.lock"
flock 9
bin=${CEM_BIN:-cem}
log="$out/train.log"
for r in "${RECIPES[@]}"; do
  n=$(name_of "$r")
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$n"; then continue; fi
  if [[ "$r" == *@MIO_PHOTOS@* ]]; then
    "$(dirname "$0")/mio-photos.sh" "$out/mio-photos"
    r=${r//@MIO_PHOTOS@/$out/mio-photos}
  fi
  echo "$(date -u +%H:%M:%S) $n: start $(args_of "$r") $(common_of "$r")" >>"$log"
  # shellcheck disable=SC2046
  if "$bin" train --threads "${THREADS:-1}" --device "${DEVICE:-cpu}" $(args_of "$r") $(common_of "$r") \
      --out "$out/$n" >>"$out/$n.out" 2>"$out/$n.progress"; then
    echo "$(date -u +%H:%M:%S) $n: $(tail -n 1 "$out/$n.out")" >>"$log"
  else
    echo "$(date -u +%H:%M:%S) $n: FAILED (see $out/$n.progress)" >>"$log"
  fi
done
echo "$(date -u +%H:%M:%S) queue done" >>"$log"
