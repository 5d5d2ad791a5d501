#!/usr/bin/env bash
# Data-parallel training side by side (issue 17's targets), the cnn preset on Fashion-MNIST
# with a global batch of 128 (examples/fashion_mnist_cnn.yaml without its validation split):
#   cajal, 1 rank x 2 threads (batch 128)     cajal train ... (no mpirun)
#   cajal, 2 ranks x 1 thread (batch 64 each) mpirun -np 2 cajal train ...
#   PyTorch, the same two setups               bench/ddp_twin.py (DDP with gloo, 200 steps)
# cajal's numbers are one epoch of 60,000 examples (fit time, no evaluation inside it);
# it prints the bytes all-reduced per step and the share of the time spent waiting for them.
#   bench/ddp.sh       BUILD_DIR (default build), ROUNDS (default 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
rounds=${ROUNDS:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
source bench/machine.sh
ninja -C "$build" bench_model_inference cajal_cli >/dev/null
machine_header "$build/bench/bench_model_inference"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
sets=(--set epochs=1 --set data.validation_split=0 --set output="$out/run")
cajal_rate() {  # examples per second from "trained 1 epochs in S s"
  sed -n 's/.*trained 1 epochs in \([0-9.]*\) s.*/\1/p' "$1" | awk '{ printf "%.0f", 60000 / $1 }'
}
for ((round = 1; round <= rounds; round++)); do
  OMP_NUM_THREADS=2 "$build/cajal" train examples/fashion_mnist_cnn.yaml "${sets[@]}" > "$out/one.txt"
  echo "cajal   ranks=1 threads=2 examples_per_s=$(cajal_rate "$out/one.txt")"
  OMP_NUM_THREADS=1 mpirun -np 2 "$build/cajal" train examples/fashion_mnist_cnn.yaml "${sets[@]}" --set batch_size=64 > "$out/two.txt"
  echo "cajal   ranks=2 threads=1 examples_per_s=$(cajal_rate "$out/two.txt") $(grep -o 'data-parallel: [0-9]* bytes all-reduced per step, [0-9.]*% of the time waiting for them' "$out/two.txt")"
  for setup in "--ranks 1 --threads 2" "--ranks 2 --threads 1"; do
    env -u OMP_NUM_THREADS -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/ddp_twin.py $setup | grep '^pytorch'
  done
done
echo "load average after: $(load)"
