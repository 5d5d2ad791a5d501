#include "cajal/core/parallel.h"

#include <omp.h>

namespace cajal {

int num_threads() { return omp_get_max_threads(); }
void set_num_threads(int n) { omp_set_num_threads(std::max(1, n)); }
bool in_parallel_region() { return omp_in_parallel() != 0; }

namespace detail {
void parallel_run(int64_t begin, int64_t end, int64_t grain, void (*call)(const void*, int64_t, int64_t), const void* ctx) {
  int64_t n = end - begin;
  int threads = static_cast<int>(std::min<int64_t>(num_threads(), (n + grain - 1) / grain));
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t chunk = (n + nt - 1) / nt;
    int64_t b = begin + t * chunk, e = std::min(end, b + chunk);
    if (b < e) call(ctx, b, e);
  }
}
}  // namespace detail

}  // namespace cajal
