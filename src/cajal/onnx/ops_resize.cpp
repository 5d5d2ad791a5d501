// Resize (and the older Upsample): resampling with every ONNX mode (nearest, linear,
// cubic) and coordinate transformation, as ONNX's reference implementation defines them; and
// GridSample, sampling at the positions a grid gives, as PyTorch's grid_sample.
//
// Each of these is separable: along one axis, every output position is a fixed weighted sum
// of a few input positions. So each resized axis becomes a small [out, in] weight matrix,
// built here in plain loops, and the tensor is multiplied by it along that axis (a matmul,
// differentiable like the rest of the graph). Axes are resampled from the last to the first,
// which is the order in which ONNX's recursive reference interpolates them.
#include <algorithm>
#include <cmath>

#include "cajal/onnx/import_ops.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/shape.h"

namespace cajal::onnx {

namespace {

struct ResizeMode {
  std::string mode = "nearest", transform = "half_pixel", nearest = "round_prefer_floor";
  double cubic_a = -0.75, extrapolation = 0.0;
  bool exclude_outside = false;
  double roi_start = 0, roi_end = 1;  // tf_crop_and_resize's region of this axis
};

// Where output position x samples the input of `in` positions, in input coordinates. As in
// ONNX's reference, the output's width here is in * scale, not rounded to a whole size.
double source_coordinate(const ResizeMode& m, double x, int64_t in, double scale) {
  const double width = scale * static_cast<double>(in), last = static_cast<double>(in - 1);
  if (m.transform == "align_corners") return width == 1 ? 0.0 : x * last / (width - 1);
  if (m.transform == "asymmetric") return x / scale;
  if (m.transform == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  if (m.transform == "pytorch_half_pixel") return width == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
  if (m.transform == "tf_crop_and_resize") {
    double span = (m.roi_end - m.roi_start) * last;
    return m.roi_start * last + (width == 1 ? span / 2 : x * span / (width - 1));
  }
  return (x + 0.5) / scale - 0.5;  // half_pixel
}

// The interpolation weights of the points around a coordinate, for its distance `ratio`
// in (0, 1] past the point on its left (ONNX's reference convention).
std::vector<double> coefficients(const ResizeMode& m, double ratio) {
  if (m.mode == "linear") return {1 - ratio, ratio};
  if (m.mode == "cubic") {
    double a = m.cubic_a, r = ratio, s = 1 - ratio;
    return {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a, ((a + 2) * r - (a + 3)) * r * r + 1,
            ((a + 2) * s - (a + 3)) * s * s + 1, ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a};
  }
  if (ratio == 1.0) return {0, 1};
  if (m.nearest == "round_prefer_ceil") return {ratio < 0.5 ? 1.0 : 0.0, ratio >= 0.5 ? 1.0 : 0.0};
  if (m.nearest == "floor") return {1, 0};
  if (m.nearest == "ceil") return {0, 1};
  return {ratio <= 0.5 ? 1.0 : 0.0, ratio > 0.5 ? 1.0 : 0.0};  // round_prefer_floor
}

// The [out, in] weights of one axis, and which output positions fall outside the input
// (tf_crop_and_resize gives those the extrapolation value).
void axis_weights(const ResizeMode& m, int64_t in, int64_t out, double scale, std::vector<double>& weights,
                  std::vector<bool>& outside) {
  weights.assign(static_cast<size_t>(out * in), 0.0);
  outside.assign(static_cast<size_t>(out), false);
  for (int64_t x = 0; x < out; ++x) {
    double src = source_coordinate(m, static_cast<double>(x), in, scale);
    if (m.transform == "tf_crop_and_resize" && (src < 0 || src > static_cast<double>(in - 1))) {
      outside[static_cast<size_t>(x)] = true;
      continue;
    }
    double left = std::floor(src);
    double ratio = src == left ? 1.0 : src - left;
    std::vector<double> coeffs = coefficients(m, ratio);
    const int64_t n = static_cast<int64_t>(coeffs.size());
    // The n input points nearest src (ties to the smaller index), in order: n/2 - 1 points
    // left of the one just before src, or n/2 left of src itself when it is a whole number.
    int64_t first = static_cast<int64_t>(left) - (ratio == 1.0 ? n / 2 : n / 2 - 1);
    double total = 0;
    for (int64_t k = 0; k < n; ++k) {
      int64_t index = first + k;
      if (m.exclude_outside && (index < 0 || index >= in)) coeffs[static_cast<size_t>(k)] = 0;
      total += coeffs[static_cast<size_t>(k)];
    }
    for (int64_t k = 0; k < n; ++k) {
      double c = m.exclude_outside ? coeffs[static_cast<size_t>(k)] / total : coeffs[static_cast<size_t>(k)];
      int64_t index = std::clamp<int64_t>(first + k, 0, in - 1);  // beyond the edge: the edge value
      weights[static_cast<size_t>(x * in + index)] += c;
    }
  }
}

// Resamples axis `axis` of x to `out` positions.
Tensor resize_axis(const Tensor& x, int64_t axis, int64_t out, double scale, const ResizeMode& m) {
  const int64_t in = x.size(axis);
  std::vector<double> weights;
  std::vector<bool> outside;
  axis_weights(m, in, out, scale, weights, outside);
  Tensor matrix = from_vector(weights, {out, in}).to(x.is_floating_point() ? x.dtype() : DType::f32);
  Tensor moved = x.transpose(axis, -1);
  Tensor y = matmul(x.is_floating_point() ? moved : moved.to(DType::f32), matrix.t());
  if (std::find(outside.begin(), outside.end(), true) != outside.end()) {
    std::vector<bool> mask_values = outside;
    Tensor mask = from_vector(std::vector<uint8_t>(mask_values.begin(), mask_values.end()), {out}).to(DType::boolean);
    y = where(mask, scalar_like(m.extrapolation, y), y);
  }
  y = y.transpose(axis, -1);
  return x.is_floating_point() ? y : round(y).to(x.dtype());
}

TensorList run_resize(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  ResizeMode m;
  m.mode = node.get_string("mode", "nearest");
  if (m.mode != "nearest" && m.mode != "linear" && m.mode != "cubic") node.unsupported("mode '" + m.mode + "'");
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  Tensor roi;
  if (node.op_type == "Upsample" || node.version < 11) {
    // Upsample and Resize-10: scales only, sampled at x / scale and rounded down.
    m.transform = "asymmetric";
    m.nearest = "floor";
    if (node.op_type == "Upsample" && node.version < 9) scales = node.get_floats("scales");
    else scales = in.at(1).to(DType::f64).to_vector<double>();
  } else {
    m.transform = node.get_string("coordinate_transformation_mode", "half_pixel");
    m.nearest = node.get_string("nearest_mode", "round_prefer_floor");
    m.cubic_a = node.get_float("cubic_coeff_a", -0.75);
    m.exclude_outside = node.get_int("exclude_outside", 0) != 0;
    m.extrapolation = node.get_float("extrapolation_value", 0.0);
    roi = optional_input(in, 1);
    if (optional_input(in, 3).defined() && in[3].numel() > 0) sizes = int_values(in[3]);
    else if (optional_input(in, 2).defined()) scales = in[2].to(DType::f64).to_vector<double>();
  }
  const int64_t rank = x.dim();
  if (!sizes.empty() ? static_cast<int64_t>(sizes.size()) != rank : static_cast<int64_t>(scales.size()) != rank)
    fail<ShapeError>(node.where(), ": needs one scale or size per dim of the input (", rank, ")");
  std::vector<double> roi_values;
  if (m.transform == "tf_crop_and_resize") {
    if (!roi.defined() || roi.numel() != 2 * rank) fail<ShapeError>(node.where(), ": tf_crop_and_resize needs roi with ", 2 * rank, " values");
    roi_values = roi.to(DType::f64).to_vector<double>();
  }
  Tensor y = x;
  for (int64_t axis = rank - 1; axis >= 0; --axis) {
    const int64_t size = x.size(axis);
    const size_t a = static_cast<size_t>(axis);
    int64_t out = sizes.empty() ? static_cast<int64_t>(std::floor(static_cast<double>(size) * scales[a])) : sizes[a];
    double scale = sizes.empty() ? scales[a] : static_cast<double>(out) / static_cast<double>(size);
    if (out < 0 || !(scale > 0)) fail<ValueError>(node.where(), ": scales and sizes must be positive");
    if (!roi_values.empty()) {
      m.roi_start = roi_values[a];
      m.roi_end = roi_values[a + static_cast<size_t>(rank)];
    } else if (out == size && scale == 1.0) {
      continue;  // an axis that keeps its size samples each position at itself
    }
    y = resize_axis(y, axis, out, scale, m);
  }
  return {y};
}

// ------------------------------------------------------------------ GridSample

struct GridAxis {
  int64_t size;
  bool align_corners;
  std::string padding;

  // A grid coordinate in [-1, 1] as a position in pixels.
  Tensor unnormalize(const Tensor& g) const {
    double n = static_cast<double>(size);
    return align_corners ? (g + 1.0) * ((n - 1) / 2) : ((g + 1.0) * n - 1.0) / 2;
  }
  // Border clamps a position into the image; reflection mirrors it at the edges (at the edge
  // pixels' centres with align_corners, at their outer borders without), then clamps.
  Tensor pad(const Tensor& p) const {
    double last = static_cast<double>(size - 1);
    if (padding == "border") return clamp(p, 0.0, last);
    if (padding != "reflection") return p;
    double low = align_corners ? 0.0 : -0.5, span = align_corners ? last : static_cast<double>(size);
    if (span <= 0) return zeros_like(p);
    Tensor d = abs(p - low);
    Tensor flips = floor(d / span);
    Tensor extra = d - flips * span;
    Tensor even = eq(flips - floor(flips / 2.0) * 2.0, 0.0);
    return clamp(where(even, extra + low, (span - extra) + low), 0.0, last);
  }
};

// GridSample on [N, C, H, W] input and an [N, H_out, W_out, 2] grid of (x, y) in [-1, 1]:
// each output is the input read at its grid position, from the nearest pixel, the 2 x 2
// (bilinear) or 4 x 4 (bicubic) around it with their interpolation weights. Reads outside the
// image are zeros, or the padding mode's positions.
TensorList run_grid_sample(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  const Tensor& grid = in.at(1);
  if (x.dim() != 4 || grid.dim() != 4 || grid.size(3) != 2 || grid.size(0) != x.size(0))
    fail<ShapeError>(node.where(), ": expects X [N, C, H, W] and grid [N, H_out, W_out, 2], got ", x.sizes(), " and ", grid.sizes());
  const std::string mode = node.get_string("mode", "bilinear");
  const bool align = node.get_int("align_corners", 0) != 0;
  const std::string padding = node.get_string("padding_mode", "zeros");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), ho = grid.size(1), wo = grid.size(2);
  GridAxis ax{w, align, padding}, ay{h, align, padding};
  Tensor px = ax.unnormalize(grid.select(3, 0)), py = ay.unnormalize(grid.select(3, 1));  // [N, H_out, W_out]
  if (mode != "bicubic") {  // bicubic pads each of its 16 reads instead
    px = ax.pad(px);
    py = ay.pad(py);
  }
  Tensor flat = x.reshape({n, c, h * w});
  // The input at whole-pixel positions (xi, yi), [N, C, H_out, W_out]; zero outside the image.
  auto read = [&](Tensor xi, Tensor yi) {
    if (mode == "bicubic") {
      xi = ax.pad(xi);
      yi = ay.pad(yi);
    }
    Tensor inside = logical_and(logical_and(ge(xi, 0.0), le(xi, static_cast<double>(w - 1))),
                                logical_and(ge(yi, 0.0), le(yi, static_cast<double>(h - 1))));
    Tensor index = (clamp(yi, 0.0, static_cast<double>(h - 1)) * static_cast<double>(w) + clamp(xi, 0.0, static_cast<double>(w - 1)))
                       .to(DType::i64).reshape({n, 1, ho * wo}).expand({n, c, ho * wo});
    Tensor values = gather(flat, 2, index).reshape({n, c, ho, wo});
    return where(inside.unsqueeze(1), values, zeros_like(values));
  };
  if (mode == "nearest") return {read(round(px), round(py))};
  Tensor x0 = floor(px), y0 = floor(py);
  Tensor tx = (px - x0).unsqueeze(1), ty = (py - y0).unsqueeze(1);
  if (mode == "bilinear") {
    return {read(x0, y0) * (1.0 - tx) * (1.0 - ty) + read(x0 + 1.0, y0) * tx * (1.0 - ty) +
            read(x0, y0 + 1.0) * (1.0 - tx) * ty + read(x0 + 1.0, y0 + 1.0) * tx * ty};
  }
  if (mode != "bicubic") node.unsupported("mode '" + mode + "'");
  // Cubic convolution (A = -0.75) weights of the 4 taps at offsets -1, 0, 1, 2 from floor.
  auto cubic = [](const Tensor& t) {
    const double a = -0.75;
    Tensor t1 = t + 1.0, s = 1.0 - t, s1 = s + 1.0;
    return TensorList{((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a, ((a + 2) * t - (a + 3)) * t * t + 1.0,
                      ((a + 2) * s - (a + 3)) * s * s + 1.0, ((a * s1 - 5 * a) * s1 + 8 * a) * s1 - 4 * a};
  };
  TensorList wx = cubic(tx), wy = cubic(ty);
  Tensor y;
  for (int64_t j = 0; j < 4; ++j) {
    for (int64_t i = 0; i < 4; ++i) {
      Tensor term = read(x0 + static_cast<double>(i - 1), y0 + static_cast<double>(j - 1)) * wx[static_cast<size_t>(i)] * wy[static_cast<size_t>(j)];
      y = y.defined() ? y + term : term;
    }
  }
  return {y};
}

}  // namespace

void register_resize_ops(OpTable& table) {
  table["Resize"] = {run_resize, 10};
  table["Upsample"] = {run_resize, 7};
  table["GridSample"] = {run_grid_sample, 16};
}

}  // namespace cajal::onnx
