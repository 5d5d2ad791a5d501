// The per-op overhead cases of overhead.cpp, run through LibTorch (PyTorch's C++ API).
// Usage: bench_overhead_libtorch [--threads N]   (N: torch::set_num_threads)
#include <torch/torch.h>

#include <cstring>
#include <string>

#include "timing.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--threads") == 0) torch::set_num_threads(std::stoi(argv[2]));
  bench::info("torch_threads", torch::get_num_threads());

  torch::Tensor a = torch::ones({1}), b = torch::ones({1});
  bench::report("overhead.add_forward", bench::seconds_per_call([&] { torch::Tensor c = a + b; }));

  torch::Tensor ga = torch::ones({1}).requires_grad_(), gb = torch::ones({1}).requires_grad_();
  // The graph is recorded, then freed when c goes out of scope.
  bench::report("overhead.add_forward_grad", bench::seconds_per_call([&] { torch::Tensor c = ga + gb; }));
  // Gradients accumulate into ga.grad() and gb.grad() call after call.
  bench::report("overhead.add_sum_backward", bench::seconds_per_call([&] { (ga + gb).sum().backward(); }));
}
