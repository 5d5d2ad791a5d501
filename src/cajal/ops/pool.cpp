// Pooling and resampling. Every op checks its arguments against the caller's shapes, views
// the input as [N, C, H, W] (1-D inputs with a height of 1, unbatched ones with a batch of
// 1), runs a kernel over its N * C planes, and views the result back.
//
// Max pooling records a backward that sends each gradient to its window's maximum.
// Average pooling, adaptive average pooling and interpolation are linear maps of the
// planes: their gradient is the adjoint map (a kernel too), whose gradient is the map
// again, so every order of derivative runs on the kernels (apply_plane_map).
#include "cajal/ops/pool.h"

#include <cmath>
#include <memory>

#include "cajal/autograd/node.h"
#include "cajal/kernels/cpu/pool.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/reduce_util.h"
#include "cajal/ops/shape.h"

namespace cajal {

namespace {

// ------------------------------------------------------------------ shapes

void check_input(const char* op, const Tensor& input, int64_t spatial, bool unbatched_ok) {
  check_defined(op, input);
  int64_t d = input.dim();
  if (d != spatial + 2 && !(unbatched_ok && d == spatial + 1))
    fail<ShapeError>(op, ": expected a ", spatial + 2, "-D input ", spatial == 1 ? "[N, C, L]" : "[N, C, H, W]",
                     unbatched_ok ? (spatial == 1 ? " (or [C, L])" : " (or [C, H, W])") : "", ", got shape ", input.sizes());
  if (!is_floating(input.dtype()))
    fail<DTypeError>(op, ": expected a floating point input, got ", dtype_name(input.dtype()));
  for (int64_t i = d - spatial - 1; i < d; ++i)
    if (input.size(i) == 0) fail<ShapeError>(op, ": input of shape ", input.sizes(), " is empty in a channel or spatial dim");
}

// The input as [N, C, H, W].
Tensor as_planes(const Tensor& input, int64_t spatial) {
  Tensor x = input.dim() == spatial + 1 ? input.unsqueeze(0) : input;
  return spatial == 1 ? x.unsqueeze(2) : x;
}

// A [N, C, H, W] result back in the input's form.
Tensor from_planes(const Tensor& out, const Tensor& input, int64_t spatial) {
  Tensor y = spatial == 1 ? out.squeeze(2) : out;
  return input.dim() == spatial + 1 ? y.squeeze(0) : y;
}

// [N, C, H, W] seen by the kernels as N * C planes: [N * C, H, W].
Tensor planes_view(const Tensor& t) { return t.view({t.size(0) * t.size(1), t.size(2), t.size(3)}); }

// The shape the result of an op over [N, C, H, W] takes in the input's form.
Dims result_shape(const Tensor& input, int64_t spatial, const std::array<int64_t, 2>& out_hw) {
  Dims shape(input.sizes().begin(), input.sizes().end() - spatial);
  for (int64_t d = 2 - spatial; d < 2; ++d) shape.push_back(out_hw[d]);
  return shape;
}

// Per-dim arguments of a pooling op, for the kernels' two dims (1-D ones get a leading
// height entry that reads every row once).
struct PoolArgs {
  int64_t spatial;
  Dims kernel, stride, padding, dilation;  // `spatial` entries, as the caller gave them
  bool ceil_mode = false;

