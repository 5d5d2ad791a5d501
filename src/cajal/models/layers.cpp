#include "cajal/models/layers.h"

#include <array>
#include <sstream>

#include "cajal/core/error.h"
#include "cajal/models/sequence.h"
#include "cajal/models/suggest.h"
#include "cajal/nn/activation.h"
#include "cajal/nn/conv.h"
#include "cajal/nn/dropout.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/norm.h"
#include "cajal/nn/pool.h"

namespace cajal::models {

std::string batch_shape(const Dims& shape) {
  std::ostringstream os;
  os << "[N";
  for (int64_t size : shape) os << ", " << size;
  os << "]";
  return os.str();
}

namespace {

using Pair = std::array<int64_t, 2>;

[[noreturn]] void shape_error(const Options& args, const std::string& expects, const Dims& in) {
  fail<ShapeError>(args.owner(), ": expects ", expects, ", got input of shape ", batch_shape(in));
}

// Layers on images take one example as [C, H, W].
void require_image(const Options& args, const Dims& in) {
  if (in.size() != 3) shape_error(args, "input [N, C, H, W]", in);
}

// A size given as one integer for both spatial dims or as [height, width].
Pair pair_option(Options& args, const std::string& name, std::optional<Pair> fallback = std::nullopt) {
  std::optional<std::vector<int64_t>> list;
  if (fallback) list = std::vector<int64_t>{(*fallback)[0], (*fallback)[1]};
  std::vector<int64_t> values = args.get_ints(name, list);
  if (values.size() == 1) return {values[0], values[0]};
  if (values.size() != 2) args.fail(name, "must be one integer or [height, width]");
  return {values[0], values[1]};
}

int64_t positive_int(Options& args, const std::string& name, std::optional<int64_t> fallback = std::nullopt) {
  int64_t value = args.get_int(name, fallback);
  if (value < 1) args.fail(name, "must be at least 1, got " + std::to_string(value));
  return value;
}

double probability(Options& args, const std::string& name, double fallback) {
  double p = args.get_float(name, fallback);
  if (p < 0 || p >= 1) args.fail(name, "must be in [0, 1), got " + nn::repr_float(p));
  return p;
}

// The output size of a window sliding over a [C, H, W] input (convolution, pooling), as
// PyTorch computes it; an error when the window does not fit.
Dims window_output(const Options& args, const Dims& in, int64_t channels, Pair kernel, Pair stride, Pair padding,
                   Pair dilation) {
  Dims out{channels, 0, 0};
  for (size_t d = 0; d < 2; ++d) {
    int64_t span = in[d + 1] + 2 * padding[d] - dilation[d] * (kernel[d] - 1) - 1;
    if (span < 0) {
      shape_error(args, "an input of at least " + std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]) +
                            " pixels with its padding", in);
    }
    out[d + 1] = span / stride[d] + 1;
  }
  return out;
}

// --- the layer types ---

nn::ModulePtr conv2d(Options& args, const Dims& in, Dims& out) {
  require_image(args, in);
  int64_t in_channels = positive_int(args, "in", in[0]);
  if (in_channels != in[0]) shape_error(args, std::to_string(in_channels) + " input channels", in);
  int64_t out_channels = positive_int(args, "out");
  Pair kernel = pair_option(args, "kernel");
  Pair stride = pair_option(args, "stride", Pair{1, 1});
  Pair dilation = pair_option(args, "dilation", Pair{1, 1});
  int64_t groups = positive_int(args, "groups", 1);
  bool bias = args.get_bool("bias", true);
  if (in_channels % groups != 0 || out_channels % groups != 0) {
    args.fail("groups", "must divide both channel counts (" + std::to_string(in_channels) + " and " +
                            std::to_string(out_channels) + "), got " + std::to_string(groups));
  }
  for (int64_t v : {kernel[0], kernel[1], stride[0], stride[1], dilation[0], dilation[1]}) {
    if (v < 1) args.fail("kernel", "sizes, strides and dilations must be at least 1");
  }
  // padding: pixels per side (one integer or [height, width]), or "same" (the output as large
  // as the input; stride 1 only) or "valid" (no padding).
  nn::Conv2dOptions options{.stride = stride, .dilation = dilation, .groups = groups, .bias = bias};
  const OptionValue* padding_value = args.find("padding");
  bool is_mode = padding_value && padding_value->kind == OptionValue::Kind::scalar && !parse_int(padding_value->items[0]);
  std::string mode = is_mode ? args.get_string("padding", std::nullopt, {"same", "valid"}) : "";
  if (mode == "same") {
    if (stride != Pair{1, 1}) args.fail("padding", "'same' needs stride 1");
    options.padding = "same";
    out = Dims{out_channels, in[1], in[2]};
  } else {
    Pair padding = is_mode ? Pair{0, 0} : pair_option(args, "padding", Pair{0, 0});
    options.padding = ExpandingArray<2>(padding);
    out = window_output(args, in, out_channels, kernel, stride, padding, dilation);
  }
  return nn::Conv2d(in_channels, out_channels, ExpandingArray<2>(kernel), options).ptr();
}

