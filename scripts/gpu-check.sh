#!/usr/bin/env bash
# One prepared run for the `device` tool (an H100/H200 with PyTorch 2.11.0, no cargo).
# Here, first:   cargo build --release && mkdir -p .gpu && cp $CARGO_TARGET_DIR/release/cem .gpu/ \
#                && strip .gpu/cem && gzip -9 .gpu/cem   # 74 MB stripped: over the tool's 64 MiB unzipped \
#                && cp ../shared/data/models/dncnn_color_blind.torchscript.pt ../shared/data/test-images/demo_2.png \
#                      ../shared/reference/fixtures/demo_2_dn_sigma50_seed0.png .gpu/ \
#                && cp -r ../shared/data/patches-div2k-8 .gpu/ \
#                && echo /.gpu/ >> .git/info/exclude
# Then run `bash scripts/gpu-check.sh` on the device with carry [".gpu"]; results land in $OUT.
set -uo pipefail
out=${OUT:-out/gpu}
mkdir -p "$out"
torch_lib=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib
export LD_LIBRARY_PATH=$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
g=.gpu
[ -x $g/cem ] || { gunzip -k $g/cem.gz && chmod +x $g/cem; }
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
$g/cem info | tee "$out/info.txt"
python3 -c 'import torch; print("python torch", torch.__version__, torch.version.cuda, torch.cuda.is_available())' | tee -a "$out/info.txt"
if ! grep -q 'CUDA available: true' "$out/info.txt"; then
    echo "retrying with LD_PRELOAD=libtorch_cuda.so" | tee -a "$out/info.txt"
    export LD_PRELOAD=$torch_lib/libtorch_cuda.so
    $g/cem info | tee -a "$out/info.txt"
fi
# the engine's overhead against pure inference, whole-image (locality off inside bench)
$g/cem bench --model $g/dncnn_color_blind.torchscript.pt --image $g/demo_2.png --task dn \
    --device cuda --strategy c3f50 --repeat 3 2>&1 | tee "$out/bench_dncnn.txt"
$g/cem bench --device cuda --strategy c3f50 --repeat 3 2>&1 | tee "$out/bench_demo.txt"
# a full DnCNN map on CUDA, with and without the locality crop
for mode in crop whole; do
    extra=""; [ $mode = whole ] && extra="--no-locality"
    /usr/bin/time -f "%e s" $g/cem map --model $g/dncnn_color_blind.torchscript.pt --image $g/demo_2.png \
        --input $g/demo_2_dn_sigma50_seed0.png --task dn --roi 96,152,32 --strategy c3f50 --seed 0 \
        --library $g/patches-div2k-8 --device cuda $extra --out "/tmp/dncnn-$mode" 2>&1 | tee "$out/map_$mode.txt"
    cp "/tmp/dncnn-$mode/cem.json" "$out/dncnn-$mode.json"   # the device tool returns at most 8 files
done
