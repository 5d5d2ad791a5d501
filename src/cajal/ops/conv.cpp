// Convolutions. conv1d and conv2d check their arguments against the original shapes, then
// run as 2-D convolutions (1-D ones with a height of 1); conv_transpose2d is conv2d's
// adjoint in its input. The kernels compute three products of one geometry (kernels/cpu/
// conv.h): y = conv(x, w), its adjoint in x, and its adjoint in w. Each is bilinear, and
// the gradients of each are the other two, so one recorded op (conv_product) serves
// convolution, transposed convolution and their derivatives of every order. A convolution's
// first-order backward (not recorded) computes all its gradients in one kernel call instead.
#include "cajal/ops/conv.h"

#include <atomic>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/conv_im2col.h"
#include "cajal/kernels/cpu/conv_onednn.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/reduce_util.h"

namespace cajal {

namespace {

using kernels::ConvGeometry;

std::atomic<ConvBackend>& backend_setting() {
  static std::atomic<ConvBackend> backend{kernels::onednn::available() ? ConvBackend::OneDNN : ConvBackend::Im2col};
  return backend;
}

// Which of the three products of a geometry: y = conv(x, w) (Forward), gx = conv^T(gy, w)
// (InputGrad, also conv_transpose2d) or gw from (x, gy) (WeightGrad).
enum class Product { Forward, InputGrad, WeightGrad };

const char* product_name(Product p) {
  switch (p) {
    case Product::Forward: return "conv2d";
    case Product::InputGrad: return "conv_transpose2d";
    case Product::WeightGrad: return "conv2d_weight_grad";
  }
  return "";
}

bool use_onednn(const ConvGeometry& g, DType dt) {
  return backend_setting().load() == ConvBackend::OneDNN && kernels::onednn::supports(g, dt);
}

// Runs a product's kernel on the selected backend: oneDNN where it supports the geometry
// and dtype, im2col + GEMM otherwise.
Tensor run_product(Product p, const Tensor& a, const Tensor& b, const Tensor& bias, const ConvGeometry& g) {
  DType dt = a.dtype();
  Tensor x = kernel_input(a, dt), y = kernel_input(b, dt), c = bias.defined() ? kernel_input(bias, dt) : Tensor();
  bool onednn = use_onednn(g, dt);
  Tensor out;
  switch (p) {
    case Product::Forward:
      out = make_tensor({g.batch, g.out_channels, g.out_size[0], g.out_size[1]}, dt);
      (onednn ? kernels::onednn::conv_forward : kernels::im2col::conv_forward)(g, x, y, c, out);
      break;
    case Product::InputGrad:
      out = make_tensor({g.batch, g.in_channels, g.in_size[0], g.in_size[1]}, dt);
      (onednn ? kernels::onednn::conv_backward_data : kernels::im2col::conv_backward_data)(g, x, y, c, out);
      break;
    case Product::WeightGrad:
      out = make_tensor({g.out_channels, g.in_channels / g.groups, g.kernel[0], g.kernel[1]}, dt);
      (onednn ? kernels::onednn::conv_backward_weights : kernels::im2col::conv_backward_weights)(g, x, y, out);
      break;
  }
  return out;
}

// The first-order gradients of y = conv(x, w) + bias in one kernel call, which shares work
// between them (oneDNN reorders the output gradient once and sums the bias gradient while
// computing the weight gradient). Without history: only when backward is not recorded.
TensorList first_order_backward(const Tensor& x, const Tensor& w, const Tensor& grad, bool need_x, bool need_w, bool need_bias,
                                const ConvGeometry& g) {
  DType dt = grad.dtype();
  Tensor gy = kernel_input(grad, dt);
  Tensor gx = need_x ? make_tensor({g.batch, g.in_channels, g.in_size[0], g.in_size[1]}, dt) : Tensor();
  Tensor gw = need_w ? make_tensor({g.out_channels, g.in_channels / g.groups, g.kernel[0], g.kernel[1]}, dt) : Tensor();
  Tensor gb = need_bias ? make_tensor({g.out_channels}, dt) : Tensor();
  Tensor xc = need_w ? kernel_input(x, dt) : Tensor(), wc = need_x ? kernel_input(w, dt) : Tensor();
  if (use_onednn(g, dt)) kernels::onednn::conv_backward(g, xc, wc, gy, gx, gw, gb);
  else kernels::im2col::conv_backward(g, xc, wc, gy, gx, gw, gb);
  return {gx, gw, gb};
}

// One product of (a, b), plus bias[c] on every channel when bias is defined, recorded for
// autograd. Each product is bilinear; the gradient in one operand is the product of the
// output gradient with the other operand, which is again one of the three products:
//   Forward    y  = conv(x, w):     d/dx = InputGrad(g, w),   d/dw = WeightGrad(x, g)
//   InputGrad  gx = conv^T(gy, w):  d/dgy = Forward(g, w),    d/dw = WeightGrad(g, gy)
//   WeightGrad gw = W(x, gy):       d/dx = InputGrad(gy, g),  d/dgy = Forward(x, g)
Tensor conv_product(Product p, const Tensor& a, const Tensor& b, const Tensor& bias, const ConvGeometry& g) {
  Tensor out = run_product(p, a, b, bias, g);
  if (!autograd::needs_grad({&a, &b, &bias})) return out;
  bool ga = a.requires_grad(), gb = b.requires_grad(), gbias = bias.defined() && bias.requires_grad();
  // The gradient in a reads only b, the one in b only a: keep what is needed.
  autograd::record(product_name(p), out, {&a, &b, &bias}, autograd::save(gb ? a : Tensor(), ga ? b : Tensor()),
                   [p, g, ga, gb, gbias](const Tensor& grad, const Tensor& sa, const Tensor& sb) -> TensorList {
    if (p == Product::Forward && !autograd::GradMode::enabled()) return first_order_backward(sa, sb, grad, ga, gb, gbias, g);
    Tensor grad_a, grad_b;
    switch (p) {
      case Product::Forward:
        if (ga) grad_a = conv_product(Product::InputGrad, grad, sb, {}, g);
        if (gb) grad_b = conv_product(Product::WeightGrad, sa, grad, {}, g);
        break;
      case Product::InputGrad:
        if (ga) grad_a = conv_product(Product::Forward, grad, sb, {}, g);
        if (gb) grad_b = conv_product(Product::WeightGrad, grad, sa, {}, g);
        break;
      case Product::WeightGrad:
        if (ga) grad_a = conv_product(Product::InputGrad, sb, grad, {}, g);
        if (gb) grad_b = conv_product(Product::Forward, sa, grad, {}, g);
        break;
    }
    return {grad_a, grad_b, gbias ? sum(grad, {0, 2, 3}) : Tensor()};
  });
  return out;
}

// ------------------------------------------------------------------ arguments

// A convolution's arguments for `dims` (1 or 2) spatial dims, one entry per dim.
struct ConvArgs {
  int64_t dims;
  Dims stride, dilation, padding, output_padding;
  bool same = false;  // padding "same"
  int64_t groups = 1;
  bool transposed = false;
};

void check_arguments(const char* op, const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvArgs& args) {
  if (!input.defined() || !weight.defined()) fail<ValueError>(op, ": input and weight must be defined tensors");
  int64_t dims = args.dims;
  const char* layout = dims == 1 ? "[N, C, L] (or [C, L] without a batch)" : "[N, C, H, W] (or [C, H, W] without a batch)";
  if (input.dim() != dims + 2 && input.dim() != dims + 1)
    fail<ShapeError>(op, ": expected a ", dims + 2, "-D input ", layout, ", got shape ", input.sizes());
  if (weight.dim() != dims + 2)
    fail<ShapeError>(op, ": expected a ", dims + 2, "-D weight ",
                     args.transposed ? "[in_channels, out_channels / groups, kernel...]" : "[out_channels, in_channels / groups, kernel...]",
                     ", got shape ", weight.sizes());
  for (const Tensor* t : {&input, &weight, &bias}) {
    if (!t->defined()) continue;
    if (!is_floating(t->dtype())) fail<DTypeError>(op, ": expected floating point tensors, got ", dtype_name(t->dtype()));
    if (t->dtype() != input.dtype())
      fail<DTypeError>(op, ": input (", dtype_name(input.dtype()), "), weight (", dtype_name(weight.dtype()), ")",
                       bias.defined() ? detail::concat(" and bias (", dtype_name(bias.dtype()), ")") : std::string(),
                       " must have one dtype");
  }
  if (args.groups < 1) fail<ValueError>(op, ": groups must be positive, got ", args.groups);
  for (int64_t d = 0; d < dims; ++d) {
    if (args.stride[d] < 1) fail<ValueError>(op, ": stride must be positive, got ", args.stride);
    if (args.dilation[d] < 1) fail<ValueError>(op, ": dilation must be positive, got ", args.dilation);
    if (args.padding[d] < 0) fail<ValueError>(op, ": padding must be non-negative, got ", args.padding);
    if (args.output_padding[d] < 0 || args.output_padding[d] >= std::max(args.stride[d], args.dilation[d]))
      fail<ValueError>(op, ": output_padding ", args.output_padding, " must be below the stride ", args.stride, " or the dilation ",
                       args.dilation);
  }
  if (args.same && args.stride != Dims(static_cast<size_t>(dims), 1))
    fail<ValueError>(op, ": padding=\"same\" needs stride 1, got stride ", args.stride);

  // Channels: the weight's first dim is split into groups (output channels of a convolution,
  // input channels of a transposed one); each group reads in_channels / groups channels.
  int64_t channels = input.size(input.dim() - dims - 1);
  int64_t grouped = weight.size(0);
  if (grouped % args.groups != 0)
    fail<ShapeError>(op, ": weight of shape ", weight.sizes(), " has ", grouped, args.transposed ? " input" : " output",
                     " channels, not divisible by groups=", args.groups);
  int64_t expected = args.transposed ? grouped : weight.size(1) * args.groups;
  if (channels != expected)
    fail<ShapeError>(op, ": input of shape ", input.sizes(), " has ", channels, " channels, but weight of shape ", weight.sizes(),
                     " with groups=", args.groups, " expects ", expected);
  int64_t out_channels = args.transposed ? weight.size(1) * args.groups : grouped;
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out_channels))
    fail<ShapeError>(op, ": bias of shape ", bias.sizes(), " does not match weight of shape ", weight.sizes(), " (expected [",
                     out_channels, "])");
}