  int64_t at(const Dims& d, int dim, int64_t height_value) const { return dim < 2 - spatial ? height_value : d[dim - (2 - spatial)]; }
};

// PyTorch's pooling output size: windows that fit, plus with ceil_mode a last partial one
// when it starts inside the input or its left padding.
int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t span = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t out = (span >= 0 ? span / s : -((-span + s - 1) / s)) + 1;  // division rounded down
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// Checks a pooling op's arguments and returns its output height and width.
std::array<int64_t, 2> pooled_sizes(const char* op, const Tensor& input, const PoolArgs& a) {
  for (size_t i = 0; i < a.kernel.size(); ++i) {
    if (a.kernel[i] < 1) fail<ValueError>(op, ": kernel_size must be positive, got ", a.kernel);
    if (a.stride[i] < 1) fail<ValueError>(op, ": stride must be positive, got ", a.stride);
    if (a.dilation[i] < 1) fail<ValueError>(op, ": dilation must be positive, got ", a.dilation);
    if (a.padding[i] < 0 || a.padding[i] > a.kernel[i] / 2)
      fail<ValueError>(op, ": padding ", a.padding, " must be between 0 and half the kernel size ", a.kernel);
  }
  std::array<int64_t, 2> out{};
  bool empty = false;
  Tensor x = as_planes(input, a.spatial);
  for (int d = 0; d < 2; ++d) {
    out[d] = pooled_size(x.size(2 + d), a.at(a.kernel, d, 1), a.at(a.stride, d, 1), a.at(a.padding, d, 0), a.at(a.dilation, d, 1),
                         a.ceil_mode);
    empty = empty || out[d] < 1;
  }
  if (empty)
    fail<ShapeError>(op, ": input of shape ", input.sizes(), " is too small for kernel_size ", a.kernel, " (stride ", a.stride,
                     ", padding ", a.padding, ", dilation ", a.dilation, "): the output would have shape ",
                     result_shape(input, a.spatial, out));
  return out;
}

// ------------------------------------------------------------------ max pooling

ValuesIndices max_pool(const char* op, const Tensor& input, const PoolArgs& a) {
  check_input(op, input, a.spatial, true);
  std::array<int64_t, 2> out_hw = pooled_sizes(op, input, a);
  if (input.dtype() == DType::bf16) {  // computed in float32; the maxima convert back exactly
    ValuesIndices r = max_pool(op, input.to(DType::f32), a);
    return {r.values.to(DType::bf16), r.indices};
  }
  Tensor x = as_planes(input, a.spatial);
  kernels::MaxPoolGeometry g;
  for (int d = 0; d < 2; ++d) {
    g.in_size[d] = x.size(2 + d);
    g.out_size[d] = out_hw[d];
    g.kernel[d] = a.at(a.kernel, d, 1);
    g.stride[d] = a.at(a.stride, d, 1);
    g.pad[d] = a.at(a.padding, d, 0);
    g.dilation[d] = a.at(a.dilation, d, 1);
  }
  Dims out_shape{x.size(0), x.size(1), out_hw[0], out_hw[1]};
  Tensor values = make_tensor(out_shape, x.dtype()), indices = make_tensor(out_shape, DType::i64);
  kernels::max_pool2d(planes_view(kernel_input(x, x.dtype())), planes_view(values), planes_view(indices), g);
  // indices is returned to the caller too, so it is saved: changing it in place is caught.
  autograd::record(op, values, {&x}, autograd::save(indices),
                   [in_shape = x.sizes()](const Tensor& grad, const Tensor& indices) -> TensorList {
    if (autograd::GradMode::enabled()) {
      // Recorded backward: a scatter of the gradient, differentiable again (its gradient
      // gathers at the same positions).
      int64_t planes = in_shape[0] * in_shape[1];
      Tensor flat = zeros({planes, in_shape[2] * in_shape[3]}, {.dtype = grad.dtype()});
      return {scatter_add(flat, 1, indices.view({planes, -1}), grad.reshape({planes, -1})).view(in_shape)};
    }
    Tensor gx = make_tensor(in_shape, grad.dtype());
    kernels::max_pool2d_backward(planes_view(kernel_input(grad, grad.dtype())), planes_view(indices), planes_view(gx));
    return {gx};
  });
  return {from_planes(values, input, a.spatial), from_planes(indices, input, a.spatial)};
}

template <size_t D, typename Args>
PoolArgs max_pool_args(const ExpandingArray<D>& kernel, const Args& args) {
  return {D, kernel.dims(), args.stride.value_or(kernel).dims(), args.padding.dims(), args.dilation.dims(), args.ceil_mode};
}

// ------------------------------------------------------------------ linear maps of planes

// Average pooling over windows (its adjoint spreads each gradient over its window).
struct WindowAverage {
  const char* name;
  const char* adjoint_name;
  kernels::Windows h, w;
  int64_t divisor = 0;
  void apply(const Tensor& in, const Tensor& out) const { kernels::window_average(in, out, h, w, divisor); }
  void apply_adjoint(const Tensor& in, const Tensor& out) const { kernels::window_average_backward(in, out, h, w, divisor); }
};

// Interpolation through per-dim taps (its adjoint adds each gradient to the taps it read).
struct Interpolation {
  const char* name;
  const char* adjoint_name;
  kernels::Taps h, w;
  void apply(const Tensor& in, const Tensor& out) const { kernels::interpolate(in, out, h, w); }
  void apply_adjoint(const Tensor& in, const Tensor& out) const { kernels::interpolate_backward(in, out, h, w); }
};

// Applies the map (or its adjoint) to x [N, C, H, W], giving [N, C, out_hw], recorded for
// autograd with the other direction as its gradient.
template <typename Map>
Tensor apply_plane_map(const std::shared_ptr<const Map>& map, bool adjoint, const Tensor& x, const std::array<int64_t, 2>& out_hw) {
  Tensor out = make_tensor({x.size(0), x.size(1), out_hw[0], out_hw[1]}, x.dtype());
  Tensor in = planes_view(kernel_input(x, x.dtype()));
  if (adjoint) map->apply_adjoint(in, planes_view(out));
  else map->apply(in, planes_view(out));
  autograd::record(adjoint ? map->adjoint_name : map->name, out, {&x},
                   [map, adjoint, in_hw = std::array<int64_t, 2>{x.size(2), x.size(3)}](const Tensor& grad) -> TensorList {
                     return {apply_plane_map(map, !adjoint, grad, in_hw)};
                   });
  return out;
}

// Runs a map over the input in its [N, C, H, W] form; bfloat16 computes in float32.
template <typename Map>
Tensor run_plane_map(const Tensor& input, int64_t spatial, std::shared_ptr<const Map> map, const std::array<int64_t, 2>& out_hw) {
  if (input.dtype() == DType::bf16) return run_plane_map(input.to(DType::f32), spatial, std::move(map), out_hw).to(DType::bf16);
  return from_planes(apply_plane_map<Map>(map, false, as_planes(input, spatial), out_hw), input, spatial);
}

// The windows of average pooling along one dim, as PyTorch: each window is clipped to the
// padded input for counting (count_include_pad) and to the input for summing.
kernels::Windows pool_windows(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, bool count_include_pad) {
  kernels::Windows w;
  for (int64_t i = 0; i < out; ++i) {
    int64_t start = i * s - p, end = std::min(start + k, in + p);
    int64_t padded = end - start;
    start = std::max<int64_t>(start, 0);
    end = std::min(end, in);
    w.start.push_back(start);
    w.end.push_back(end);
    w.count.push_back(count_include_pad ? padded : end - start);
  }
  return w;
}

// The windows of adaptive average pooling: rows floor(i * in / out) to ceil((i + 1) * in / out).
kernels::Windows adaptive_windows(int64_t in, int64_t out) {
  kernels::Windows w;
  for (int64_t i = 0; i < out; ++i) {
    w.start.push_back(i * in / out);
    w.end.push_back(((i + 1) * in + out - 1) / out);
    w.count.push_back(w.end.back() - w.start.back());
  }
  return w;
}

Tensor avg_pool(const char* op, const Tensor& input, const PoolArgs& a, bool count_include_pad, std::optional<int64_t> divisor) {
  check_input(op, input, a.spatial, true);
  if (divisor && *divisor == 0) fail<ValueError>(op, ": divisor_override must be non-zero");
  std::array<int64_t, 2> out_hw = pooled_sizes(op, input, a);
  Tensor x = as_planes(input, a.spatial);
  auto map = std::make_shared<WindowAverage>();
  map->name = op;
  map->adjoint_name = "avg_pool_backward";
  map->h = pool_windows(x.size(2), out_hw[0], a.at(a.kernel, 0, 1), a.at(a.stride, 0, 1), a.at(a.padding, 0, 0), count_include_pad);
  map->w = pool_windows(x.size(3), out_hw[1], a.at(a.kernel, 1, 1), a.at(a.stride, 1, 1), a.at(a.padding, 1, 0), count_include_pad);
  map->divisor = divisor.value_or(0);
  return run_plane_map<WindowAverage>(input, a.spatial, std::move(map), out_hw);
}

// ------------------------------------------------------------------ interpolation

// One output dim's taps for nearest interpolation, as PyTorch's nearest_idx (positions
// computed in float whatever the dtype).
kernels::Taps nearest_taps(int64_t in, int64_t out, std::optional<double> scale) {
  kernels::Taps t;
  t.taps = 1;
  float ratio = scale ? static_cast<float>(1.0 / *scale) : static_cast<float>(in) / static_cast<float>(out);
  for (int64_t i = 0; i < out; ++i) {
    int64_t index = out == in ? i : out == 2 * in ? i / 2 : std::min(static_cast<int64_t>(std::floor(static_cast<float>(i) * ratio)), in - 1);
    t.index[0].push_back(index);
    t.weight[0].push_back(1.0);
  }
  return t;
}

// One output dim's taps for linear interpolation, computed in T (float for float32, double
// for float64), as PyTorch's compute_source_index_and_lambda.
template <typename T>
kernels::Taps linear_taps(int64_t in, int64_t out, bool align_corners, std::optional<double> scale) {
  kernels::Taps t;
  t.taps = 2;
  T ratio = align_corners ? (out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0))
                          : scale ? static_cast<T>(1.0 / *scale) : static_cast<T>(in) / static_cast<T>(out);
  for (int64_t i = 0; i < out; ++i) {
    int64_t i0 = i, i1 = i;
    T lambda1 = 0;
    if (in != out) {
      T source = align_corners ? ratio * static_cast<T>(i) : ratio * (static_cast<T>(i) + T(0.5)) - T(0.5);
      source = std::max(source, T(0));
      i0 = static_cast<int64_t>(source);
      i1 = i0 + (i0 < in - 1 ? 1 : 0);
      lambda1 = std::min(std::max(source - static_cast<T>(i0), T(0)), T(1));
    }
    t.index[0].push_back(i0);
    t.index[1].push_back(i1);
    t.weight[0].push_back(static_cast<double>(T(1) - lambda1));
    t.weight[1].push_back(static_cast<double>(lambda1));
  }
  return t;
}

}  // namespace

