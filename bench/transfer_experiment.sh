#!/usr/bin/env bash
# Issue 14, experiment 1: transfer from Fashion-MNIST classes 0-4 to classes 5-9 with 10,
# 100 and all labels per class: linear probe, full fine-tune and training from scratch,
# 3 seeds each (the seed also draws the labelled subset). Prints a markdown table of test
# accuracy on the 5,000 test images of classes 5-9 (mean and spread: min-max over seeds).
#   bench/transfer_experiment.sh      BUILD_DIR (default build), OUT (default runs/transfer)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
out=${OUT:-runs/transfer}
mkdir -p "$out"
source bench/machine.sh
ninja -C "$build" bench_generative cajal_cli >/dev/null
machine_header "$build/bench/bench_generative"
cajal() { OMP_NUM_THREADS=2 "$build/cajal" "$@"; }
[ -f runs/transfer_source/model.safetensors ] || cajal train examples/transfer_source.yaml > "$out/source.log"
# Epochs per regime: about the same number of steps for the small sets, 3 passes over all.
declare -A epochs=([10]=60 [100]=20 [0]=3)
for per_class in 10 100 0; do
  for mode in finetune probe scratch; do
    for seed in 0 1 2; do
      case $mode in
        finetune) extra=() ;;
        probe) extra=(--set 'freeze=["*"]') ;;
        scratch) extra=(--set init_from= --set replace_head=false) ;;
      esac
      run="$out/${mode}_${per_class}_s$seed"
      cajal train examples/transfer_target.yaml --set data.per_class=$per_class --set epochs=${epochs[$per_class]} \
        --set seed=$seed "${extra[@]}" --output "$run" > "$run.log" 2>&1
    done
  done
done
/usr/bin/python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
print("| labels per class | linear probe | full fine-tune | from scratch |")
print("|---|---|---|---|")
for per_class, label in (("10", "10"), ("100", "100"), ("0", "all (6,000)")):
    cells = []
    for mode in ("probe", "finetune", "scratch"):
        accs = []
        for seed in range(3):
            text = open(f"{out}/{mode}_{per_class}_s{seed}.log").read()
            accs.append(float(re.search(r"test accuracy ([0-9.]+)", text).group(1)) * 100)
        cells.append(f"{sum(accs) / 3:.2f}% ({min(accs):.2f}-{max(accs):.2f})")
    print(f"| {label} | " + " | ".join(cells) + " |")
PY
