#!/bin/sh
# Resident memory over long training runs (issue 11): 20,000 steps of the MLP preset
# (measured every 1,000 steps) and 2,000 of the cnn preset (every 100), both on
# Fashion-MNIST with examples/fashion_mnist_cnn.yaml's data, optimizer and schedule.
# Each prints its measurements and a RESULT line with the growth after the first epoch;
# docs/reliability.md records a run. Needs a build with -DCAJAL_BUILD_BENCH=ON:
#   ninja -C build bench_memory_flatness && bench/memory_flatness.sh [BUILD_DIR]
set -e
# As the cajal program does: spinning OpenMP threads crawl on a machine shared with other jobs.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
build=${1:-build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$build/bench/bench_memory_flatness" examples/fashion_mnist_cnn.yaml 20000 1000 \
  --set model.preset=mlp --set output="$out/mlp"
"$build/bench/bench_memory_flatness" examples/fashion_mnist_cnn.yaml 2000 100 --set output="$out/cnn"