nn::ModulePtr linear(Options& args, const Dims& in, Dims& out) {
  if (in.empty()) shape_error(args, "input [N, features]", in);
  int64_t in_features = positive_int(args, "in", in.back());
  if (in_features != in.back()) shape_error(args, std::to_string(in_features) + " input features", in);
  int64_t out_features = positive_int(args, "out");
  bool bias = args.get_bool("bias", true);
  out = in;
  out[out.size() - 1] = out_features;
  return nn::Linear(in_features, out_features, {.bias = bias}).ptr();
}

nn::BatchNormOptions batch_norm_options(Options& args) {
  double eps = args.get_float("eps", 1e-5);
  double momentum = args.get_float("momentum", 0.1);
  if (eps <= 0) args.fail("eps", "must be positive");
  return {.eps = eps, .momentum = momentum};
}

nn::ModulePtr batchnorm1d(Options& args, const Dims& in, Dims& out) {
  if (in.empty() || in.size() > 2) shape_error(args, "input [N, C] or [N, C, L]", in);
  out = in;
  return nn::BatchNorm1d(in[0], batch_norm_options(args)).ptr();
}

nn::ModulePtr batchnorm2d(Options& args, const Dims& in, Dims& out) {
  require_image(args, in);
  out = in;
  return nn::BatchNorm2d(in[0], batch_norm_options(args)).ptr();
}

// Max and average pooling share their arguments and checks.
struct PoolArgs {
  Pair kernel, stride, padding;
};
PoolArgs pool_args(Options& args, const Dims& in, Dims& out) {
  require_image(args, in);
  PoolArgs p;
  p.kernel = pair_option(args, "kernel");
  p.stride = pair_option(args, "stride", p.kernel);
  p.padding = pair_option(args, "padding", Pair{0, 0});
  for (size_t d = 0; d < 2; ++d) {
    if (p.kernel[d] < 1 || p.stride[d] < 1) args.fail("kernel", "sizes and strides must be at least 1");
    if (p.padding[d] < 0 || 2 * p.padding[d] > p.kernel[d]) args.fail("padding", "must be at most half the kernel");
  }
  out = window_output(args, in, in[0], p.kernel, p.stride, p.padding, Pair{1, 1});
  return p;
}

nn::ModulePtr maxpool2d(Options& args, const Dims& in, Dims& out) {
  PoolArgs p = pool_args(args, in, out);
  return nn::MaxPool2d(ExpandingArray<2>(p.kernel), {.stride = ExpandingArray<2>(p.stride), .padding = p.padding}).ptr();
}

nn::ModulePtr avgpool2d(Options& args, const Dims& in, Dims& out) {
  PoolArgs p = pool_args(args, in, out);
  return nn::AvgPool2d(ExpandingArray<2>(p.kernel), {.stride = ExpandingArray<2>(p.stride), .padding = p.padding}).ptr();
}

nn::ModulePtr adaptive_avgpool2d(Options& args, const Dims& in, Dims& out) {
  require_image(args, in);
  Pair size = pair_option(args, "size", Pair{1, 1});
  if (size[0] < 1 || size[1] < 1) args.fail("size", "must be at least 1");
  out = Dims{in[0], size[0], size[1]};
  return nn::AdaptiveAvgPool2d(ExpandingArray<2>(size)).ptr();
}

