#!/usr/bin/env bash
# ONNX inference throughput: cajal (models imported with cajal::onnx::load) beside ONNX
# Runtime and PyTorch eager on the same models and inputs (bench/README.md, "ONNX inference").
#
# Usage: bench/onnx_inference.sh [ROW...]    (rows: resnet18_b1 resnet18_b32 mobilenet_v2_b1
#                                             mobilenet_v2_b32 cnn_b1000; default all)
#   BUILD_DIR  build directory (default build; configured Release with CAJAL_BUILD_BENCH=ON)
#   ROUNDS     rounds (default 3); each round runs cajal, ONNX Runtime and PyTorch once, one
#              after the other, and the table takes each side's median over the rounds
#   CAJAL_CACHE_LIMIT_MB  cajal's cache of freed blocks (default here 4096, see README)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
rounds=${ROUNDS:-3}
ninja -C "$build" bench_onnx_inference >/dev/null
dir=$build/onnx-bench
results=$dir/results
rm -rf "$dir" && mkdir -p "$results"

source bench/machine.sh
machine_header "$build/bench/bench_onnx_inference" | tee "$results/cajal@peak.txt"

# The models: cajal's cnn preset exported by cajal, torchvision's by torch.onnx.export.
"$build/bench/bench_onnx_inference" --export-cnn "$dir" >/dev/null
/usr/bin/python3 bench/onnx_inference.py export "$dir" >/dev/null 2>&1

export CAJAL_CACHE_LIMIT_MB=${CAJAL_CACHE_LIMIT_MB:-4096}
for ((round = 1; round <= rounds; round++)); do
  echo "round $round of $rounds: cajal, ONNX Runtime, PyTorch (load $(load))" >&2
  OMP_NUM_THREADS=2 "$build/bench/bench_onnx_inference" "$dir" "$@" >"$results/cajal@$round.txt"
  env -u OMP_NUM_THREADS node bench/onnx_inference.js "$dir" "$@" >"$results/ort@$round.txt"
  # PyTorch: 2 intra-op threads; OpenBLAS as it detects this CPU (the environment's
  # OPENBLAS_CORETYPE=Haswell and OPENBLAS_L2_SIZE would hold it back), 1 OpenBLAS thread
  # besides torch's own pool.
  env -u OMP_NUM_THREADS -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
    /usr/bin/python3 bench/onnx_inference.py time "$dir" --threads 2 "$@" >"$results/torch@$round.txt"
done
echo "cajal: OMP_NUM_THREADS=2, CAJAL_CACHE_LIMIT_MB=$CAJAL_CACHE_LIMIT_MB; ONNX Runtime $(sed -n 's/^INFO ort_version //p' "$results/ort@1.txt"):" \
     "2 intra-op threads, graph optimizations all; PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'): eager, torch.set_num_threads(2), inference_mode"
echo "load average after: $(load)"
echo
/usr/bin/python3 bench/onnx_inference.py report "$dir" "$results"/*@[0-9]*.txt