ValuesIndices max_pool1d_with_indices(const Tensor& input, ExpandingArray<1> kernel_size, const MaxPool1dArgs& args) {
  return max_pool("max_pool1d", input, max_pool_args(kernel_size, args));
}

ValuesIndices max_pool2d_with_indices(const Tensor& input, ExpandingArray<2> kernel_size, const MaxPool2dArgs& args) {
  return max_pool("max_pool2d", input, max_pool_args(kernel_size, args));
}

Tensor max_pool1d(const Tensor& input, ExpandingArray<1> kernel_size, const MaxPool1dArgs& args) {
  return max_pool1d_with_indices(input, kernel_size, args).values;
}

Tensor max_pool2d(const Tensor& input, ExpandingArray<2> kernel_size, const MaxPool2dArgs& args) {
  return max_pool2d_with_indices(input, kernel_size, args).values;
}

Tensor avg_pool1d(const Tensor& input, ExpandingArray<1> kernel_size, const AvgPool1dArgs& args) {
  PoolArgs a{1, kernel_size.dims(), args.stride.value_or(kernel_size).dims(), args.padding.dims(), Dims{1}, args.ceil_mode};
  return avg_pool("avg_pool1d", input, a, args.count_include_pad, std::nullopt);
}

Tensor avg_pool2d(const Tensor& input, ExpandingArray<2> kernel_size, const AvgPool2dArgs& args) {
  PoolArgs a{2, kernel_size.dims(), args.stride.value_or(kernel_size).dims(), args.padding.dims(), Dims{1, 1}, args.ceil_mode};
  return avg_pool("avg_pool2d", input, a, args.count_include_pad, args.divisor_override);
}

