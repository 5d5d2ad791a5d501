// Inference time of two model files side by side (a model and its compressed copy):
//   bench_model_inference runs/fashion_mnist_cnn runs/fashion_mnist_cnn_channels [--batch 1000]
//   bench_model_inference --peak        the FMA peak on the OpenMP threads (INFO lines)
// Each runs forward (eval mode, no gradients) on the same batch of random inputs of the
// model's example shape; their runs alternate so both see the same machine. Prints
// RESULT lines (seconds per batch), the ratio, the CPU's FMA peak and the models' sizes.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "cajal/autograd/grad_mode.h"
#include "cajal/cli/model_file.h"
#include "cajal/ops/random.h"
#include "fma_peak.h"
#include "timing.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--peak") == 0) {
    bench::report_fma_peaks();
    return 0;
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_model_inference MODEL_A MODEL_B [--batch N]\n");
    return 2;
  }
  int64_t batch = 1000;
  if (argc == 5 && std::strcmp(argv[3], "--batch") == 0) batch = std::stoll(argv[4]);
  bench::report_fma_peaks();
  cajal::cli::LoadedModel a = cajal::cli::load_model(argv[1]), b = cajal::cli::load_model(argv[2]);
  if (a.info.input.shape != b.info.input.shape) {
    std::fprintf(stderr, "the models take different inputs\n");
    return 1;
  }
  cajal::Dims shape{batch};
  for (int64_t d : a.info.input.shape) shape.push_back(d);
  cajal::Generator gen(0);
  const cajal::Tensor x = cajal::randn(shape, {}, &gen);
  cajal::NoGradGuard no_grad;
  auto [ta, tb] = bench::seconds_per_call_interleaved([&] { a.module->forward(x); }, [&] { b.module->forward(x); }, 0.5, 7);
  bench::report("model_inference.a", ta);
  bench::report("model_inference.b", tb);
  std::printf("%s: %lld parameters, %.1f KB file, %.2f ms per batch of %lld\n", a.path.c_str(),
              static_cast<long long>(a.module->num_parameters()), std::filesystem::file_size(a.path) / 1e3, ta * 1e3,
              static_cast<long long>(batch));
  std::printf("%s: %lld parameters, %.1f KB file, %.2f ms per batch of %lld\n", b.path.c_str(),
              static_cast<long long>(b.module->num_parameters()), std::filesystem::file_size(b.path) / 1e3, tb * 1e3,
              static_cast<long long>(batch));
  std::printf("speed-up of the second: %.2fx\n", ta / tb);
  return 0;
}