// The geometry of a (transposed) convolution of x [N, C, spatial...] with weight w, both
// with 2 spatial dims (1-D arguments already padded with a height of 1 at the front).
// Checks that every output size is positive; messages show the caller's shapes.
ConvGeometry geometry(const char* op, const Tensor& x, const Tensor& w, const ConvArgs& args, const Tensor& input,
                      const Tensor& weight) {
  ConvGeometry g;
  g.batch = x.size(0);
  g.groups = args.groups;
  int64_t lead = 2 - args.dims;  // leading height entry of 1-D convolutions
    for (int d = 0; d < 2; ++d) {
    bool real = d >= lead;
    int64_t k = w.size(2 + d), in = x.size(2 + d);
    int64_t stride = real ? args.stride[d - lead] : 1, dilation = real ? args.dilation[d - lead] : 1;
    int64_t span = dilation * (k - 1) + 1;  // input extent the kernel covers
    int64_t pad = real ? args.padding[d - lead] : 0, pad_after = pad;
    if (args.same && real) {
      pad = (span - 1) / 2;
      pad_after = span - 1 - pad;
    }
    int64_t out;
    if (args.transposed) {
      out = (in - 1) * stride - 2 * pad + span + (real ? args.output_padding[d - lead] : 0);
      if (out < 1)
        fail<ShapeError>(op, ": input of shape ", input.sizes(), " and weight of shape ", weight.sizes(), " with stride ", args.stride,
                         " and padding ", args.padding, " give an empty output");
    } else {
      if (in + pad + pad_after < span)
        fail<ShapeError>(op, ": input of shape ", input.sizes(), " is smaller than the kernel of weight shape ", weight.sizes(),
                         " (padded input size ", in + pad + pad_after, " < kernel extent ", span, " with dilation ", args.dilation,
                         ")");
      out = (in + pad + pad_after - span) / stride + 1;
    }
    // The kernels see the convolution that maps the larger image to the smaller one.
    (args.transposed ? g.out_size : g.in_size)[d] = in;
    (args.transposed ? g.in_size : g.out_size)[d] = out;
    g.kernel[d] = k;
    g.stride[d] = stride;
    g.dilation[d] = dilation;
    g.pad[d] = pad;
  }
  // A transposed convolution's weight [C, O / G, ...] is the weight of the convolution from
  // its output to its input, so both read the channels the same way.
  g.in_channels = w.size(1) * args.groups;
  g.out_channels = w.size(0);
  return g;
}

