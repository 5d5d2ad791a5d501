// Conv1d, Conv2d, ConvTranspose2d: parameters, initialization and printing as torch.nn's
// _ConvNd; forward calls the functional ops of ops/conv.h.
#include "cajal/nn/conv.h"

#include <cmath>

#include "cajal/nn/init.h"
#include "cajal/ops/creation.h"

namespace cajal::nn {

namespace {

// What every convolution layer checks at construction, as torch's _ConvNd.__init__.
void check_layer(const char* layer, int64_t in_channels, int64_t out_channels, const Dims& kernel, int64_t groups, bool same,
                 const Dims& stride) {
  if (in_channels < 0 || out_channels < 0)
    fail<ValueError>(layer, ": channel counts must be non-negative, got ", in_channels, " and ", out_channels);
  for (int64_t k : kernel)
    if (k < 1) fail<ValueError>(layer, ": kernel_size must be positive, got ", kernel);
  if (groups < 1) fail<ValueError>(layer, ": groups must be positive, got ", groups);
  if (in_channels % groups != 0) fail<ValueError>(layer, ": in_channels (", in_channels, ") must be divisible by groups (", groups, ")");
  if (out_channels % groups != 0)
    fail<ValueError>(layer, ": out_channels (", out_channels, ") must be divisible by groups (", groups, ")");
  if (same && stride != Dims(stride.size(), 1))
    fail<ValueError>(layer, ": padding=\"same\" needs stride 1, got stride ", stride);
}

// weight [rows, cols, kernel...].
Tensor conv_weight(int64_t rows, int64_t cols, const Dims& kernel) {
  Dims shape{rows, cols};
  for (int64_t k : kernel) shape.push_back(k);
  return empty(shape);
}

// torch's _ConvNd.reset_parameters: kaiming_uniform_(a = sqrt(5)) for the weight, and the
// bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (left alone when fan_in is 0).
void reset_conv(const Tensor& weight, const Tensor& bias, Generator* gen) {
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
  if (!bias.defined()) return;
  int64_t fan_in = init::calculate_fan_in_and_fan_out(weight).first;
  if (fan_in == 0) return;
  double bound = 1 / std::sqrt(static_cast<double>(fan_in));
  init::uniform_(bias, -bound, bound, gen);
}

// The padding as _ConvNd prints it, or "" when it is all zeros (not printed).
template <size_t D>
std::string padding_repr(const ConvPadding<D>& p) {
  if (p.same()) return "same";
  if (p.valid()) return "valid";
  Dims sizes = p.sizes().dims();
  return sizes == Dims(D, 0) ? "" : repr_tuple(sizes);
}
std::string padding_repr(const Dims& sizes) { return sizes == Dims(sizes.size(), 0) ? "" : repr_tuple(sizes); }

// torch's _ConvNd.extra_repr: the defaults of padding, dilation, output_padding, groups and
// bias are left out.
std::string conv_repr(int64_t in_channels, int64_t out_channels, const Dims& kernel, const Dims& stride, const std::string& padding,
                      const Dims& dilation, const Dims& output_padding, int64_t groups, bool bias) {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) + ", kernel_size=" + repr_tuple(kernel) +
                  ", stride=" + repr_tuple(stride);
  if (!padding.empty()) s += ", padding=" + padding;
  if (dilation != Dims(dilation.size(), 1)) s += ", dilation=" + repr_tuple(dilation);
  if (output_padding != Dims(output_padding.size(), 0)) s += ", output_padding=" + repr_tuple(output_padding);
  if (groups != 1) s += ", groups=" + std::to_string(groups);
  if (!bias) s += ", bias=False";
  return s;
}

}  // namespace

// --- Conv1d ---

Conv1dImpl::Conv1dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<1> kernel_size, Conv1dOptions options)
    : options_(std::move(options)) {
  check_layer("Conv1d", in_channels, out_channels, kernel_size.dims(), options_.groups, options_.padding.same(),
              options_.stride.dims());
  register_parameter("weight", weight_, conv_weight(out_channels, in_channels / options_.groups, kernel_size.dims()));
  register_parameter("bias", bias_, options_.bias ? empty({out_channels}) : Tensor());
  reset_parameters();
}

void Conv1dImpl::reset_parameters(Generator* gen) { reset_conv(weight_, bias_, gen); }

std::string Conv1dImpl::extra_repr() const {
  return conv_repr(weight_.size(1) * options_.groups, weight_.size(0), {weight_.size(2)}, options_.stride.dims(),
                   padding_repr(options_.padding), options_.dilation.dims(), Dims{0}, options_.groups, bias_.defined());
}

Tensor Conv1dImpl::forward(const Tensor& input) {
  return conv1d(input, weight_, bias_, {options_.stride, options_.padding, options_.dilation, options_.groups});
}

// --- Conv2d ---

Conv2dImpl::Conv2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size, Conv2dOptions options)
    : options_(std::move(options)) {
  check_layer("Conv2d", in_channels, out_channels, kernel_size.dims(), options_.groups, options_.padding.same(),
              options_.stride.dims());
  register_parameter("weight", weight_, conv_weight(out_channels, in_channels / options_.groups, kernel_size.dims()));
  register_parameter("bias", bias_, options_.bias ? empty({out_channels}) : Tensor());
  reset_parameters();
}

void Conv2dImpl::reset_parameters(Generator* gen) { reset_conv(weight_, bias_, gen); }

std::string Conv2dImpl::extra_repr() const {
  return conv_repr(weight_.size(1) * options_.groups, weight_.size(0), {weight_.size(2), weight_.size(3)}, options_.stride.dims(),
                   padding_repr(options_.padding), options_.dilation.dims(), Dims{0, 0}, options_.groups, bias_.defined());
}

Tensor Conv2dImpl::forward(const Tensor& input) {
  return conv2d(input, weight_, bias_, {options_.stride, options_.padding, options_.dilation, options_.groups});
}

// --- ConvTranspose2d ---

ConvTranspose2dImpl::ConvTranspose2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size,
                                         ConvTranspose2dOptions options)
    : options_(std::move(options)) {
  check_layer("ConvTranspose2d", in_channels, out_channels, kernel_size.dims(), options_.groups, false, options_.stride.dims());
  register_parameter("weight", weight_, conv_weight(in_channels, out_channels / options_.groups, kernel_size.dims()));
  register_parameter("bias", bias_, options_.bias ? empty({out_channels}) : Tensor());
  reset_parameters();
}

void ConvTranspose2dImpl::reset_parameters(Generator* gen) { reset_conv(weight_, bias_, gen); }

std::string ConvTranspose2dImpl::extra_repr() const {
  return conv_repr(weight_.size(0), weight_.size(1) * options_.groups, {weight_.size(2), weight_.size(3)}, options_.stride.dims(),
                   padding_repr(options_.padding.dims()), options_.dilation.dims(), options_.output_padding.dims(), options_.groups,
                   bias_.defined());
}

Tensor ConvTranspose2dImpl::forward(const Tensor& input) {
  return conv_transpose2d(input, weight_, bias_,
                          {options_.stride, options_.padding, options_.output_padding, options_.groups, options_.dilation});
}

}  // namespace cajal::nn
