// Normalization ops: batch, layer, group and instance norm. The statistics and the
// normalizing pass run in fused kernels; so does the first-order backward, while a
// recorded backward (create_graph) is built from differentiable ops.
#include "cajal/ops/norm.h"

#include <algorithm>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/norm.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/reduce_util.h"

namespace cajal {

using kernels::NormShape;

namespace {

// --- checks ---

void check_input(const char* op, const Tensor& x, int64_t min_dim, const char* expected) {
  check_defined(op, x);
  if (!is_floating(x.dtype()))
    fail<DTypeError>(op, ": input must be floating point, got ", dtype_name(x.dtype()), "; convert it with to()");
  if (x.dim() < min_dim) fail<ShapeError>(op, ": expected an input of shape ", expected, ", got ", x.sizes());
}

// weight, bias and running statistics hold one value per channel (x's dim 1).
void check_per_channel(const char* op, const char* what, const Tensor& t, const Tensor& x) {
  if (t.defined() && (t.dim() != 1 || t.size(0) != x.size(1)))
    fail<ShapeError>(op, ": ", what, " has shape ", t.sizes(), " but the input (shape ", x.sizes(), ") has ",
                     x.size(1), " channels");
}

void check_channel_tensors(const char* op, const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                           const Tensor& weight, const Tensor& bias) {
  check_per_channel(op, "weight", weight, x);
  check_per_channel(op, "bias", bias, x);
  check_per_channel(op, "running_mean", running_mean, x);
  check_per_channel(op, "running_var", running_var, x);
  if (running_mean.defined() != running_var.defined())
    fail<ValueError>(op, ": running_mean and running_var must be given together");
}

// --- layouts ---

// bfloat16 is normalized in float32.
DType compute_dtype(const Tensor& x) { return x.dtype() == DType::bf16 ? DType::f32 : x.dtype(); }

// x [N, C, ...] seen as [n, c, s].
NormShape channel_shape(const Tensor& x) {
  NormShape shape{x.size(0), x.size(1), 1};
  for (int64_t d = 2; d < x.dim(); ++d) shape.s *= x.size(d);
  return shape;
}

// A normalization with the input's own statistics: x seen as [n, c, s] with weight and
// bias per channel; statistics per channel over n and s (groups == 0: batch norm) or per
// sample and group of consecutive channels (group norm; instance norm has a group per
// channel, layer norm one group whose "channels" are the normalized elements).
struct NormLayout {
  NormShape shape;
  int64_t groups = 0;

