// Recurrent layers (issue 5), the same cases as rnn.py for PyTorch: a 2-layer LSTM and a
// 2-layer GRU (input 256, hidden 256) on a sequence of 64 steps at batch 32, forward and
// backward (the gradients of the input and every parameter for a given output gradient),
// and the forward alone without recording.
#include <string>

#include "data.h"
#include "timing.h"

using namespace cajal;

namespace {
constexpr int64_t kSteps = 64, kBatch = 32, kInput = 256, kHidden = 256, kLayers = 2;

template <typename Layer>
void measure(const std::string& name, Layer layer) {
  Tensor x = bench::uniform_tensor({kSteps, kBatch, kInput}).requires_grad_();
  Tensor g = bench::uniform_tensor({kSteps, kBatch, kHidden}, 2);
  TensorList wrt = layer->parameters();
  wrt.push_back(x);
  bench::report((name + ".forward").c_str(), bench::seconds_per_call([&] {
                  NoGradGuard no_grad;
                  Tensor out = layer->forward(x);
                }));
  bench::report((name + ".forward_backward").c_str(), bench::seconds_per_call([&] {
                  autograd::grad(TensorList{layer->forward(x)}, wrt, TensorList{g});
                }));
}
}  // namespace

int main() {
  measure("rnn.lstm", nn::LSTM(kInput, kHidden, {.num_layers = kLayers}));
  measure("rnn.gru", nn::GRU(kInput, kHidden, {.num_layers = kLayers}));
}