Tensor convolution(const char* op, const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvArgs& args) {
  check_defined(op, input, weight);
  check_arguments(op, input, weight, bias, args);
  if (input.dtype() == DType::bf16)  // computed in float32, rounded once
    return convolution(op, input.to(DType::f32), weight.to(DType::f32), bias.defined() ? bias.to(DType::f32) : Tensor(), args)
        .to(DType::bf16);
  bool unbatched = input.dim() == args.dims + 1;
  Tensor x = unbatched ? input.unsqueeze(0) : input, w = weight;
  if (args.dims == 1) {
    x = x.unsqueeze(2);
    w = w.unsqueeze(2);
  }
  ConvGeometry g = geometry(op, x, w, args, input, weight);
  Tensor out = conv_product(args.transposed ? Product::InputGrad : Product::Forward, x, w, bias, g);
  if (args.dims == 1) out = out.squeeze(2);
  return unbatched ? out.squeeze(0) : out;
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv1dArgs& args) {
  return convolution("conv1d", input, weight, bias,
                     {1, args.stride.dims(), args.dilation.dims(), args.padding.sizes().dims(), Dims{0}, args.padding.same(),
                      args.groups, false});
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dArgs& args) {
  return convolution("conv2d", input, weight, bias,
                     {2, args.stride.dims(), args.dilation.dims(), args.padding.sizes().dims(), Dims{0, 0}, args.padding.same(),
                      args.groups, false});
}

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const ConvTranspose2dArgs& args) {
  return convolution("conv_transpose2d", input, weight, bias,
                     {2, args.stride.dims(), args.dilation.dims(), args.padding.dims(), args.output_padding.dims(), false,
                      args.groups, true});
}

void set_conv_backend(ConvBackend backend) {
  if (!conv_backend_available(backend))
    fail<ValueError>("set_conv_backend: cajal was built without oneDNN (CMake option CAJAL_WITH_ONEDNN)");
  backend_setting() = backend;
}

ConvBackend conv_backend() { return backend_setting().load(); }

bool conv_backend_available(ConvBackend backend) { return backend == ConvBackend::Im2col || kernels::onednn::available(); }

}  // namespace cajal
