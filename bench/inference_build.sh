#!/usr/bin/env bash
# The small inference build (CMake option CAJAL_INFERENCE_ONLY; issue 15's targets): builds
# cajal-infer twice for a portable x86-64 target (CAJAL_NATIVE=OFF), with cajal's own
# kernels only (static) and with oneDNN and OpenBLAS (their shared libraries beside it),
# then for each: the stripped size (and the libraries it loads), the time from start to
# the first prediction and the peak memory for one image (GNU time; median of ROUNDS), and
# whether its predictions on 200 test images equal `cajal predict`'s (the full library).
#   bench/inference_build.sh [RUN]   RUN: a trained run (default runs/fashion_mnist_cnn); ROUNDS (default 5)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
run=${1:-runs/fashion_mnist_cnn}
rounds=${ROUNDS:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/machine.sh
ninja -C build bench_model_inference cajal_cli >/dev/null
machine_header build/bench/bench_model_inference
for variant in own onednn; do
  flags="-DCAJAL_WITH_ONEDNN=OFF -DCAJAL_WITH_OPENBLAS=OFF"
  [ $variant = onednn ] && flags="-DCAJAL_WITH_ONEDNN=ON -DCAJAL_WITH_OPENBLAS=ON"
  cmake -S . -B "build-infer-$variant" -G Ninja -DCAJAL_INFERENCE_ONLY=ON -DCAJAL_NATIVE=OFF -DCMAKE_BUILD_TYPE=Release \
    $flags >/dev/null
  ninja -C "build-infer-$variant" >/dev/null
done
# 200 test images: one as PNG, all as a .npy batch of raw [0, 1] pixels (cajal-infer normalizes).
/usr/bin/python3 - "$run" "$out" <<'PY'
import os, sys
import numpy as np, yaml
from PIL import Image
sys.path.insert(0, "bench")
from fashion_mnist import read_idx
run, out = sys.argv[1:]
config = yaml.safe_load(open(os.path.join(run, "config.yaml")))
images = read_idx(config["data"]["test"]["inputs"])[:200]
Image.fromarray(images[0]).save(os.path.join(out, "image.png"))
np.save(os.path.join(out, "images.npy"), (images.astype(np.float32) / 255)[:, None])
PY
build/cajal predict "$run" --input "$out/images.npy" >"$out/full.csv"
for model in "$run/model.safetensors" "$run/model_int8.safetensors"; do
  [ -f "$model" ] || continue
  echo "model $model"
  for variant in own onednn; do
    program="build-infer-$variant/cajal-infer"
    libraries=$(ldd "$program" 2>/dev/null | awk '/=> \// { print $3 }' | grep -E 'dnnl|openblas' || true)
    size=$(stat -c %s "$program")
    extra=0
    for lib in $libraries; do extra=$((extra + $(stat -L -c %s "$lib"))); done
    for ((r = 0; r < rounds; r++)); do
      /usr/bin/time -f "%e %M" -o "$out/time" env OMP_NUM_THREADS=1 "$program" "$model" "$out/image.png" >/dev/null
      cat "$out/time" >>"$out/times-$variant"
    done
    env OMP_NUM_THREADS=1 "$program" "$model" "$out/images.npy" >"$out/infer-$variant.tsv"
    /usr/bin/python3 - "$out" "$variant" "$size" "$extra" "$model" <<'PY'
import csv, os, statistics, sys
out, variant, size, extra, model = sys.argv[1:]
times = [line.split() for line in open(os.path.join(out, "times-" + variant))]
seconds = statistics.median(float(t[0]) for t in times)
peak_mb = statistics.median(float(t[1]) for t in times) / 1024
infer = [line.rstrip("\n").split("\t") for line in open(os.path.join(out, "infer-" + variant + ".tsv"))]
same = "n/a (the full predictions are the float model's)"
if model.endswith("/model.safetensors"):
    rows = list(csv.DictReader(open(os.path.join(out, "full.csv"))))
    agree = sum(r["label"] == i[0] for r, i in zip(rows, infer))
    worst = max(abs(float(r["p_" + i[0]]) - float(i[1])) for r, i in zip(rows, infer))
    same = f"{agree}/{len(rows)} labels equal, largest probability difference {worst:.2g}"
print(f"  {variant:7s} cajal-infer {int(size) / 1e6:.2f} MB stripped" +
      (f" + {int(extra) / 1e6:.1f} MB of shared libraries (oneDNN, OpenBLAS)" if int(extra) else " (static, no other library)") +
      f"; start to first prediction {1e3 * seconds:.0f} ms, peak memory {peak_mb:.1f} MB (one image); {same}")
os.remove(os.path.join(out, "times-" + variant))
PY
  done
done
