// The nn benchmarks (bench/README.md, items 6-8), the same cases as train_step.py for PyTorch:
//   - Conv2d forward and backward (input, weight and bias gradients) on the two convolutions
//     of the Fashion-MNIST CNN at batch 128;
//   - one training step (forward, cross_entropy, backward, Adam step, zero_grad) of that
//     CNN and of the MLP 784-256-128-10 at batch 128;
//   - eval-mode inference without recording (NoGradGuard) of both at batch 1000.
// With --profile it prints instead where one training step spends its time, layer by layer
// and pass by pass (INFO profile.* lines, which bench/run --profile collects and
// bench/report.py tabulates).
#include <cstring>
#include <string>
#include <vector>

#include "data.h"
#include "timing.h"

using namespace cajal;

namespace {
constexpr int64_t kTrainBatch = 128;
constexpr int64_t kInferBatch = 1000;

nn::Sequential fashion_cnn() {
  return nn::Sequential(nn::Conv2d(1, 32, 3, {.padding = 1}), nn::BatchNorm2d(32), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(32, 64, 3, {.padding = 1}), nn::BatchNorm2d(64), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(3136, 128), nn::ReLU(), nn::Dropout(0.25), nn::Linear(128, 10));
}

nn::Sequential mlp() {
  return nn::Sequential(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(),
                        nn::Linear(128, 10));
}

// Images of Fashion-MNIST's shape, values in [-1, 1).
Tensor images(int64_t batch) { return bench::uniform_tensor({batch, 1, 28, 28}); }

// Class labels 0..9 in a fixed scrambled order.
Tensor labels(int64_t batch) {
  Tensor t = empty({batch}, {.dtype = DType::i64});
  for (int64_t i = 0; i < batch; ++i) t.data_ptr<int64_t>()[i] = (i * 7 + 3) % 10;
  return t;
}

// The training step PyTorch users write, in the same order as train_step.py.
struct TrainStep {
  nn::Sequential model;
  optim::Adam opt;
  Tensor x, y;
  TrainStep(nn::Sequential m, Tensor input)
      : model(std::move(m)), opt(model->parameters(), {.lr = 1e-3}), x(std::move(input)), y(labels(x.size(0))) {}
  void operator()() {
    Tensor loss = cross_entropy(model(x), y);
    loss.backward();
    opt.step();
    opt.zero_grad();
  }
};

// Forward and backward of one convolution: the gradients of input, weight and bias (also for
// the first layer, whose input gradient a training step does not need). The forward alone,
// without recording, is reported beside it.
void conv_layer(const std::string& name, int64_t in_channels, int64_t out_channels, int64_t size) {
  nn::Conv2d conv(in_channels, out_channels, 3, {.padding = 1});
  Tensor x = bench::uniform_tensor({kTrainBatch, in_channels, size, size}).requires_grad_();
  Tensor g = bench::uniform_tensor({kTrainBatch, out_channels, size, size}, 2);
  TensorList wrt = {x, conv->weight(), conv->bias()};
  bench::report((name + ".forward").c_str(), bench::seconds_per_call([&] {
                  NoGradGuard no_grad;
                  Tensor out = conv(x);
                }));
  bench::report((name + ".forward_backward").c_str(),
                bench::seconds_per_call([&] { autograd::grad(TensorList{conv(x)}, wrt, TensorList{g}); }));
}

void inference(const std::string& name, nn::Sequential model, const Tensor& x) {
  model->eval();
  NoGradGuard no_grad;
  bench::report(name.c_str(), bench::seconds_per_call([&] { Tensor out = model(x); }));
}

// --- profile ---

// Seconds spent per layer in forward and in backward, and in the loss, the optimizer step and
// zero_grad, summed over `steps` training steps. A layer's forward is timed around its call;
// its backward runs from the moment the gradient reaches its output (a hook on the output's
// node, which runs just before that node's backward) to the moment it reaches the layer
// below's output; the lowest layer that records a graph ends its backward when backward()
// returns (that includes the engine's last bookkeeping).
void profile(const std::string& name, nn::Sequential model, const Tensor& x, int steps) {
  Tensor y = labels(x.size(0));
  optim::Adam opt(model->parameters(), {.lr = 1e-3});
  const size_t n = model->size();
  std::vector<double> forward(n), backward(n);
  double loss_forward = 0, loss_backward = 0, step = 0, zero = 0;
  for (int s = 0; s <= steps; ++s) {  // step 0 warms up and is not counted
    const double keep = s == 0 ? 0.0 : 1.0;
    std::vector<double> grad_arrives(n);  // when the gradient reached layer i's output
    std::vector<bool> tracked(n);         // whether layer i's output has a gradient at all
    Tensor h = x;
    for (size_t i = 0; i < n; ++i) {
      double t0 = bench::now_s();
      h = model[static_cast<int64_t>(i)]->forward(h);
      forward[i] += keep * (bench::now_s() - t0);
      tracked[i] = h.requires_grad();
      if (tracked[i]) {
        h.register_hook([&grad_arrives, i](const Tensor&) {
          grad_arrives[i] = bench::now_s();
          return Tensor();
        });
      }
    }
    double t0 = bench::now_s();
    Tensor loss = cross_entropy(h, y);
    double t1 = bench::now_s();
    loss.backward();
    double t2 = bench::now_s();
    opt.step();
    double t3 = bench::now_s();
    opt.zero_grad();
    double t4 = bench::now_s();
    loss_forward += keep * (t1 - t0);
    loss_backward += keep * (grad_arrives[n - 1] - t1);
    for (size_t i = 0; i < n; ++i) {
      if (!tracked[i]) continue;  // e.g. a Flatten of the input: no backward
      double done = i > 0 && tracked[i - 1] ? grad_arrives[i - 1] : t2;
      backward[i] += keep * (done - grad_arrives[i]);
    }
    step += keep * (t3 - t2);
    zero += keep * (t4 - t3);
  }
  auto info = [&](const std::string& what, double total) {
    bench::info(("profile." + name + "." + what).c_str(), total / steps);
  };
  for (size_t i = 0; i < n; ++i) {
    std::string layer = std::to_string(i) + "_" + model[static_cast<int64_t>(i)]->name();
    info(layer + ".forward", forward[i]);
    info(layer + ".backward", backward[i]);
  }
  info("loss.forward", loss_forward);
  info("loss.backward", loss_backward);
  info("adam.step", step);
  info("zero_grad.step", zero);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--profile") == 0) {
    profile("cnn", fashion_cnn(), images(kTrainBatch), 20);
    profile("mlp", mlp(), images(kTrainBatch), 200);
    return 0;
  }
  conv_layer("nn.conv1", 1, 32, 28);
  conv_layer("nn.conv2", 32, 64, 14);
  bench::report("nn.mlp_train_step", bench::seconds_per_call(TrainStep(mlp(), images(kTrainBatch))));
  bench::report("nn.cnn_train_step", bench::seconds_per_call(TrainStep(fashion_cnn(), images(kTrainBatch)), 0.5));
  inference("nn.mlp_inference", mlp(), images(kInferBatch));
  inference("nn.cnn_inference", fashion_cnn(), images(kInferBatch));
}
