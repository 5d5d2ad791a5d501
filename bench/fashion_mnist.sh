#!/usr/bin/env bash
# The main job side by side: `cajal train` on a Fashion-MNIST config, then the same
# training in PyTorch (bench/fashion_mnist.py, which reads the same config), each under
# /usr/bin/time -v; prints test accuracy, training time and peak memory of both.
#
# Usage: bench/fashion_mnist.sh [--config FILE] [--epochs N] [--threads N] [--concurrent]
#   --config FILE  a config of the cnn or resnet preset (default examples/fashion_mnist_cnn.yaml;
#                  examples/fashion_mnist_long.yaml is the 20-epoch one,
#                  examples/fashion_mnist_resnet.yaml the ResNet-20 one)
#   --epochs N     overrides the config's epochs on both sides (a short smoke run)
#   --threads N    N threads on each side (default: cajal one per core, PyTorch 2)
#   --concurrent   runs the two at once instead of one after the other: with --threads 1 on
#                  2 cores each side has a core, and an hour-long config takes an hour
#   BUILD_DIR      build directory (default build-bench, configured as bench/run does)
#
# cajal runs as `make run` runs it: OpenMP's default of one thread per core, and
# OMP_WAIT_POLICY=passive unless the caller sets it, so that idle OpenMP threads sleep
# instead of spinning; on this shared 2-core machine spinning threads make every parallel
# region of a 2-thread run wait for a descheduled thread (bench/README.md, "Threads on a
# shared machine"). PyTorch, which uses the same OpenMP runtime (libgomp), gets the same
# wait policy and its best setting for this network here (torch.set_num_threads(2),
# OPENBLAS_NUM_THREADS=1; bench/README.md). Training time is what each side reports for
# its epochs (training batches plus the validation pass); the process wall time adds
# reading the data, building the model and the test evaluation. Peak memory is the
# process's maximum resident set size, from /usr/bin/time (package `time`).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build-bench}
config=examples/fashion_mnist_cnn.yaml
epochs=""
threads=""
concurrent=false
while (($#)); do
  case $1 in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --epochs) epochs=${2:?--epochs needs a number}; shift 2 ;;
    --threads) threads=${2:?--threads needs a number}; shift 2 ;;
    --concurrent) concurrent=true; shift ;;
    *) echo "bench/fashion_mnist.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -f $config ]] || { echo "bench/fashion_mnist.sh: $config: no such config" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench/fashion_mnist.sh: /usr/bin/time is missing (scripts/setup installs package time)" >&2; exit 1; }

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCAJAL_NATIVE=ON -DCAJAL_BUILD_BENCH=ON >/dev/null || exit 1
ninja -C "$build" cajal_cli >/dev/null || { echo "bench/fashion_mnist.sh: the cajal program did not build" >&2; exit 1; }

export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
name=$(basename "$config" .yaml)
work=$build/fashion-mnist-bench/$name
rm -rf "$work" && mkdir -p "$work" && work=$(cd "$work" && pwd)
load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)

cajal_args=(train "$config" --output "$work/run")
python_args=(--config "$root/$config" --threads "${threads:-2}")
if [[ -n $epochs ]]; then
  cajal_args+=(--set "epochs=$epochs")
  python_args+=(--epochs "$epochs")
fi
cajal_threads=()
[[ -n $threads ]] && cajal_threads=(OMP_NUM_THREADS="$threads")

run_cajal() {
  env "${cajal_threads[@]}" /usr/bin/time -v -o "$work/cajal.time" "$build/cajal" "${cajal_args[@]}" > "$work/cajal.log" ||
    { echo "bench/fashion_mnist.sh: cajal train failed (log: $work/cajal.log)" >&2; return 1; }
}
run_pytorch() {
  (cd bench && env -u OMP_NUM_THREADS OPENBLAS_NUM_THREADS=1 /usr/bin/time -v -o "$work/pytorch.time" \
    /usr/bin/python3 fashion_mnist.py "${python_args[@]}") > "$work/pytorch.log" ||
    { echo "bench/fashion_mnist.sh: fashion_mnist.py failed (log: $work/pytorch.log)" >&2; return 1; }
}
echo "bench/fashion_mnist.sh: cajal train $config${epochs:+ (epochs=$epochs)} and bench/fashion_mnist.py," \
     "$($concurrent && echo "at once" || echo "one after the other"); logs in $work" >&2
if $concurrent; then
  run_cajal & cajal_pid=$!
  run_pytorch & torch_pid=$!
  wait $cajal_pid || { kill $torch_pid 2>/dev/null; exit 1; }
  wait $torch_pid || exit 1
else
  run_cajal || exit 1
  run_pytorch || exit 1
fi
cat "$work/cajal.log" "$work/pytorch.log"
# The check that both sides train the same network: cajal's trained weights, loaded into
# the PyTorch network (names must match one to one), give cajal's test accuracy.
(cd bench && /usr/bin/python3 fashion_mnist.py --config "$root/$config" --threads "${threads:-2}" \
  --cajal-weights "$work/run/model.safetensors") > "$work/weights.log" ||
  { echo "bench/fashion_mnist.sh: cajal's weights did not load into the PyTorch network (log: $work/weights.log)" >&2; exit 1; }

# Values out of the logs: cajal's summary line, the script's RESULT lines, time's report.
field() { sed -n "s/$2/\1/p" "$1" | tail -1; }
peak_mb() { awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$1"; }
# CPU seconds (user + system) of the whole process: on a machine other jobs share, the
# work done, which the wall times above do not show.
cpu() { awk -F': ' '/User time|System time/ { t += $2 } END { printf "%.0f s", t }' "$1"; }
cajal_seconds=$(field "$work/cajal.log" '.*trained [0-9]* epochs in \([0-9.]*\) s.*')
cajal_accuracy=$(field "$work/cajal.log" '.*test accuracy \([0-9.]*\),.*')
torch_seconds=$(field "$work/pytorch.log" '^RESULT training_seconds \([0-9.]*\)$')
torch_accuracy=$(field "$work/pytorch.log" '^RESULT test_accuracy \([0-9.]*\)$')
weights_accuracy=$(field "$work/weights.log" '^RESULT cajal_weights_test_accuracy \([0-9.]*\)$')

echo
echo "cajal $(git rev-parse --short HEAD 2>/dev/null), $config${epochs:+ with epochs=$epochs}, $(nproc) cores," \
     "${threads:-default} threads, $($concurrent && echo "run at once" || echo "run one after the other")," \
     "OMP_WAIT_POLICY=$OMP_WAIT_POLICY; load average (1, 5, 15 min) $load_before before, $(load) after"
echo
echo "| | test accuracy | training time | process wall time | process CPU time | peak memory (max RSS) |"
echo "|---|---|---|---|---|---|"
echo "| cajal | ${cajal_accuracy:-n/a} | ${cajal_seconds:-n/a} s | $(wall "$work/cajal.time") | $(cpu "$work/cajal.time") |" \
     "$(peak_mb "$work/cajal.time") MB |"
echo "| PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') (${threads:-2} threads, OpenBLAS 1) |" \
     "${torch_accuracy:-n/a} | ${torch_seconds:-n/a} s | $(wall "$work/pytorch.time") | $(cpu "$work/pytorch.time") |" \
     "$(peak_mb "$work/pytorch.time") MB |"
echo
echo "cajal's trained weights in the PyTorch network: test accuracy ${weights_accuracy:-n/a} (cajal: ${cajal_accuracy:-n/a})"
