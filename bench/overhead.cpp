// Per-op overhead of cajal on a 1-element tensor, where the arithmetic is nothing and
// everything measured is dispatch, allocation and graph bookkeeping. The same three cases
// are timed for LibTorch (overhead_libtorch.cpp) and PyTorch (overhead.py).
#include <cajal/cajal.h>

#include "timing.h"

using namespace cajal;

int main() {
  Tensor a = ones({1}), b = ones({1});
  bench::report("overhead.add_forward", bench::seconds_per_call([&] { Tensor c = a + b; }));

  Tensor ga = ones({1}).requires_grad_(), gb = ones({1}).requires_grad_();
  // The graph is recorded, then freed when c goes out of scope.
  bench::report("overhead.add_forward_grad", bench::seconds_per_call([&] { Tensor c = ga + gb; }));
  // Gradients accumulate into ga.grad() and gb.grad() call after call, as in PyTorch.
  bench::report("overhead.add_sum_backward", bench::seconds_per_call([&] { (ga + gb).sum().backward(); }));
}
