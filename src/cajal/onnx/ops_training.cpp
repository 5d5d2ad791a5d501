// The optimizer steps of ONNX's training domain (ai.onnx.preview.training): Adagrad, Momentum
// and Adam, each updating n tensors at once. Inputs are the learning rate R, the step count T,
// then n tensors X, n gradients G and the optimizer's n (Adam 2n) state tensors; outputs the
// new X, then the new states. The formulas are the operators' definitions, written with ops.
#include <cmath>

#include "cajal/onnx/import_ops.h"
#include "cajal/ops/elementwise.h"

namespace cajal::onnx {

namespace {

// The number n of tensors a node updates, from its input count: 2 + n * (2 + states).
int64_t tensor_count(const Node& node, const TensorList& in, int64_t states) {
  int64_t per = 2 + states;
  if (in.size() < 2 || (in.size() - 2) % static_cast<size_t>(per) != 0)
    fail<IOError>(node.where(), ": expects R, T and groups of ", per, " tensors, got ", in.size(), " inputs");
  return static_cast<int64_t>(in.size() - 2) / per;
}

TensorList run_adagrad(const Node& node, const TensorList& in) {
  const int64_t n = tensor_count(node, in, 1);
  double decay = node.get_float("decay_factor", 0.0), eps = node.get_float("epsilon", 0.0), l2 = node.get_float("norm_coefficient", 0.0);
  double r = scalar_value(in.at(0)) / (1 + scalar_value(in.at(1)) * decay);
  TensorList xs, hs;
  for (int64_t k = 0; k < n; ++k) {
    const Tensor& x = in[static_cast<size_t>(2 + k)];
    Tensor g = x * l2 + in[static_cast<size_t>(2 + n + k)];
    Tensor h = in[static_cast<size_t>(2 + 2 * n + k)] + g * g;
    xs.push_back(x - g / (sqrt(h) + eps) * r);
    hs.push_back(h);
  }
  xs.insert(xs.end(), hs.begin(), hs.end());
  return xs;
}

TensorList run_momentum(const Node& node, const TensorList& in) {
  const int64_t n = tensor_count(node, in, 1);
  double alpha = node.get_float("alpha", 0.0), beta = node.get_float("beta", 0.0), l2 = node.get_float("norm_coefficient", 0.0);
  double r = scalar_value(in.at(0)), step = scalar_value(in.at(1));
  bool nesterov = node.get_string("mode", "standard") == "nesterov";
  double beta_now = step > 0 ? beta : 1.0;  // the first step takes the whole gradient
  TensorList xs, vs;
  for (int64_t k = 0; k < n; ++k) {
    const Tensor& x = in[static_cast<size_t>(2 + k)];
    Tensor g = x * l2 + in[static_cast<size_t>(2 + n + k)];
    Tensor v = in[static_cast<size_t>(2 + 2 * n + k)] * alpha + g * beta_now;
    xs.push_back(x - (nesterov ? g + v * alpha : v) * r);
    vs.push_back(v);
  }
  xs.insert(xs.end(), vs.begin(), vs.end());
  return xs;
}

TensorList run_adam(const Node& node, const TensorList& in) {
  const int64_t n = tensor_count(node, in, 2);
  double alpha = node.get_float("alpha", 0.9), beta = node.get_float("beta", 0.999), eps = node.get_float("epsilon", 1e-6);
  double l2 = node.get_float("norm_coefficient", 0.0), l2_post = node.get_float("norm_coefficient_post", 0.0);
  double r = scalar_value(in.at(0)), step = scalar_value(in.at(1));
  if (step > 0) r *= std::sqrt(1 - std::pow(beta, step)) / (1 - std::pow(alpha, step));  // bias correction
  TensorList xs, vs, hs;
  for (int64_t k = 0; k < n; ++k) {
    const Tensor& x = in[static_cast<size_t>(2 + k)];
    Tensor g = x * l2 + in[static_cast<size_t>(2 + n + k)];
    Tensor v = in[static_cast<size_t>(2 + 2 * n + k)] * alpha + g * (1 - alpha);
    Tensor h = in[static_cast<size_t>(2 + 3 * n + k)] * beta + g * g * (1 - beta);
    xs.push_back((x - v / (sqrt(h) + eps) * r) * (1 - l2_post));
    vs.push_back(v);
    hs.push_back(h);
  }
  xs.insert(xs.end(), vs.begin(), vs.end());
  xs.insert(xs.end(), hs.begin(), hs.end());
  return xs;
}

}  // namespace

void register_training_ops(OpTable& table) {
  table["Adagrad"] = {run_adagrad, 1};
  table["Momentum"] = {run_momentum, 1};
  table["Adam"] = {run_adam, 1};
}

}  // namespace cajal::onnx
