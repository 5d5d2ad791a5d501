// Emitters of the feed-forward layers (containers, reshapes, linear, convolution,
// normalization, pooling, activations, dropout) and of the ResNet preset built from them.
#include "cajal/onnx/export_layers.h"

#include <cmath>

#include "cajal/core/error.h"
#include "cajal/models/resnet.h"
#include "cajal/models/sequence.h"
#include "cajal/nn/activation.h"
#include "cajal/nn/container.h"
#include "cajal/nn/conv.h"
#include "cajal/nn/dropout.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/pool.h"
#include "cajal/ops/pool.h"

namespace cajal::onnx {

std::string linear(Exporter& g, const std::string& x, int64_t rank, const Tensor& weight, const Tensor& bias) {
  // Gemm does x W^T + b in one node, for matrices only. Other ranks multiply by W^T, a
  // Transpose of the initializer that runtimes fold into a constant once.
  if (rank == 2) {
    std::vector<std::string> inputs{x, g.parameter(weight)};
    if (bias.defined()) inputs.push_back(g.parameter(bias));
    return g.node("Gemm", inputs, {{"transB", 1}});
  }
  std::string product = g.node("MatMul", {x, g.node("Transpose", {g.parameter(weight)})});
  return bias.defined() ? g.node("Add", {product, g.parameter(bias)}) : product;
}

std::string layer_norm(Exporter& g, const std::string& x, const nn::LayerNormImpl& norm) {
  if (!norm.options.elementwise_affine) {
    fail<ValueError>("export_model: LayerNorm without elementwise_affine is not supported by the ONNX exporter");
  }
  const int64_t dims = static_cast<int64_t>(norm.normalized_shape.size());
  const std::string weight = g.parameter(norm.weight), bias = g.parameter(norm.bias);
  if (g.opset() >= 17) {
    return g.node("LayerNormalization", {x, weight, bias}, {{"axis", -dims}, {"epsilon", norm.options.eps}});
  }
  // (x - mean) / sqrt(var + eps) * weight + bias, mean and (biased) variance over the last dims.
  std::vector<int64_t> axes;
  for (int64_t d = 1; d <= dims; ++d) axes.push_back(-d);
  std::string centered = g.node("Sub", {x, g.node("ReduceMean", {x}, {{"axes", axes}})});
  std::string variance = g.node("ReduceMean", {g.node("Mul", {centered, centered})}, {{"axes", axes}});
  std::string deviation = g.node("Sqrt", {g.node("Add", {variance, g.scalar(norm.options.eps)})});
  std::string normalized = g.node("Div", {centered, deviation});
  return g.node("Add", {g.node("Mul", {normalized, weight}), bias});
}

std::string gelu(Exporter& g, const std::string& x, GeluApprox approximate) {
  std::string shape;  // erf(x / sqrt(2)) or tanh(sqrt(2 / pi) (x + 0.044715 x^3)), each in [-1, 1]
  if (approximate == GeluApprox::None) {
    shape = g.node("Erf", {g.node("Mul", {x, g.scalar(M_SQRT1_2)})});
  } else {
    std::string cube = g.node("Mul", {x, g.node("Mul", {x, x})});
    std::string inner = g.node("Add", {x, g.node("Mul", {cube, g.scalar(0.044715)})});
    shape = g.node("Tanh", {g.node("Mul", {inner, g.scalar(M_2_SQRTPI * M_SQRT1_2)})});
  }
  // 0.5 x (1 + shape)
  return g.node("Mul", {g.node("Mul", {x, g.scalar(0.5)}), g.node("Add", {shape, g.scalar(1.0)})});
}

namespace {

// --- containers ---

std::string emit_sequential(Exporter& g, nn::Module& m, const Value& x) {
  Value value = x;
  for (const auto& [name, child] : m.named_children()) value = g.emit(*child, value);
  return value.name;
}

// Dropout is the identity in eval mode, the mode the exporter runs in; so is Identity.
std::string emit_identity(Exporter&, nn::Module&, const Value& x) { return x.name; }

// Flatten, Unflatten, models::Reshape: a Reshape to the shape of the module's output on the
// example, with the batch dim copied from the input (Reshape's 0) so that it stays dynamic.
std::string emit_reshaping(Exporter& g, nn::Module& m, const Value& x) {
  const Dims shape = m.forward(x.example).shape();
  if (shape.empty() || shape[0] != x.example.size(0)) {
    fail<ValueError>("export_model: ", m.name(), " turns a batch of shape ", x.example.shape(), " into ", shape,
                     "; the ONNX exporter keeps dim 0 as the batch");
  }
  std::vector<int64_t> target{0};
  target.insert(target.end(), shape.begin() + 1, shape.end());
  return g.node("Reshape", {x.name, g.ints(target)});
}

// --- linear, convolution, normalization ---

std::string emit_linear(Exporter& g, nn::Module& m, const Value& x) {
  auto& layer = static_cast<nn::LinearImpl&>(m);
  return linear(g, x.name, x.example.dim(), layer.weight(), layer.bias());
}

std::vector<int64_t> pair(const ExpandingArray<2>& values) { return {values[0], values[1]}; }

std::string emit_conv2d(Exporter& g, nn::Module& m, const Value& x) {
  auto& conv = static_cast<nn::Conv2dImpl&>(m);
  const nn::Conv2dOptions& o = conv.options();
  const Tensor& weight = conv.weight();  // [out, in / groups, kH, kW]
  std::vector<int64_t> pads;             // ONNX: the start of each spatial dim, then the end
  if (o.padding.same()) {
    // PyTorch's "same": the padding a dilated kernel needs, the odd pixel at the end.
    int64_t top = o.dilation[0] * (weight.size(2) - 1), left = o.dilation[1] * (weight.size(3) - 1);
    pads = {top / 2, left / 2, top - top / 2, left - left / 2};
  } else {
    const ExpandingArray<2>& p = o.padding.sizes();
    pads = {p[0], p[1], p[0], p[1]};
  }
  std::vector<std::string> inputs{x.name, g.parameter(weight)};
  if (conv.bias().defined()) inputs.push_back(g.parameter(conv.bias()));
  return g.node("Conv", inputs,
                {{"kernel_shape", std::vector<int64_t>{weight.size(2), weight.size(3)}},
                 {"strides", pair(o.stride)},
                 {"pads", pads},
                 {"dilations", pair(o.dilation)},
                 {"group", o.groups}});
}

std::string emit_batch_norm(Exporter& g, nn::Module& m, const Value& x) {
  auto& bn = static_cast<nn::BatchNormImpl&>(m);
  if (!bn.affine || !bn.track_running_stats) {
    fail<ValueError>("export_model: ", bn.name(), " without affine weights or running statistics is not supported by the ONNX exporter");
  }
  // In eval mode batch norm is a fixed affine map from the running statistics: ONNX's
  // BatchNormalization in inference mode.
  return g.node("BatchNormalization",
                {x.name, g.parameter(bn.weight), g.parameter(bn.bias), g.parameter(bn.running_mean), g.parameter(bn.running_var)},
                {{"epsilon", bn.eps}});
}

std::string emit_layer_norm(Exporter& g, nn::Module& m, const Value& x) {
  return layer_norm(g, x.name, static_cast<nn::LayerNormImpl&>(m));
}

// --- pooling ---

std::string emit_max_pool2d(Exporter& g, nn::Module& m, const Value& x) {
  auto& pool = static_cast<nn::MaxPool2dImpl&>(m);
  const nn::MaxPool2dOptions& o = pool.options();
  return g.node("MaxPool", {x.name},
                {{"kernel_shape", pair(pool.kernel_size())},
                 {"strides", pair(o.stride.value_or(pool.kernel_size()))},
                 {"pads", std::vector<int64_t>{o.padding[0], o.padding[1], o.padding[0], o.padding[1]}},
                 {"dilations", pair(o.dilation)},
                 {"ceil_mode", int64_t{o.ceil_mode}}});
}

std::string emit_avg_pool2d(Exporter& g, nn::Module& m, const Value& x) {
  auto& pool = static_cast<nn::AvgPool2dImpl&>(m);
  const nn::AvgPool2dOptions& o = pool.options();
  // Windows that ceil_mode lets run past the padding are averaged differently by PyTorch and
  // ONNX, and ONNX has no divisor_override.
  if (o.ceil_mode || o.divisor_override) {
    fail<ValueError>("export_model: AvgPool2d with ceil_mode or divisor_override is not supported by the ONNX exporter");
  }
  return g.node("AveragePool", {x.name},
                {{"kernel_shape", pair(pool.kernel_size())},
                 {"strides", pair(o.stride.value_or(pool.kernel_size()))},
                 {"pads", std::vector<int64_t>{o.padding[0], o.padding[1], o.padding[0], o.padding[1]}},
                 {"count_include_pad", int64_t{o.count_include_pad}}});
}

std::string emit_adaptive_avg_pool2d(Exporter& g, nn::Module& m, const Value& x) {
  auto& pool = static_cast<nn::AdaptiveAvgPool2dImpl&>(m);
  const int64_t height = x.example.size(-2), width = x.example.size(-1);
  const int64_t out_height = pool.output_size()[0], out_width = pool.output_size()[1];
  if (out_height == 1 && out_width == 1) return g.node("GlobalAveragePool", {x.name});
  // ONNX has no adaptive pooling; when the size divides evenly every window has the same
  // size and stride, which is a plain average pool.
  if (height % out_height != 0 || width % out_width != 0) {
    fail<ValueError>("export_model: AdaptiveAvgPool2d from ", height, "x", width, " to ", out_height, "x", out_width,
                     " has windows of unequal sizes, which ONNX cannot express; use sizes that divide the input's");
  }
  std::vector<int64_t> window{height / out_height, width / out_width};
  return g.node("AveragePool", {x.name}, {{"kernel_shape", window}, {"strides", window}});
}

// --- activations ---

std::string emit_relu(Exporter& g, nn::Module&, const Value& x) { return g.node("Relu", {x.name}); }
std::string emit_sigmoid(Exporter& g, nn::Module&, const Value& x) { return g.node("Sigmoid", {x.name}); }
std::string emit_tanh(Exporter& g, nn::Module&, const Value& x) { return g.node("Tanh", {x.name}); }

std::string emit_leaky_relu(Exporter& g, nn::Module& m, const Value& x) {
  return g.node("LeakyRelu", {x.name}, {{"alpha", static_cast<nn::LeakyReLUImpl&>(m).negative_slope()}});
}

std::string emit_elu(Exporter& g, nn::Module& m, const Value& x) {
  return g.node("Elu", {x.name}, {{"alpha", static_cast<nn::ELUImpl&>(m).alpha()}});
}

std::string emit_selu(Exporter& g, nn::Module&, const Value& x) {
  // PyTorch's constants (ONNX's defaults are the same float32 values; written out to be sure).
  return g.node("Selu", {x.name}, {{"alpha", 1.6732632423543772848170429916717}, {"gamma", 1.0507009873554804934193349852946}});
}

std::string emit_gelu(Exporter& g, nn::Module& m, const Value& x) {
  return gelu(g, x.name, static_cast<nn::GELUImpl&>(m).approximate());
}

std::string emit_silu(Exporter& g, nn::Module&, const Value& x) {
  return g.node("Mul", {x.name, g.node("Sigmoid", {x.name})});
}

std::string emit_mish(Exporter& g, nn::Module&, const Value& x) {
  return g.node("Mul", {x.name, g.node("Tanh", {g.node("Softplus", {x.name})})});
}

std::string emit_softmax(Exporter& g, nn::Module& m, const Value& x) {
  return g.node("Softmax", {x.name}, {{"axis", static_cast<nn::SoftmaxImpl&>(m).dim()}});
}

std::string emit_log_softmax(Exporter& g, nn::Module& m, const Value& x) {
  return g.node("LogSoftmax", {x.name}, {{"axis", static_cast<nn::LogSoftmaxImpl&>(m).dim()}});
}

std::string emit_hardtanh(Exporter& g, nn::Module& m, const Value& x) {
  auto& layer = static_cast<nn::HardtanhImpl&>(m);
  return g.node("Clip", {x.name, g.scalar(layer.min_val()), g.scalar(layer.max_val())});
}

// --- models/resnet ---

Value relu(Exporter& g, const Value& x) { return {g.node("Relu", {x.name}), cajal::relu(x.example)}; }

bool has_child(const nn::Module& m, const std::string& name) {
  for (const auto& [child_name, child] : m.named_children()) {
    if (child_name == name) return true;
  }
  return false;
}

// As BasicBlockImpl::forward: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
std::string emit_basic_block(Exporter& g, nn::Module& block, const Value& x) {
  Value out = relu(g, g.emit_child(block, "bn1", g.emit_child(block, "conv1", x)));
  out = g.emit_child(block, "bn2", g.emit_child(block, "conv2", out));
  std::string shortcut = has_child(block, "downsample") ? g.emit_child(block, "downsample", x).name : x.name;
  return g.node("Relu", {g.node("Add", {out.name, shortcut})});
}

// As ResNetImpl::forward: stem, the stages layer1..layerS, global average pool, fc.
std::string emit_resnet(Exporter& g, nn::Module& net, const Value& x) {
  Value out = relu(g, g.emit_child(net, "bn1", g.emit_child(net, "conv1", x)));
  for (const auto& [name, child] : net.named_children()) {
    if (name.starts_with("layer")) out = g.emit(*child, out);
  }
  Value pooled{g.node("Flatten", {g.node("GlobalAveragePool", {out.name})}, {{"axis", 1}}),
               global_avg_pool2d(out.example).flatten(1)};
  return g.emit_child(net, "fc", pooled).name;
}

}  // namespace

void add_layer_emitters(EmitterTable& table) {
  add_emitter<nn::SequentialImpl>(table, emit_sequential);
  add_emitter<nn::IdentityImpl>(table, emit_identity);
  add_emitter<nn::DropoutImpl>(table, emit_identity);
  add_emitter<nn::Dropout2dImpl>(table, emit_identity);
  add_emitter<nn::AlphaDropoutImpl>(table, emit_identity);
  add_emitter<nn::FlattenImpl>(table, emit_reshaping);
  add_emitter<nn::UnflattenImpl>(table, emit_reshaping);
  add_emitter<models::ReshapeImpl>(table, emit_reshaping);
  add_emitter<nn::LinearImpl>(table, emit_linear);
  add_emitter<nn::Conv2dImpl>(table, emit_conv2d);
  add_emitter<nn::BatchNorm1dImpl>(table, emit_batch_norm);
  add_emitter<nn::BatchNorm2dImpl>(table, emit_batch_norm);
  add_emitter<nn::LayerNormImpl>(table, emit_layer_norm);
  add_emitter<nn::MaxPool2dImpl>(table, emit_max_pool2d);
  add_emitter<nn::AvgPool2dImpl>(table, emit_avg_pool2d);
  add_emitter<nn::AdaptiveAvgPool2dImpl>(table, emit_adaptive_avg_pool2d);
  add_emitter<nn::ReLUImpl>(table, emit_relu);
  add_emitter<nn::SigmoidImpl>(table, emit_sigmoid);
  add_emitter<nn::TanhImpl>(table, emit_tanh);
  add_emitter<nn::LeakyReLUImpl>(table, emit_leaky_relu);
  add_emitter<nn::ELUImpl>(table, emit_elu);
  add_emitter<nn::SELUImpl>(table, emit_selu);
  add_emitter<nn::GELUImpl>(table, emit_gelu);
  add_emitter<nn::SiLUImpl>(table, emit_silu);
  add_emitter<nn::MishImpl>(table, emit_mish);
  add_emitter<nn::SoftmaxImpl>(table, emit_softmax);
  add_emitter<nn::LogSoftmaxImpl>(table, emit_log_softmax);
  add_emitter<nn::HardtanhImpl>(table, emit_hardtanh);
  add_emitter<models::BasicBlockImpl>(table, emit_basic_block);
  add_emitter<models::ResNetImpl>(table, emit_resnet);
}

}  // namespace cajal::onnx
