#pragma once
// One thread pool for everything: OpenMP, which OpenBLAS (OpenMP build) shares, so our
// loops and BLAS never oversubscribe the cores.
#include <algorithm>
#include <cstdint>

namespace cajal {

// Below this many elements an elementwise loop runs on the calling thread: starting a
// parallel region costs more than it saves.
constexpr int64_t kElementwiseGrain = 32768;

int num_threads();
void set_num_threads(int n);
bool in_parallel_region();

// Splits [begin, end) into one contiguous chunk per thread and calls fn(chunk_begin,
// chunk_end) for each; runs inline when the range is smaller than `grain`.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn);

namespace detail {
void parallel_run(int64_t begin, int64_t end, int64_t grain, void (*call)(const void*, int64_t, int64_t), const void* ctx);
}

template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn) {
  if (end - begin <= grain || num_threads() == 1 || in_parallel_region()) {
    if (end > begin) fn(begin, end);
    return;
  }
  detail::parallel_run(begin, end, grain, [](const void* ctx, int64_t b, int64_t e) {
    (*static_cast<const F*>(ctx))(b, e);
  }, &fn);
}

}  // namespace cajal
