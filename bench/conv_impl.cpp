// Convolution backends side by side: im2col + GEMM against oneDNN, on the Fashion-MNIST
// CNN's convolutions (batch 128) and small ResNet ones (batch 64), forward alone and
// forward + backward (input, weight and bias gradients; the first layer's input, images,
// needs none). The two backends' runs alternate (seconds_per_call_interleaved), so both see
// the same machine. bench/conv_impl.py times the same convolutions in PyTorch.
#include <cajal/ops/conv.h>

#include <cstdio>
#include <string>

#include "data.h"
#include "timing.h"

using namespace cajal;

namespace {

struct Shape {
  const char* name;
  Dims input, weight;
  Conv2dArgs args;
  bool input_grad;  // false for a network's first layer
};

// One forward (and backward) call of the shape's convolution on the current backend.
struct Step {
  Tensor x, w, b, gy;
  Conv2dArgs args;
  void forward() const {
    NoGradGuard no_grad;
    Tensor y = conv2d(x, w, b, args);
  }
  void forward_backward() {
    Tensor y = conv2d(x, w, b, args);
    y.backward(gy);
    w.zero_grad();
    b.zero_grad();
    x.zero_grad();
  }
};

// Times fn on each backend, alternating: {im2col seconds, oneDNN seconds}.
template <typename F>
std::pair<double, double> on_both(const F& fn) {
  return bench::seconds_per_call_interleaved(
      [&] {
        set_conv_backend(ConvBackend::Im2col);
        fn();
      },
      [&] {
        set_conv_backend(ConvBackend::OneDNN);
        fn();
      });
}

}  // namespace

int main() {
  bench::info("threads", num_threads());
  if (!conv_backend_available(ConvBackend::OneDNN)) {
    std::printf("bench_conv_impl: cajal was built without oneDNN; nothing to compare\n");
    return 0;
  }
  const Shape shapes[] = {
      {"cnn1_1x32_28", {128, 1, 28, 28}, {32, 1, 3, 3}, {.padding = 1}, false},
      {"cnn2_32x64_14", {128, 32, 14, 14}, {64, 32, 3, 3}, {.padding = 1}, true},
      {"resnet_64x64_32", {64, 64, 32, 32}, {64, 64, 3, 3}, {.padding = 1}, true},
      {"resnet_64x64_16", {64, 64, 16, 16}, {64, 64, 3, 3}, {.padding = 1}, true},
      {"resnet_64x128_s2_16", {64, 64, 16, 16}, {128, 64, 3, 3}, {.stride = 2, .padding = 1}, true},
  };
  for (const Shape& s : shapes) {
    Step step{bench::uniform_tensor(s.input, 1), bench::uniform_tensor(s.weight, 2) * 0.1, bench::uniform_tensor({s.weight[0]}, 3), {}, s.args};
    step.w.requires_grad_();
    step.b.requires_grad_();
    if (s.input_grad) step.x.requires_grad_();
    step.gy = bench::uniform_tensor(conv2d(step.x.detach(), step.w.detach(), {}, s.args).sizes(), 4);
    auto [fwd_im2col, fwd_onednn] = on_both([&] { step.forward(); });
    auto [step_im2col, step_onednn] = on_both([&] { step.forward_backward(); });
    std::string name = std::string("conv.") + s.name;
    bench::report((name + ".forward.im2col").c_str(), fwd_im2col);
    bench::report((name + ".forward.onednn").c_str(), fwd_onednn);
    bench::report((name + ".forward_backward.im2col").c_str(), step_im2col);
    bench::report((name + ".forward_backward.onednn").c_str(), step_onednn);
  }
}
