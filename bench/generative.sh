#!/usr/bin/env bash
# Training throughput of the VAE and the DCGAN, cajal beside its PyTorch twins (issue 13's
# target: >= 1.5x the twin at its best thread setting). Each round runs cajal on 2 threads,
# then PyTorch on 1 and on 2 threads; the table takes medians over the rounds and PyTorch's
# better setting per row.
#   bench/generative.sh      BUILD_DIR (default build), ROUNDS (default 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
rounds=${ROUNDS:-3}
ninja -C "$build" bench_generative >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/machine.sh
machine_header "$build/bench/bench_generative"
for ((round = 1; round <= rounds; round++)); do
  OMP_NUM_THREADS=2 "$build/bench/bench_generative" >"$out/cajal@$round.txt"
  for threads in 1 2; do
    env -u OMP_NUM_THREADS -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
      /usr/bin/python3 bench/generative.py --threads "$threads" >"$out/torch${threads}@$round.txt"
  done
done
echo "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset); load average after: $(load)"
/usr/bin/python3 - "$out" <<'PY'
import glob, os, statistics, sys
out = sys.argv[1]
def medians(prefix):
    values = {}
    for path in glob.glob(os.path.join(out, prefix + "@*.txt")):
        for line in open(path):
            if line.startswith("RESULT"):
                _, name, seconds = line.split()
                values.setdefault(name, []).append(float(seconds))
    return {k: statistics.median(v) for k, v in values.items()}
cajal, t1, t2 = medians("cajal"), medians("torch1"), medians("torch2")
print("| step (batch 128) | cajal 2 threads | PyTorch 1 thread | PyTorch 2 threads | cajal / best PyTorch (target >= 1.5) |")
print("|---|---|---|---|---|")
for name in sorted(cajal):
    best = min(t1[name], t2[name])
    ratio = best / cajal[name]
    print(f"| {name.split('.')[1]} | {cajal[name] * 1e3:.1f} ms | {t1[name] * 1e3:.1f} ms | {t2[name] * 1e3:.1f} ms | {ratio:.2f} {'pass' if ratio >= 1.5 else 'FAIL'} |")
PY
