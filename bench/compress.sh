#!/usr/bin/env bash
# Compression side by side (issue 15's targets), for a trained cnn run (default
# runs/fashion_mnist_cnn, from `cajal train examples/fashion_mnist_cnn.yaml`):
#  - int8: `cajal quantize RUN` (1000 calibration examples), then inference on a batch of
#    1000 test-shaped inputs, float32 against int8, and PyTorch's eager-mode quantization of
#    the same weights on the same calibration examples (bench/quantize_twin.py, onednn
#    engine), each on 1 and 2 threads, ROUNDS rounds alternating; medians;
#  - structured pruning: RUN against RUN_channels when it exists (`cajal prune RUN
#    --sparsity 0.5 --structured`).
#   bench/compress.sh [RUN]      BUILD_DIR (default build), ROUNDS (default 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
rounds=${ROUNDS:-3}
run=${1:-runs/fashion_mnist_cnn}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/machine.sh
ninja -C "$build" bench_model_inference cajal_cli >/dev/null
machine_header "$build/bench/bench_model_inference"
"$build/cajal" quantize "$run" --calibration-out "$out/calibration.npy"
for ((round = 1; round <= rounds; round++)); do
  for threads in 1 2; do
    OMP_NUM_THREADS=$threads "$build/bench/bench_model_inference" "$run" "$run/model_int8.safetensors" |
      awk -v t=$threads -v o="$out" '/RESULT model_inference.a/ { print $3 >> (o "/float" t) } /RESULT model_inference.b/ { print $3 >> (o "/int8" t) }'
    env -u OMP_NUM_THREADS -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/quantize_twin.py "$run" \
      "$out/calibration.npy" --threads "$threads" |
      awk -v t=$threads -v o="$out" '/RESULT quantize_twin.int8_batch/ { print $3 >> (o "/torch" t) } /test accuracy/ { print > (o "/torch_accuracy") }'
    if [ -d "${run}_channels" ]; then
      OMP_NUM_THREADS=$threads "$build/bench/bench_model_inference" "$run" "${run}_channels" |
        awk -v t=$threads -v o="$out" '/speed-up/ { print $NF >> (o "/channels" t) }'
    fi
  done
done
echo "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset); load average after: $(load)"
echo "PyTorch twin: $(cat "$out/torch_accuracy")"
/usr/bin/python3 - "$out" <<'PY'
import os, statistics, sys
out = sys.argv[1]
def med(name):
    path = os.path.join(out, name)
    return statistics.median(float(x.strip().rstrip("x")) for x in open(path)) if os.path.exists(path) else None
print("| batch of 1000, ms | 1 thread | 2 threads |")
print("|---|---|---|")
for label, name in (("cajal float32", "float"), ("cajal int8", "int8"), ("PyTorch int8 (onednn)", "torch")):
    print(f"| {label} | {1e3 * med(name + '1'):.2f} | {1e3 * med(name + '2'):.2f} |")
best = lambda name: min(med(name + "1"), med(name + "2"))
print(f"\nint8 / float32 (best threads each): {best('float') / best('int8'):.2f}x (target >= 2)")
print(f"int8: cajal / PyTorch (best threads each): {best('torch') / best('int8'):.2f}x (target >= 1.5)")
if med("channels1") is not None:
    print(f"structured pruning speed-up (RUN / RUN_channels): {med('channels1'):.2f}x on 1 thread, {med('channels2'):.2f}x on 2 (target >= 1.6)")
PY
