#!/usr/bin/env bash
# One prepared run for the `device` tool: trains the shipped small models on the GPU
# with the same `cem train` recipe a CPU runs (data/models/README.md), checks the native
# zoo and TF32 switch on CUDA. Here, first: cargo build --release && cp $CARGO_TARGET_DIR/release/cem .gpu/
# (plus the files scripts/gpu-check.sh copies). Run with carry [".gpu"]; results in $OUT.
set -uo pipefail
out=${OUT:-out/gpu}
mkdir -p "$out/dn" "$out/sr"
torch_lib=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib
export LD_LIBRARY_PATH=$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
g=.gpu
[ -x $g/cem ] || { gunzip -k $g/cem.gz && chmod +x $g/cem; }
{
nvidia-smi --query-gpu=name --format=csv,noheader
$g/cem info
# full fp32 (the default now): the DnCNN fixture PSNR must be 24.0414 on CUDA too
$g/cem map --model $g/dncnn_color_blind.torchscript.pt --image $g/demo_2.png \
    --input $g/demo_2_dn_sigma50_seed0.png --task dn --roi 96,152,32 --strategy c3f50 --seed 0 \
    --library $g/patches-div2k-8 --device cuda --out /tmp/dncnn-fp32
# the shipped models' recipes (data/models/README.md), on the GPU
time $g/cem train --arch dncnn --task dn --sigma 50 --feats 32 --blocks 10 --steps 3000 \
    --batch 32 --crop 64 --lr 1e-3 --val-every 500 --seed 0 --device cuda --out "$out/dn"
time $g/cem train --arch srresnet --task sr --scale 4 --feats 32 --blocks 6 --steps 3000 \
    --batch 32 --crop 96 --lr 1e-3 --val-every 500 --seed 0 --device cuda --out "$out/sr"
} 2>&1 | tee "$out/log.txt"
