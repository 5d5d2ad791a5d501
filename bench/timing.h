#pragma once
// The timing loops of the C++ benchmarks (cajal, LibTorch, raw BLAS), measured the same
// way as bench/timing.py measures PyTorch: calibrate a call count that runs for about
// `target_s`, then take the median time per call over several such runs. The median
// shrugs off the noise of a shared machine.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

namespace bench {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Times `calls` calls of fn, in seconds.
template <typename F>
double run_calls(F& fn, long calls) {
  double t0 = now_s();
  for (long i = 0; i < calls; ++i) fn();
  return now_s() - t0;
}

// How many calls of fn take about target_s (after one warm-up call, which faults in
// pages and fills caches and allocator pools).
template <typename F>
long calibrate(F& fn, double target_s) {
  run_calls(fn, 1);
  long calls = 1;
  double t = run_calls(fn, calls);
  while (t < target_s / 20) {
    calls *= 4;
    t = run_calls(fn, calls);
  }
  return std::max(1L, static_cast<long>(calls * target_s / t));
}

// Median seconds per call of fn().
template <typename F>
double seconds_per_call(F&& fn, double target_s = 0.15, int repeats = 7) {
  long calls = calibrate(fn, target_s);
  std::vector<double> per_call;
  for (int r = 0; r < repeats; ++r) per_call.push_back(run_calls(fn, calls) / calls);
  return median(per_call);
}

// Median seconds per call of a() and of b(), their runs alternating so that both see the
// same machine: for a side-by-side ratio on a machine whose load changes.
template <typename A, typename B>
std::pair<double, double> seconds_per_call_interleaved(A&& a, B&& b, double target_s = 0.15, int repeats = 7) {
  long calls_a = calibrate(a, target_s), calls_b = calibrate(b, target_s);
  std::vector<double> ta, tb;
  for (int r = 0; r < repeats; ++r) {
    ta.push_back(run_calls(a, calls_a) / calls_a);
    tb.push_back(run_calls(b, calls_b) / calls_b);
  }
  return {median(ta), median(tb)};
}

// One result line, read by bench/report.py: RESULT <name> <seconds per call>.
inline void report(const char* name, double seconds) { std::printf("RESULT %s %.6e\n", name, seconds); }
inline void info(const char* name, double value) { std::printf("INFO %s %.6e\n", name, value); }

}  // namespace bench
