#!/usr/bin/env bash
# Knowledge distillation (issue 15's target: the student taught by the ResNet-20 run beats
# the same student trained alone, 3 seeds): examples/fashion_mnist_distill.yaml (the cnn
# preset with 8/16 channels, T = 2, alpha = 0.5) against the same config without its
# distill section (examples/fashion_mnist_cnn.yaml with channels [8, 16]: the same data,
# optimizer, schedule and epochs), seeds SEEDS; prints each test accuracy and the means.
#   bench/distill_experiment.sh [TEACHER_RUN]   (default runs/fashion_mnist_resnet)
#   BUILD_DIR (default build), SEEDS (default "0 1 2"), THREADS (default 1)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
teacher=${1:-runs/fashion_mnist_resnet}
seeds=${SEEDS:-0 1 2}
threads=${THREADS:-1}
source bench/machine.sh
ninja -C "$build" cajal_cli bench_model_inference >/dev/null
machine_header "$build/bench/bench_model_inference"
"$build/cajal" eval "$teacher" | sed -n 's/^accuracy */teacher test accuracy: /p'
accuracy() { sed -n 's/.*test accuracy \([0-9.]*\).*/\1/p'; }
for seed in $seeds; do
  alone=$(OMP_NUM_THREADS=$threads "$build/cajal" train examples/fashion_mnist_cnn.yaml --set "model.options.channels=[8,16]" \
    --set seed=$seed --output "runs/student_alone_s$seed" | accuracy)
  taught=$(OMP_NUM_THREADS=$threads "$build/cajal" train examples/fashion_mnist_distill.yaml --set "distill.teacher=$teacher" \
    --set seed=$seed --output "runs/student_distilled_s$seed" | accuracy)
  echo "seed $seed: alone $alone, distilled $taught"
done | tee /dev/stderr | /usr/bin/python3 -c '
import re, statistics, sys
rows = [tuple(map(float, re.findall(r"(?:alone|distilled) ([0-9.]+)", line))) for line in sys.stdin]
alone, taught = [r[0] for r in rows], [r[1] for r in rows]
print(f"mean test accuracy: alone {100 * statistics.mean(alone):.2f}%, distilled {100 * statistics.mean(taught):.2f}%; "
      f"distilled wins {sum(t > a for a, t in zip(alone, taught))} of {len(rows)} seeds")'
