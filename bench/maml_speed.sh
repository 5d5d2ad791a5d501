#!/usr/bin/env bash
# MAML meta-iterations per second (issue 14's target: >= 2x the PyTorch twin): the sinusoid
# recipe of examples/sinusoid_maml.yaml (25 tasks of 10+10 points per meta-step, MLP
# 1-40-40-1, one second-order inner step), cajal's `cajal train` beside bench/maml_twin.py,
# both on 1 and 2 threads, ROUNDS rounds alternating; medians, and PyTorch's better setting.
#   bench/maml_speed.sh      BUILD_DIR (default build), ROUNDS (default 3), ITERATIONS (default 500)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
rounds=${ROUNDS:-3}
iterations=${ITERATIONS:-500}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/machine.sh
ninja -C "$build" bench_generative cajal_cli >/dev/null
machine_header "$build/bench/bench_generative"
for ((round = 1; round <= rounds; round++)); do
  for threads in 1 2; do
    OMP_NUM_THREADS=$threads "$build/cajal" train examples/sinusoid_maml.yaml --set meta.iterations=$iterations \
      --set meta.log_every=$iterations --set evaluation.tasks=1 --output "$out/run" |
      sed -n 's/.*(\([0-9.]*\) per second).*/\1/p' >>"$out/cajal$threads"
    env -u OMP_NUM_THREADS -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/maml_twin.py \
      --method maml --iterations "$iterations" --eval-tasks 1 --threads "$threads" |
      sed -n 's/RESULT meta_iterations_per_second //p' >>"$out/torch$threads"
  done
done
echo "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset); load average after: $(load)"
/usr/bin/python3 - "$out" <<'PY'
import os, statistics, sys
out = sys.argv[1]
m = {name: statistics.median(float(x) for x in open(os.path.join(out, name))) for name in ("cajal1", "cajal2", "torch1", "torch2")}
best_cajal, best_torch = max(m["cajal1"], m["cajal2"]), max(m["torch1"], m["torch2"])
print("| MAML meta-iterations/s | 1 thread | 2 threads |")
print("|---|---|---|")
print(f"| cajal | {m['cajal1']:.1f} | {m['cajal2']:.1f} |")
print(f"| PyTorch twin | {m['torch1']:.1f} | {m['torch2']:.1f} |")
ratio = best_cajal / best_torch
print(f"\nbest cajal / best PyTorch: {ratio:.2f} (target >= 2: {'pass' if ratio >= 2 else 'FAIL'})")
PY