nn::ModulePtr flatten(Options& args, const Dims& in, Dims& out) {
  out = Dims{numel_of(in)};
  return nn::Flatten().ptr();
}

nn::ModulePtr dropout(Options& args, const Dims& in, Dims& out) {
  out = in;
  return nn::Dropout(probability(args, "p", 0.5)).ptr();
}

nn::ModulePtr dropout2d(Options& args, const Dims& in, Dims& out) {
  require_image(args, in);
  out = in;
  return nn::Dropout2d(probability(args, "p", 0.5)).ptr();
}

nn::ModulePtr leaky_relu(Options& args, const Dims& in, Dims& out) {
  out = in;
  return nn::LeakyReLU(args.get_float("negative_slope", 0.01)).ptr();
}

nn::ModulePtr elu(Options& args, const Dims& in, Dims& out) {
  out = in;
  return nn::ELU(args.get_float("alpha", 1.0)).ptr();
}

// Activations without arguments, by name.
template <typename Holder>
nn::ModulePtr plain(Options& args, const Dims& in, Dims& out) {
  out = in;
  return Holder().ptr();
}

struct LayerKind {
  const char* type;
  nn::ModulePtr (*build)(Options& args, const Dims& in, Dims& out);
};

// The activations first: make_activation takes these entries.
constexpr LayerKind kActivations[] = {
    {"relu", plain<nn::ReLU>}, {"leaky_relu", leaky_relu}, {"elu", elu},         {"gelu", plain<nn::GELU>},
    {"silu", plain<nn::SiLU>}, {"mish", plain<nn::Mish>},  {"selu", plain<nn::SELU>}, {"tanh", plain<nn::Tanh>},
    {"sigmoid", plain<nn::Sigmoid>},
};
constexpr LayerKind kLayers[] = {
    {"conv2d", conv2d},       {"linear", linear},         {"batchnorm1d", batchnorm1d},
    {"batchnorm2d", batchnorm2d}, {"maxpool2d", maxpool2d}, {"avgpool2d", avgpool2d},
    {"adaptive_avgpool2d", adaptive_avgpool2d}, {"flatten", flatten}, {"dropout", dropout},
    {"dropout2d", dropout2d},
};

const LayerKind* find_kind(const std::string& type) {
  for (const LayerKind& kind : kLayers) {
    if (type == kind.type) return &kind;
  }
  for (const LayerKind& kind : kActivations) {
    if (type == kind.type) return &kind;
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> layer_types() {
  std::vector<std::string> types;
  for (const LayerKind& kind : kLayers) types.push_back(kind.type);
  for (const LayerKind& kind : kActivations) types.push_back(kind.type);
  for (const std::string& type : sequence_layer_types()) types.push_back(type);
  return types;
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const LayerKind& kind : kActivations) names.push_back(kind.type);
  return names;
}

nn::ModulePtr make_activation(const std::string& name, const std::string& owner) {
  for (const LayerKind& kind : kActivations) {
    if (name == kind.type) {
      Options none(owner);
      Dims out;
      return kind.build(none, Dims{1}, out);
    }
  }
  fail<ValueError>(owner, ": unknown activation '", name, "'", suggest(name, activation_names()));
}

nn::Sequential build_layers(std::vector<LayerSpec> specs, const Dims& input_shape, Dims* output_shape,
                            const std::string& owner, int64_t num_classes) {
  if (specs.empty()) fail<ValueError>(owner, ": the list of layers is empty");
  nn::Sequential model;
  Dims shape = input_shape;
  for (size_t i = 0; i < specs.size(); ++i) {
    LayerSpec& spec = specs[i];
    std::string where = owner + "[" + std::to_string(i) + "]";
    const LayerKind* kind = find_kind(spec.type);
    spec.args.set_owner(where + " (" + spec.type + ")");
    Dims out;
    nn::ModulePtr layer = kind ? kind->build(spec.args, shape, out)
                               : build_sequence_layer(spec.type, spec.args, shape, out, num_classes);
    if (!layer) fail<ValueError>(where, ": unknown layer type '", spec.type, "'", suggest(spec.type, layer_types()));
    spec.args.check_unused();
    model->push_back(std::move(layer));
    shape = out;
  }
  if (output_shape) *output_shape = shape;
  return model;
}

}  // namespace cajal::models
