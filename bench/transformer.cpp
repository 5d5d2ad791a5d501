// The Transformer benchmark (bench/README.md), the same cases as transformer.py for PyTorch:
// forward and backward (the gradients of the input and of every parameter) of one
// TransformerEncoderLayer with d_model 256, 4 heads, dim_feedforward 1024, on a sequence of
// 128 steps at batch 32:
//   transformer.encoder_layer              [S, N, E] input (PyTorch's default layout), dropout 0
//   transformer.encoder_layer_batch_first  [N, S, E] input, dropout 0
//   transformer.encoder_layer_dropout      [S, N, E], dropout 0.1 (PyTorch's default) in training mode
// and the forward alone without recording (INFO lines). An argument runs only the cases whose
// name contains it (bench_transformer batch_first).
#include <string>

#include "data.h"
#include "timing.h"

using namespace cajal;

namespace {

constexpr int64_t kModel = 256, kHeads = 4, kFeedForward = 1024, kSeq = 128, kBatch = 32;

std::string only;  // the filter given on the command line

void encoder_layer(const std::string& name, bool batch_first, double dropout) {
  if (name.find(only) == std::string::npos) return;
  nn::TransformerEncoderLayer layer(kModel, kHeads,
                                    {.dim_feedforward = kFeedForward, .dropout = dropout, .batch_first = batch_first});
  Dims shape = batch_first ? Dims{kBatch, kSeq, kModel} : Dims{kSeq, kBatch, kModel};
  Tensor x = bench::uniform_tensor(shape).requires_grad_();
  Tensor g = bench::uniform_tensor(shape, 2);
  TensorList wrt = layer->parameters();
  wrt.push_back(x);
  bench::info((name + ".forward").c_str(), bench::seconds_per_call([&] {
                NoGradGuard no_grad;
                Tensor out = layer(x);
              }));
  bench::report(name.c_str(), bench::seconds_per_call([&] { autograd::grad(TensorList{layer(x)}, wrt, TensorList{g}); }, 0.5));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) only = argv[1];
  encoder_layer("transformer.encoder_layer", false, 0);
  encoder_layer("transformer.encoder_layer_batch_first", true, 0);
  encoder_layer("transformer.encoder_layer_dropout", false, 0.1);
}