Tensor adaptive_avg_pool2d(const Tensor& input, ExpandingArray<2> output_size) {
  check_input("adaptive_avg_pool2d", input, 2, true);
  if (output_size[0] < 0 || output_size[1] < 0)
    fail<ValueError>("adaptive_avg_pool2d: output_size must be non-negative, got ", output_size.dims());
  auto map = std::make_shared<WindowAverage>();
  map->name = "adaptive_avg_pool2d";
  map->adjoint_name = "adaptive_avg_pool2d_backward";
  map->h = adaptive_windows(input.size(-2), output_size[0]);
  map->w = adaptive_windows(input.size(-1), output_size[1]);
  return run_plane_map<WindowAverage>(input, 2, std::move(map), output_size.values());
}

Tensor global_avg_pool2d(const Tensor& input) {
  check_input("global_avg_pool2d", input, 2, true);
  return mean(input, {-2, -1}, true);
}

const char* interpolate_mode_name(InterpolateMode mode) {
  switch (mode) {
    case InterpolateMode::Nearest: return "nearest";
    case InterpolateMode::Linear: return "linear";
    case InterpolateMode::Bilinear: return "bilinear";
  }
  return "";
}

Tensor interpolate(const Tensor& input, const InterpolateArgs& args) {
  const char* op = "interpolate";
  check_defined(op, input);
  int64_t spatial = input.dim() - 2;
  bool linear = args.mode != InterpolateMode::Nearest;
  if (spatial < 1 || spatial > 2 || (args.mode == InterpolateMode::Linear && spatial != 1) ||
      (args.mode == InterpolateMode::Bilinear && spatial != 2))
    fail<ShapeError>(op, ": mode ", interpolate_mode_name(args.mode), " expects ",
                     args.mode == InterpolateMode::Nearest ? "a 3-D [N, C, L] or 4-D [N, C, H, W]"
                     : args.mode == InterpolateMode::Linear ? "a 3-D [N, C, L]"
                                                            : "a 4-D [N, C, H, W]",
                     " input, got shape ", input.sizes());
  check_input(op, input, spatial, false);
  if (args.align_corners && !linear)
    fail<ValueError>(op, ": align_corners applies to the linear modes only, not to mode ", interpolate_mode_name(args.mode));
  if (args.size.empty() == args.scale_factor.empty())
    fail<ValueError>(op, ": give exactly one of size and scale_factor");
  size_t given = std::max(args.size.size(), args.scale_factor.size());
  if (given != 1 && given != static_cast<size_t>(spatial))
    fail<ValueError>(op, ": expected 1 or ", spatial, " output sizes or scale factors for input of shape ", input.sizes(), ", got ",
                     given);
  Tensor x = as_planes(input, spatial);
  std::array<int64_t, 2> out_hw{1, 1};
  std::array<std::optional<double>, 2> scale;
  for (int64_t d = 2 - spatial; d < 2; ++d) {
    size_t i = given == 1 ? 0 : static_cast<size_t>(d - (2 - spatial));
    if (args.size.empty()) {
      if (!(args.scale_factor[i] > 0)) fail<ValueError>(op, ": scale_factor must be positive, got ", args.scale_factor[i]);
      scale[d] = args.scale_factor[i];
      out_hw[d] = static_cast<int64_t>(static_cast<double>(x.size(2 + d)) * args.scale_factor[i]);
    } else {
      out_hw[d] = args.size[i];
    }
    if (out_hw[d] < 1)
      fail<ValueError>(op, ": the output of input shape ", input.sizes(), " would have size ", out_hw[d], " in dim ", d + spatial);
  }
  bool align = args.align_corners.value_or(false);
  auto map = std::make_shared<Interpolation>();
  map->name = "interpolate";
  map->adjoint_name = "interpolate_backward";
  for (int d = 0; d < 2; ++d) {
    int64_t in = x.size(2 + d);
    kernels::Taps& taps = d == 0 ? map->h : map->w;
    if (!linear || d < 2 - spatial) taps = nearest_taps(in, out_hw[d], scale[d]);  // 1-D inputs: the height stays 1
    else if (x.dtype() == DType::f64) taps = linear_taps<double>(in, out_hw[d], align, scale[d]);
    else taps = linear_taps<float>(in, out_hw[d], align, scale[d]);
  }
  return run_plane_map<Interpolation>(input, spatial, std::move(map), out_hw);
}

}  // namespace cajal