  // x seen as the tensor whose stat_dims() the statistics reduce.
  Dims stat_shape() const {
    if (groups == 0) return channel_view();
    return {shape.n, groups, shape.c / groups * shape.s};
  }
  Dims stat_dims() const { return groups == 0 ? Dims{0, 2} : Dims{2}; }
  Dims channel_view() const { return {shape.n, shape.c, shape.s}; }
};

// A kernel's per-channel parameter: t's values as [c], or `fill` where t is undefined.
Tensor kernel_param(const Tensor& t, int64_t c, double fill, DType dtype) {
  return t.defined() ? kernel_input(t, dtype).view({c}) : full({c}, fill, {.dtype = dtype});
}

// --- normalizing with the input's statistics ---

// The gradients of y = (x - mean) * rstd * weight + bias, the statistics taken from x,
// built from differentiable ops so that backward can be differentiated again:
//   dx = rstd * (dx^ - mean(dx^) - x^ * mean(dx^ * x^)),  dx^ = dy * weight
TensorList batch_stats_backward_recorded(const NormLayout& l, const Tensor& x, const Tensor& weight,
                                         const Tensor& bias, const Tensor& g, double eps) {
  Dims dims = l.stat_dims();
  Tensor xs = x.reshape(l.stat_shape());
  Tensor centered = xs - mean(xs, dims, true);
  Tensor rstd = rsqrt(mean(centered * centered, dims, true) + eps);
  Tensor x_hat = centered * rstd;
  Tensor gc = g.reshape(l.channel_view());
  Tensor g_hat = (weight.defined() ? gc * weight.reshape({1, l.shape.c, 1}) : gc).reshape(l.stat_shape());
  Tensor dx = rstd * (g_hat - mean(g_hat, dims, true) - x_hat * mean(g_hat * x_hat, dims, true));
  Tensor dweight, dbias;
  if (weight.defined()) dweight = sum(gc * x_hat.reshape(l.channel_view()), {0, 2}).reshape(weight.sizes());
  if (bias.defined()) dbias = sum(gc, {0, 2}).reshape(bias.sizes());
  return {dx.reshape(x.sizes()), dweight, dbias};
}

// The output and the statistics it was normalized with (biased variance), one value per
// channel (batch norm) or per sample and group, in the kernels' dtype.
struct Normalized {
  Tensor y, mean, var;
};

Normalized normalize_with_batch_stats(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                      const NormLayout& l, double eps) {
  DType dt = compute_dtype(x);
  int64_t c = l.shape.c;
  Tensor xk = kernel_input(x, dt);
  Tensor wk = kernel_param(weight, c, 1, dt);
  Tensor bk = kernel_param(bias, c, 0, dt);
  int64_t stats = l.groups == 0 ? c : l.shape.n * l.groups;
  Tensor y = make_tensor(x.sizes(), dt);
  Tensor batch_mean = make_tensor({stats}, dt), batch_var = make_tensor({stats}, dt);
  if (l.groups == 0) kernels::batch_norm(xk, l.shape, wk, bk, eps, y, batch_mean, batch_var);
  else kernels::group_norm(xk, l.shape, l.groups, wk, bk, eps, y, batch_mean, batch_var);
  if (dt != x.dtype()) y = convert(y, x.dtype());
  // bias is saved for its shape only; xk and wk are the kernel's views of x and weight.
  autograd::record(op, y, {&x, &weight, &bias}, autograd::save(x, weight, bias, xk, wk, batch_mean, batch_var),
                   [l, eps, dt](const Tensor& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& xk,
                                const Tensor& wk, const Tensor& batch_mean, const Tensor& batch_var) -> TensorList {
    if (autograd::GradMode::enabled()) return batch_stats_backward_recorded(l, x, weight, bias, g, eps);
    Tensor gk = kernel_input(g, dt);
    Tensor dx = make_tensor(x.sizes(), dt), dw = make_tensor({l.shape.c}, dt), db = make_tensor({l.shape.c}, dt);
    if (l.groups == 0) kernels::batch_norm_backward(xk, gk, l.shape, batch_mean, batch_var, wk, eps, dx, dw, db);
    else kernels::group_norm_backward(xk, gk, l.shape, l.groups, batch_mean, batch_var, wk, eps, dx, dw, db);
    return {dx, weight.defined() ? dw.view(weight.sizes()) : Tensor(), bias.defined() ? db.view(bias.sizes()) : Tensor()};
  });
  return {y, batch_mean, batch_var};
}

// --- normalizing with running statistics ---

// y = x * scale + shift per channel: one fused pass forward; a backward of differentiable ops.
Tensor channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift) {
  DType dt = compute_dtype(x);
  NormShape shape = channel_shape(x);
  Tensor y = make_tensor(x.sizes(), dt);
  kernels::channel_affine(kernel_input(x, dt), shape, kernel_input(scale, dt), kernel_input(shift, dt), y);
  if (dt != x.dtype()) y = convert(y, x.dtype());
  autograd::record("batch_norm", y, {&x, &scale, &shift}, autograd::save(x, scale),
                   [shape](const Tensor& g, const Tensor& x, const Tensor& scale) -> TensorList {
    Dims view{shape.n, shape.c, shape.s};
    Tensor gc = g.reshape(view);
    return {(gc * scale.reshape({1, shape.c, 1})).reshape(x.sizes()), sum(gc * x.reshape(view), {0, 2}),
            sum(gc, {0, 2})};
  });
  return y;
}

// With fixed statistics normalizing is an affine map per channel, whose scale and shift
// come from the running statistics, weight and bias (differentiably).
Tensor normalize_with_running_stats(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                                    const Tensor& weight, const Tensor& bias, double eps) {
  Tensor scale = rsqrt(running_var + eps);
  if (weight.defined()) scale = scale * weight;
  Tensor shift = -(running_mean * scale);
  if (bias.defined()) shift = shift + bias;
  return channel_affine(x, scale, shift);
}

// running = (1 - momentum) * running + momentum * batch, in place and unrecorded.
void update_running(const Tensor& running, const Tensor& batch, double momentum) {
  NoGradGuard no_grad;
  Tensor r = running;
  r.mul_(1 - momentum).add_(batch.to(r.dtype()), momentum);
}

// The weight of this batch in the running averages. Counts the batch first.
double running_average_factor(std::optional<double> momentum, const Tensor& num_batches_tracked) {
  if (num_batches_tracked.defined()) {
    NoGradGuard no_grad;
    Tensor count = num_batches_tracked;
    count.add_(1);
  }
  if (momentum) return *momentum;
  if (!num_batches_tracked.defined())
    fail<ValueError>("batch_norm: momentum = nullopt (a cumulative average) needs num_batches_tracked");
  return 1.0 / num_batches_tracked.item<double>();
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, std::optional<double> momentum, double eps,
                  const Tensor& num_batches_tracked) {
  const char* op = "batch_norm";
  check_input(op, x, 2, "[N, C, ...]");
  check_channel_tensors(op, x, running_mean, running_var, weight, bias);
  if (!training) {
    if (!running_mean.defined())
      fail<ValueError>("batch_norm: eval mode (training = false) needs running_mean and running_var");
    return normalize_with_running_stats(x, running_mean, running_var, weight, bias, eps);
  }
  NormShape shape = channel_shape(x);
  int64_t count = shape.n * shape.s;
  if (count <= 1)
    fail<ValueError>("batch_norm: training needs more than 1 value per channel, got input shape ", x.sizes());
  Normalized r = normalize_with_batch_stats(op, x, weight, bias, {shape, 0}, eps);
  if (running_mean.defined()) {
    double factor = running_average_factor(momentum, num_batches_tracked);
    update_running(running_mean, r.mean, factor);
    update_running(running_var, r.var * (static_cast<double>(count) / static_cast<double>(count - 1)), factor);
  }
  return r.y;
}

Tensor layer_norm(const Tensor& x, const Dims& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  check_input("layer_norm", x, 1, "[..., normalized_shape]");
  int64_t nd = static_cast<int64_t>(normalized_shape.size());
  if (nd == 0 || x.dim() < nd || !std::equal(normalized_shape.begin(), normalized_shape.end(), x.sizes().end() - nd))
    fail<ShapeError>("layer_norm: normalized_shape ", normalized_shape, " does not match the last dims of the input (shape ",
                     x.sizes(), ")");
  for (auto [what, t] : {std::pair{"weight", &weight}, std::pair{"bias", &bias}})
    if (t->defined() && t->sizes() != normalized_shape)
      fail<ShapeError>("layer_norm: ", what, " has shape ", t->sizes(), " but normalized_shape is ", normalized_shape);
  NormShape shape{1, numel_of(normalized_shape), 1};
  for (int64_t d = 0; d < x.dim() - nd; ++d) shape.n *= x.size(d);
  return normalize_with_batch_stats("layer_norm", x, weight, bias, {shape, 1}, eps).y;
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  check_input("group_norm", x, 2, "[N, C, ...]");
  check_channel_tensors("group_norm", x, {}, {}, weight, bias);
  if (num_groups <= 0 || x.size(1) % num_groups != 0)
    fail<ValueError>("group_norm: ", x.size(1), " channels cannot be split into ", num_groups, " groups");
  return normalize_with_batch_stats("group_norm", x, weight, bias, {channel_shape(x), num_groups}, eps).y;
}

Tensor instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                     const Tensor& bias, bool use_input_stats, double momentum, double eps) {
  const char* op = "instance_norm";
  check_input(op, x, 3, "[N, C, L] or [N, C, H, W]");
  check_channel_tensors(op, x, running_mean, running_var, weight, bias);
  if (!use_input_stats) {
    if (!running_mean.defined())
      fail<ValueError>("instance_norm: use_input_stats = false needs running_mean and running_var");
    return normalize_with_running_stats(x, running_mean, running_var, weight, bias, eps);
  }
  NormShape shape = channel_shape(x);
  if (shape.s <= 1)
    fail<ValueError>("instance_norm: needs more than 1 spatial value per channel, got input shape ", x.sizes());
  Normalized r = normalize_with_batch_stats(op, x, weight, bias, {shape, shape.c}, eps);
  if (running_mean.defined()) {
    // The running statistics follow the samples' average statistics, as PyTorch's.
    NoGradGuard no_grad;
    double unbiased = static_cast<double>(shape.s) / static_cast<double>(shape.s - 1);
    update_running(running_mean, mean(r.mean.view({shape.n, shape.c}), {0}), momentum);
    update_running(running_var, mean(r.var.view({shape.n, shape.c}), {0}) * unbiased, momentum);
  }
  return r.y;
}

}  // namespace cajal
