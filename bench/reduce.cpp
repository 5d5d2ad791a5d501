// Reductions and softmax on a [4096, 4096] float32 matrix (64 MiB, far beyond cache).
#include "data.h"
#include "timing.h"

using namespace cajal;

int main() {
  bench::info("threads", cajal::num_threads());
  Tensor x = bench::uniform_tensor({4096, 4096});
  bench::report("reduce.sum_all", bench::seconds_per_call([&] { Tensor r = sum(x); }));
  bench::report("reduce.sum_dim0", bench::seconds_per_call([&] { Tensor r = sum(x, {0}); }));
  bench::report("reduce.sum_dim1", bench::seconds_per_call([&] { Tensor r = sum(x, {1}); }));
  bench::report("reduce.mean_all", bench::seconds_per_call([&] { Tensor r = mean(x); }));
  bench::report("reduce.softmax", bench::seconds_per_call([&] { Tensor r = softmax(x, -1); }));
  bench::report("reduce.log_softmax", bench::seconds_per_call([&] { Tensor r = log_softmax(x, -1); }));
}
