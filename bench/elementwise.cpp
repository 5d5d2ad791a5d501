// Elementwise ops on 16M float32 values against the memory floor: a parallel memcpy of
// 16M floats, timed alternately with each op. Ops are out of place, allocating their
// output as PyTorch's do (cajal's caching allocator serves it after the first call).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>

#include "data.h"
#include "timing.h"

using namespace cajal;

namespace {
constexpr int64_t kN = int64_t(1) << 24;

// memcpy of n bytes, split into one contiguous piece per OpenMP thread (cajal's threads).
void parallel_memcpy(char* dst, const char* src, size_t n) {
#pragma omp parallel
  {
    size_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    size_t chunk = (n + nt - 1) / nt, b = std::min(n, t * chunk), e = std::min(n, b + chunk);
    std::memcpy(dst + b, src + b, e - b);
  }
}
}  // namespace

int main() {
  bench::info("threads", cajal::num_threads());
  Tensor x = bench::uniform_tensor({kN}, 1), y = bench::uniform_tensor({kN}, 2);
  std::vector<float> dst(kN, 0.f);  // memcpy's destination, already faulted in
  auto copy = [&] {
    parallel_memcpy(reinterpret_cast<char*>(dst.data()), static_cast<const char*>(x.raw_data()), kN * sizeof(float));
  };

  auto measure = [&](const std::string& op, auto fn) {
    auto [op_s, copy_s] = bench::seconds_per_call_interleaved(fn, copy);
    bench::report(("elementwise." + op).c_str(), op_s);
    bench::report(("elementwise." + op + ".memcpy").c_str(), copy_s);
  };
  measure("add", [&] { Tensor c = add(x, y); });
  measure("mul", [&] { Tensor c = mul(x, y); });
  measure("exp", [&] { Tensor c = exp(x); });
  measure("relu", [&] { Tensor c = relu(x); });
}
