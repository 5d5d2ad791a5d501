#!/usr/bin/env bash
# Build-time benchmarks (bench/README.md, item 5), printed as RESULT lines for report.py:
#   build.clean_ninja        a clean Release build of the library and tests, ccache off
#   build.umbrella_compile   g++ -std=c++20 -O2 -c of a small program using <cajal/cajal.h>
# Usage: bench/build_time.sh   (takes a few minutes; the machine should be otherwise idle)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/cajal-build-time.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export CCACHE_DISABLE=1

# Wall seconds one command takes.
seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

echo "INFO build.load_average_before $(cut -d' ' -f1 /proc/loadavg)"
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCAJAL_NATIVE=ON \
      -DCAJAL_BUILD_TESTS=ON -DCAJAL_BUILD_BENCH=OFF >/dev/null
echo "RESULT build.clean_ninja $(seconds ninja -C "$dir")"

# The median of three compiles of the user program.
times=$(for _ in 1 2 3; do
  seconds g++ -std=c++20 -O2 -I"$root/src" -c "$root/bench/umbrella_example.cpp" -o "$dir/umbrella_example.o"
done | sort -n)
echo "RESULT build.umbrella_compile $(echo "$times" | sed -n 2p)"
