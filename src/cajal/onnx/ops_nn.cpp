// Neural-network operators: Conv, ConvTranspose, MaxPool, AveragePool, the global pools,
// Batch/Instance/LayerNormalization, MeanVarianceNormalization, Gemm, MatMul,
// Softmax/LogSoftmax/Hardmax and the two losses (NegativeLogLikelihoodLoss,
// SoftmaxCrossEntropyLoss).
//
// cajal's convolutions and pools are 2-D (with 1-D conv as well); a 1-D ONNX node runs as a
// 2-D one over a height of 1, so one code path serves both. ONNX pads each side on its own
// (and auto_pad asks for SAME padding); cajal pads symmetrically, so uneven padding is
// applied to the input first with `pad`, which is differentiable too.
#include <cmath>
#include <limits>
#include <optional>

#include "cajal/kernels/cpu/conv_onednn.h"
#include "cajal/onnx/fast_inference.h"
#include "cajal/onnx/import_ops.h"
#include "cajal/ops/conv.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/norm.h"
#include "cajal/ops/pool.h"
#include "cajal/ops/shape.h"

namespace cajal::onnx {

namespace {

// ------------------------------------------------------------------ windows

// A convolution's or pool's window over two spatial dims (a 1-D node gets a leading dim of
// size 1): kernel, stride, dilation and the padding before and after each dim.
struct Window {
  std::array<int64_t, 2> kernel{1, 1}, stride{1, 1}, dilation{1, 1}, begin{0, 0}, end{0, 0};
  bool lifted = false;  // a 1-D node run in 2-D

  bool symmetric() const { return begin == end; }
  Tensor to_2d(const Tensor& x) const { return lifted ? x.unsqueeze(2) : x; }
  Tensor from_2d(const Tensor& y) const { return lifted ? y.squeeze(2) : y; }
  // x (2-D form) with the padding applied as `value`; the window then needs no padding.
  Tensor pad_input(const Tensor& x, double value) const {
    return pad(x, {begin[1], end[1], begin[0], end[0]}, PadMode::Constant, value);
  }
};

// The window of a node over input x ([N, C, spatial...]) with kernel size from the
// attribute or, for convolutions, the weight. auto_pad SAME_* pads so the output has
// ceil(input / stride) positions, the odd one after (UPPER) or before (LOWER).
Window window_of(const Node& node, const Dims& x, std::vector<int64_t> kernel) {
  const int64_t spatial = static_cast<int64_t>(x.size()) - 2;
  if (spatial != 1 && spatial != 2) node.unsupported(std::to_string(spatial) + "-D spatial input");
  if (node.has("kernel_shape")) kernel = node.get_ints("kernel_shape");
  auto per_dim = [&](const char* name, int64_t fallback) {
    std::vector<int64_t> v = node.get_ints(name);
    if (v.empty()) v.assign(static_cast<size_t>(spatial), fallback);
    if (static_cast<int64_t>(v.size()) != spatial) fail<ShapeError>(node.where(), ": ", name, " must have ", spatial, " values");
    return v;
  };
  if (static_cast<int64_t>(kernel.size()) != spatial) fail<ShapeError>(node.where(), ": kernel_shape must have ", spatial, " values");
  std::vector<int64_t> stride = per_dim("strides", 1), dilation = per_dim("dilations", 1);
  std::vector<int64_t> pads = node.get_ints("pads");
  if (pads.empty()) pads.assign(static_cast<size_t>(2 * spatial), 0);
  if (static_cast<int64_t>(pads.size()) != 2 * spatial) fail<ShapeError>(node.where(), ": pads must have ", 2 * spatial, " values");
  std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  Window w;
  w.lifted = spatial == 1;
  const size_t first = w.lifted ? 1 : 0;  // where the node's dims go in the 2-D window
  for (size_t k = 0; k < static_cast<size_t>(spatial); ++k) {
    size_t d = first + k;
    w.kernel[d] = kernel[k];
    w.stride[d] = stride[k];
    w.dilation[d] = dilation[k];
    if (kernel[k] < 1 || stride[k] < 1 || dilation[k] < 1) fail<ValueError>(node.where(), ": kernel, strides and dilations must be positive");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t in = x[2 + k];
      int64_t out = (in + stride[k] - 1) / stride[k];
      int64_t total = std::max<int64_t>(0, (out - 1) * stride[k] + (kernel[k] - 1) * dilation[k] + 1 - in);
      w.begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.end[d] = total - w.begin[d];
    } else if (auto_pad == "NOTSET") {
      w.begin[d] = pads[k];
      w.end[d] = pads[k + static_cast<size_t>(spatial)];
    } else if (auto_pad != "VALID") {
      fail<IOError>(node.where(), ": unknown auto_pad '", auto_pad, "'");
    }
  }
  return w;
}

std::vector<int64_t> kernel_of_weight(const Tensor& weight) {
  std::vector<int64_t> kernel;
  for (int64_t d = 2; d < weight.dim(); ++d) kernel.push_back(weight.size(d));
  return kernel;
}

// ------------------------------------------------------------------ convolutions

}  // namespace

// Also run by ConvInteger and QLinearConv (ops_quantize.cpp) on dequantized values.
TensorList run_conv(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  const Tensor& weight = in.at(1);
  Window w = window_of(node, x.sizes(), kernel_of_weight(weight));
  Tensor input = w.to_2d(x);
  Conv2dArgs args{.stride = {w.stride[0], w.stride[1]}, .padding = 0, .dilation = {w.dilation[0], w.dilation[1]},
                  .groups = node.get_int("group", 1)};
  if (w.symmetric()) args.padding = ExpandingArray<2>({w.begin[0], w.begin[1]});
  else input = w.pad_input(input, 0.0);
  return {w.from_2d(conv2d(input, w.to_2d(weight), optional_input(in, 2), args))};
}

namespace {

// ConvTranspose over 3 or more spatial dims, which cajal's kernels (2-D) lack: each kernel
// offset k contributes x's channels times w[:, :, k] (a matmul over channels), spread out by
// the stride (zeros between) and shifted by k * dilation; the contributions add up to the
// unpadded output, which is then cropped by the pads and extended by output_padding.
Tensor conv_transpose_by_offsets(const Node& node, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const int64_t spatial = x.dim() - 2;
  if (node.get_int("group", 1) != 1) node.unsupported("group on 3-D input");
  if (node.has("output_shape") || node.get_string("auto_pad", "NOTSET") != "NOTSET") node.unsupported("output_shape or auto_pad on 3-D input");
  auto per_dim = [&](const char* name, int64_t fallback, int64_t count) {
    std::vector<int64_t> v = node.get_ints(name);
    if (v.empty()) v.assign(static_cast<size_t>(count), fallback);
    if (static_cast<int64_t>(v.size()) != count) fail<ShapeError>(node.where(), ": ", name, " must have ", count, " values");
    return v;
  };
  std::vector<int64_t> strides = per_dim("strides", 1, spatial), dilations = per_dim("dilations", 1, spatial),
                       pads = per_dim("pads", 0, 2 * spatial), extra = per_dim("output_padding", 0, spatial);
  if (weight.dim() != x.dim() || weight.size(0) != x.size(1)) fail<ShapeError>(node.where(), ": W must be [C, M, k...] for X ", x.sizes());
  Dims channels_last{0};
  for (int64_t d = 2; d < x.dim(); ++d) channels_last.push_back(d);
  channels_last.push_back(1);
  Tensor xc = x.permute(channels_last);  // [N, spatial..., C]
  int64_t offsets = 1;
  for (int64_t d = 0; d < spatial; ++d) offsets *= weight.size(2 + d);
  Tensor y;
  for (int64_t o = 0; o < offsets; ++o) {
    Tensor w = weight;  // w[:, :, k] for this offset k
    std::vector<int64_t> k(static_cast<size_t>(spatial));
    for (int64_t d = spatial - 1, rest = o; d >= 0; rest /= weight.size(2 + d), --d) k[static_cast<size_t>(d)] = rest % weight.size(2 + d);
    for (int64_t d = spatial - 1; d >= 0; --d) w = w.select(2 + d, k[static_cast<size_t>(d)]);
    Tensor t = matmul(xc, w);  // [N, spatial..., M]
    Dims back{0, x.dim() - 1};
    for (int64_t d = 1; d < x.dim() - 1; ++d) back.push_back(d);
    t = t.permute(back);  // [N, M, spatial...]
    for (int64_t d = 0; d < spatial; ++d) {
      const size_t i = static_cast<size_t>(d);
      const int64_t dim = 2 + d, in = t.size(dim), s = strides[i];
      if (s > 1) {
        // Stride: s - 1 zeros after each element (a new dim of s, flattened), the trailing ones dropped.
        Tensor column = t.unsqueeze(dim + 1);
        Dims zeros_shape(column.sizes());
        zeros_shape[static_cast<size_t>(dim + 1)] = s - 1;
        Dims merged(t.sizes());
        merged[static_cast<size_t>(dim)] = in * s;
        t = cat({column, zeros(zeros_shape, {.dtype = t.dtype()})}, dim + 1).reshape(merged).narrow(dim, 0, (in - 1) * s + 1);
      }
      int64_t full = s * (in - 1) + (weight.size(dim) - 1) * dilations[i] + 1, shift = k[i] * dilations[i];
      Dims placement(static_cast<size_t>(2 * (t.dim() - 1 - dim)), 0);  // pads of the dims after `dim`
      placement.push_back(shift);
      placement.push_back(full - shift - t.size(dim));
      t = pad(t, placement);
    }
    y = y.defined() ? y + t : t;
  }
  Dims crop;
  for (int64_t d = spatial - 1; d >= 0; --d) {
    crop.push_back(-pads[static_cast<size_t>(d)]);
    crop.push_back(extra[static_cast<size_t>(d)] - pads[static_cast<size_t>(d + spatial)]);
  }
  y = pad(y, crop);
  if (bias.defined()) {
    Dims shape(static_cast<size_t>(y.dim()), 1);
    shape[1] = -1;
    y = y + bias.reshape(shape);
  }
  return y;
}

// ConvTranspose: the transposed convolution without padding, then ONNX's pads (or the
// padding that output_shape implies) cropped away and output_padding added after, in one
// `pad` with negative amounts; the bias last.
TensorList run_conv_transpose(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  const Tensor& weight = in.at(1);
  if (x.dim() > 4) return {conv_transpose_by_offsets(node, x, weight, optional_input(in, 2))};
  Window w = window_of(node, x.sizes(), kernel_of_weight(weight));
  std::vector<int64_t> output_padding = node.get_ints("output_padding"), output_shape = node.get_ints("output_shape");
  const size_t spatial = w.lifted ? 1 : 2, first = w.lifted ? 1 : 0;
  for (const auto* list : {&output_padding, &output_shape})
    if (!list->empty() && list->size() != spatial) fail<ShapeError>(node.where(), ": output_padding and output_shape must have ", spatial, " values");
  std::array<int64_t, 2> extra{0, 0};
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  for (size_t k = 0; k < spatial; ++k) {
    size_t d = first + k;
    if (!output_padding.empty()) extra[d] = output_padding[k];
    int64_t in_size = x.size(2 + static_cast<int64_t>(k));
    int64_t full = w.stride[d] * (in_size - 1) + extra[d] + (w.kernel[d] - 1) * w.dilation[d] + 1;
    // The requested size (output_shape, or input * stride for SAME) fixes the total padding,
    // which may be negative (the output grows); split with floor division as ONNX's formula.
    std::optional<int64_t> target;
    if (!output_shape.empty()) target = output_shape[k];
    else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") target = in_size * w.stride[d];
    if (!target) continue;
    int64_t total = full - *target;
    int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
    w.begin[d] = auto_pad == "SAME_UPPER" ? half : total - half;
    w.end[d] = total - w.begin[d];
  }
  ConvTranspose2dArgs args{.stride = {w.stride[0], w.stride[1]}, .padding = 0, .output_padding = 0,
                           .groups = node.get_int("group", 1), .dilation = {w.dilation[0], w.dilation[1]}};
  Tensor y = conv_transpose2d(w.to_2d(x), w.to_2d(weight), {}, args);
  y = pad(y, {-w.begin[1], extra[1] - w.end[1], -w.begin[0], extra[0] - w.end[0]});
  if (const Tensor& bias = optional_input(in, 2); bias.defined()) y = y + bias.reshape({1, -1, 1, 1});
  return {w.from_2d(y)};
}

// ------------------------------------------------------------------ pools

// Pools over 3 or more spatial dims, which cajal's pooling kernels (1-D and 2-D) lack: the
// max (or the sum) over the kernel's offsets of strided slices of the padded input, one
// slice per offset. Average pools divide by the count of input elements each window holds
// (the same sum over a padded mask of ones) unless count_include_pad.
Tensor pool_by_slices(const Node& node, const Tensor& x, bool is_max) {
  const int64_t spatial = x.dim() - 2;
  std::vector<int64_t> kernel = node.get_ints("kernel_shape"), strides = node.get_ints("strides"), dilations = node.get_ints("dilations"),
                       pads = node.get_ints("pads");
  if (strides.empty()) strides.assign(static_cast<size_t>(spatial), 1);
  if (dilations.empty()) dilations.assign(static_cast<size_t>(spatial), 1);
  if (pads.empty()) pads.assign(static_cast<size_t>(2 * spatial), 0);
  if (static_cast<int64_t>(kernel.size()) != spatial || static_cast<int64_t>(strides.size()) != spatial ||
      static_cast<int64_t>(dilations.size()) != spatial || static_cast<int64_t>(pads.size()) != 2 * spatial)
    fail<ShapeError>(node.where(), ": kernel_shape, strides, dilations and pads must give each of the ", spatial, " spatial dims");
  if (node.get_string("auto_pad", "NOTSET") != "NOTSET") node.unsupported("auto_pad on 3-D input");
  if (node.get_int("ceil_mode", 0) != 0) node.unsupported("ceil_mode on 3-D input");
  Dims torch_pads;  // (begin, end) from the last dim backwards
  for (int64_t d = spatial - 1; d >= 0; --d) {
    torch_pads.push_back(pads[static_cast<size_t>(d)]);
    torch_pads.push_back(pads[static_cast<size_t>(d + spatial)]);
  }
  Tensor padded = pad(x, torch_pads, PadMode::Constant, is_max ? -std::numeric_limits<double>::infinity() : 0.0);
  bool exclude_pad = !is_max && node.get_int("count_include_pad", 0) == 0;
  Tensor mask = exclude_pad ? pad(ones(x.sizes(), {.dtype = x.dtype()}), torch_pads) : Tensor();
  std::vector<int64_t> out(static_cast<size_t>(spatial));
  int64_t offsets = 1;
  for (int64_t d = 0; d < spatial; ++d) {
    size_t k = static_cast<size_t>(d);
    out[k] = (padded.size(2 + d) - ((kernel[k] - 1) * dilations[k] + 1)) / strides[k] + 1;
    if (out[k] < 1 || kernel[k] < 1 || strides[k] < 1 || dilations[k] < 1) fail<ShapeError>(node.where(), ": the window does not fit the input");
    offsets *= kernel[k];
  }
  Tensor result, count;
  for (int64_t o = 0; o < offsets; ++o) {
    Tensor window = padded, window_mask = mask;
    for (int64_t d = spatial - 1, rest = o; d >= 0; rest /= kernel[static_cast<size_t>(d)], --d) {
      size_t k = static_cast<size_t>(d);
      int64_t start = (rest % kernel[k]) * dilations[k];
      window = window.slice(2 + d, start, start + (out[k] - 1) * strides[k] + 1, strides[k]);
      if (mask.defined()) window_mask = window_mask.slice(2 + d, start, start + (out[k] - 1) * strides[k] + 1, strides[k]);
    }
    result = !result.defined() ? window : is_max ? maximum(result, window) : result + window;
    if (mask.defined()) count = count.defined() ? count + window_mask : window_mask;
  }
  if (is_max) return result;
  return mask.defined() ? result / count : result / static_cast<double>(offsets);
}

// MaxPool; its optional Indices output is the position of each maximum in the whole
// input flattened, as ONNX defines it (cajal's is within each [H, W] plane).
TensorList run_max_pool(const Node& node, const TensorList& in) {
  // cajal pools floating point: integer inputs (uint8 images) go through float64, exactly.
  if (!in.at(0).is_floating_point()) {
    TensorList out = run_max_pool(node, {in[0].to(DType::f64)});
    out[0] = out[0].to(in[0].dtype());
    return out;
  }
  const Tensor& x = in.at(0);
  if (x.dim() > 4) {
    if (node.outputs.size() > 1 && !node.outputs[1].empty()) node.unsupported("Indices of a 3-D MaxPool");
    return {pool_by_slices(node, x, true)};
  }
  Window w = window_of(node, x.sizes(), {});
  bool ceil_mode = node.get_int("ceil_mode", 0) != 0;
  Tensor input = w.to_2d(x);
  bool padded_here = !w.symmetric() || w.begin[0] * 2 > w.kernel[0] || w.begin[1] * 2 > w.kernel[1];
  MaxPool2dArgs args{.stride = ExpandingArray<2>({w.stride[0], w.stride[1]}), .padding = 0,
                     .dilation = {w.dilation[0], w.dilation[1]}, .ceil_mode = ceil_mode};
  if (padded_here) input = w.pad_input(input, -std::numeric_limits<double>::infinity());
  else args.padding = ExpandingArray<2>({w.begin[0], w.begin[1]});
  bool want_indices = node.outputs.size() > 1 && !node.outputs[1].empty();
  if (!want_indices) return {w.from_2d(max_pool2d(input, {w.kernel[0], w.kernel[1]}, args))};
  if (padded_here) node.unsupported("Indices with uneven padding");
  ValuesIndices pooled = max_pool2d_with_indices(input, {w.kernel[0], w.kernel[1]}, args);
  const int64_t height = input.size(2), width = input.size(3);
  Tensor index = pooled.indices;  // h * W + w within the plane
  if (node.get_int("storage_order", 0) != 0) {  // column-major planes: w * H + h
    Tensor row = floor(index.to(DType::f64) / static_cast<double>(width)).to(DType::i64);
    index = (index - row * width) * height + row;
  }
  Tensor offsets = arange(input.size(0) * input.size(1)).reshape({input.size(0), input.size(1), 1, 1}) * (height * width);
  return {w.from_2d(pooled.values), w.from_2d(index + offsets)};
}

// AveragePool: with count_include_pad=0 (ONNX's default) each window divides by the number
// of input elements it covers, which is the same pool applied to a mask of ones.
TensorList run_average_pool(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  if (x.dim() > 4) return {pool_by_slices(node, x, false)};
  Window w = window_of(node, x.sizes(), {});
  if (w.dilation != std::array<int64_t, 2>{1, 1}) node.unsupported("dilations");
  bool include_pad = node.get_int("count_include_pad", 0) != 0;
  bool ceil_mode = node.get_int("ceil_mode", 0) != 0;
  AvgPool2dArgs args{.stride = ExpandingArray<2>({w.stride[0], w.stride[1]}), .padding = 0, .ceil_mode = ceil_mode,
                     .count_include_pad = include_pad};
  Tensor input = w.to_2d(x);
  bool padded_here = !w.symmetric() || w.begin[0] * 2 > w.kernel[0] || w.begin[1] * 2 > w.kernel[1];
  if (!padded_here) {
    args.padding = ExpandingArray<2>({w.begin[0], w.begin[1]});
    return {w.from_2d(avg_pool2d(input, {w.kernel[0], w.kernel[1]}, args))};
  }
  args.count_include_pad = true;
  Tensor sums = avg_pool2d(w.pad_input(input, 0.0), {w.kernel[0], w.kernel[1]}, args);
  if (include_pad) return {w.from_2d(sums)};
  Tensor mask = w.pad_input(ones({1, 1, input.size(2), input.size(3)}, {.dtype = x.dtype()}), 0.0);
  return {w.from_2d(sums / avg_pool2d(mask, {w.kernel[0], w.kernel[1]}, args))};
}

Dims spatial_dims(const Tensor& x) {
  Dims dims;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

TensorList run_global_average_pool(const Node&, const TensorList& in) {
  return {mean(in.at(0), spatial_dims(in[0]), true)};
}

TensorList run_global_max_pool(const Node&, const TensorList& in) {
  Tensor y = in.at(0);
  for (int64_t d : spatial_dims(y)) y = max(y, d, true).values;
  return {y};
}

// MaxUnpool: each value put back at the position its MaxPool Indices output recorded
// (flattened over the whole unpooled tensor), zeros elsewhere. A larger output_shape adds
// zeros after the unpooled tensor's positions, which keep their coordinates.
TensorList run_max_unpool(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  Window w = window_of(node, x.sizes(), {});
  Dims shape{x.size(0), x.size(1)};
  const size_t first = w.lifted ? 1 : 0;
  for (int64_t k = 0; k < x.dim() - 2; ++k) {
    size_t d = first + static_cast<size_t>(k);
    shape.push_back((x.size(2 + k) - 1) * w.stride[d] - w.begin[d] - w.end[d] + w.kernel[d]);
  }
  Tensor flat = zeros({numel_of(shape)}, {.dtype = x.dtype()});
  Tensor y = scatter(flat, 0, in.at(1).reshape({-1}), x.reshape({-1})).reshape(shape);
  if (!optional_input(in, 2).defined()) return {y};
  std::vector<int64_t> target = int_values(in[2]);
  if (static_cast<int64_t>(target.size()) != y.dim()) fail<ShapeError>(node.where(), ": output_shape must have ", y.dim(), " values");
  Dims pads;
  for (int64_t d = y.dim() - 1; d >= 0; --d) {
    pads.push_back(0);
    pads.push_back(target[static_cast<size_t>(d)] - y.size(d));
  }
  return {pad(y, pads)};
}

// ------------------------------------------------------------------ normalization

// LRN: x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels)^beta. The
// sums are an average pool of x^2 over a (size x 1) window of the channels (a fresh
// dim 1 of one channel), times size.
TensorList run_lrn(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t size = node.get_int("size", 0);
  if (size < 1) fail<ValueError>(node.where(), ": size must be positive");
  double alpha = node.get_float("alpha", 1e-4), beta = node.get_float("beta", 0.75), bias = node.get_float("bias", 1.0);
  Tensor squares = (x * x).reshape({x.size(0), 1, x.size(1), -1});
  Tensor padded = pad(squares, {0, 0, (size - 1) / 2, size / 2});
  Tensor sums = avg_pool2d(padded, {size, 1}, {.stride = ExpandingArray<2>({1, 1})}) * static_cast<double>(size);
  return {x / pow(sums.reshape(x.sizes()) * (alpha / static_cast<double>(size)) + bias, beta)};
}

// BatchNormalization: with the given statistics, or with training_mode=1 the batch's own
// (biased variance), returning also the updated running statistics, which in ONNX keep
// `momentum` of the old value: running * momentum + batch * (1 - momentum).
TensorList run_batch_norm(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  double eps = node.get_float("epsilon", 1e-5);
  if (node.get_int("training_mode", 0) == 0) return {batch_norm(x, in.at(3), in.at(4), in.at(1), in.at(2), false, 0.0, eps)};
  Dims dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  double momentum = node.get_float("momentum", 0.9);
  Tensor y = batch_norm(x, {}, {}, in.at(1), in.at(2), true, 0.0, eps);
  Tensor batch_mean = mean(x, dims), batch_var = var(x, dims, false);
  return {y, in.at(3) * momentum + batch_mean * (1 - momentum), in.at(4) * momentum + batch_var * (1 - momentum)};
}

// InstanceNormalization over any number of spatial dims: flattened to one.
TensorList run_instance_norm(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  Tensor flat = x.reshape({x.size(0), x.size(1), -1});
  Tensor y = instance_norm(flat, {}, {}, in.at(1), in.at(2), true, 0.1, node.get_float("epsilon", 1e-5));
  return {y.reshape(x.sizes())};
}

// LayerNormalization over the dims from `axis` on. The scale and bias may be any shape that
// broadcasts to those dims. The optional Mean and InvStdDev outputs are computed when asked.
TensorList run_layer_norm(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t axis = onnx_axis(node, node.get_int("axis", -1), x.dim());
  double eps = node.get_float("epsilon", 1e-5);
  Dims normalized, dims;
  for (int64_t d = axis; d < x.dim(); ++d) {
    normalized.push_back(x.size(d));
    dims.push_back(d);
  }
  auto full = [&](const Tensor& t) { return t.defined() && t.sizes() != normalized ? t.expand(normalized) : t; };
  TensorList out = {layer_norm(x, normalized, full(in.at(1)), full(optional_input(in, 2)), eps)};
  if (node.outputs.size() > 1) {
    Tensor m = mean(x, dims, true);
    Tensor centered = x - m;
    out.push_back(m);
    out.push_back(rsqrt(mean(centered * centered, dims, true) + eps));
  }
  return out;
}

// (x - mean) / (std + 1e-9) over `axes` (default N, H, W), the ONNX function's definition.
TensorList run_mean_variance_norm(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  Dims dims;
  for (int64_t a : node.get_ints("axes", {0, 2, 3})) dims.push_back(onnx_axis(node, a, x.dim()));
  Tensor centered = x - mean(x, dims, true);
  return {centered / (sqrt(mean(centered * centered, dims, true)) + 1e-9)};
}

// ------------------------------------------------------------------ products

// Gemm: alpha * A' B' + beta * C, with A' and B' optionally transposed (views, no copies).
TensorList run_gemm(const Node& node, const TensorList& in) {
  Tensor a = node.get_int("transA", 0) ? in.at(0).t() : in.at(0);
  Tensor b = node.get_int("transB", 0) ? in.at(1).t() : in.at(1);
  double alpha = node.get_float("alpha", 1.0), beta = node.get_float("beta", 1.0);
  Tensor y = matmul(a, b);
  if (alpha != 1.0) y = y * alpha;
  if (const Tensor& c = optional_input(in, 2); c.defined()) y = y + (beta == 1.0 ? c : c * beta);
  return {y};
}

TensorList run_matmul(const Node&, const TensorList& in) { return {matmul(in.at(0), in.at(1))}; }

// Det of each [M, M] matrix in the last two dims, by Gaussian elimination with partial
// pivoting in float64. Plain loops: the result carries no gradient (cajal has no
// determinant op to differentiate).
TensorList run_det(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  if (x.dim() < 2 || x.size(-1) != x.size(-2)) fail<ShapeError>(node.where(), ": expects [..., M, M], got ", x.sizes());
  const int64_t m = x.size(-1);
  std::vector<double> a = x.contiguous().to_vector<double>();
  std::vector<double> dets;
  for (size_t base = 0; base < a.size(); base += static_cast<size_t>(m * m)) {
    double det = 1;
    auto at = [&](int64_t r, int64_t c) -> double& { return a[base + static_cast<size_t>(r * m + c)]; };
    for (int64_t col = 0; col < m && det != 0; ++col) {
      int64_t pivot = col;
      for (int64_t r = col + 1; r < m; ++r)
        if (std::abs(at(r, col)) > std::abs(at(pivot, col))) pivot = r;
      if (pivot != col) {
        for (int64_t c = 0; c < m; ++c) std::swap(at(pivot, c), at(col, c));
        det = -det;
      }
      det *= at(col, col);
      if (at(col, col) == 0) break;
      for (int64_t r = col + 1; r < m; ++r) {
        double f = at(r, col) / at(col, col);
        for (int64_t c = col; c < m; ++c) at(r, c) -= f * at(col, c);
      }
    }
    dets.push_back(det);
  }
  return {from_vector(dets, {static_cast<int64_t>(dets.size())}).reshape(Dims(x.sizes().begin(), x.sizes().end() - 2)).to(x.dtype())};
}

// Einsum, the general way: each operand's repeated letters become its diagonal, every operand
// is laid out over all the equation's letters (size 1 where it lacks one), their broadcast
// product is summed over the letters the output lacks and put in the output's order. An
// ellipsis stands for the same broadcast dims in every term, named here by the characters
// 1, 2, ... (not letters).
TensorList run_einsum(const Node& node, const TensorList& in) {
  std::string equation;
  for (char c : node.get_string("equation", "")) if (c != ' ') equation += c;
  size_t arrow = equation.find("->");
  std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != in.size()) fail<ShapeError>(node.where(), ": the equation has ", terms.size(), " operands, the node ", in.size());
  // Each term as one character per dim, its ellipsis expanded (right-aligned across terms).
  int64_t ellipsis = 0;
  for (size_t k = 0; k < terms.size(); ++k) {
    int64_t letters = static_cast<int64_t>(terms[k].size()) - (terms[k].find("...") != std::string::npos ? 3 : 0);
    if (terms[k].find("...") != std::string::npos) ellipsis = std::max(ellipsis, in[k].dim() - letters);
  }
  auto expand = [&](const std::string& term, int64_t rank) {
    size_t dots = term.find("...");
    if (dots == std::string::npos) return term;
    std::string named;
    for (int64_t e = ellipsis - rank; e < ellipsis; ++e) named += static_cast<char>(1 + e);
    return term.substr(0, dots) + named + term.substr(dots + 3);
  };
  std::string all;  // every dim name, the ellipsis's first
  for (int64_t e = 0; e < ellipsis; ++e) all += static_cast<char>(1 + e);
  TensorList laid_out;
  for (size_t k = 0; k < terms.size(); ++k) {
    Tensor x = in[k];
    int64_t letters = static_cast<int64_t>(terms[k].size()) - (terms[k].find("...") != std::string::npos ? 3 : 0);
    std::string names = expand(terms[k], x.dim() - letters);
    if (static_cast<int64_t>(names.size()) != x.dim()) fail<ShapeError>(node.where(), ": operand ", k, " has rank ", x.dim(), ", the equation says ", names.size());
    // A letter given twice: keep the diagonal (multiply by the identity, sum one copy away).
    for (size_t p = 0; p < names.size(); ++p) {
      for (size_t q = names.size(); q-- > p + 1;) {
        if (names[q] != names[p]) continue;
        Dims shape(static_cast<size_t>(x.dim()), 1);
        shape[p] = x.size(static_cast<int64_t>(p));
        shape[q] = x.size(static_cast<int64_t>(q));
        x = sum(x * eye(x.size(static_cast<int64_t>(p)), std::nullopt, {.dtype = x.dtype()}).reshape(shape), {static_cast<int64_t>(q)});
        names.erase(q, 1);
      }
    }
    for (char c : names) if (all.find(c) == std::string::npos) all += c;
    laid_out.push_back(x);
    terms[k] = names;
  }
  std::string output;
  if (arrow != std::string::npos) {
    output = expand(equation.substr(arrow + 2), ellipsis);
  } else {  // implicit: the ellipsis, then the letters used once, in alphabetical order
    for (int64_t e = 0; e < ellipsis; ++e) output += static_cast<char>(1 + e);
    std::string once;
    for (char c : all)
      if (c > 32 && std::count(lhs.begin(), lhs.end(), c) == 1) once += c;
    std::sort(once.begin(), once.end());
    output += once;
  }
  Tensor product;
  for (size_t k = 0; k < laid_out.size(); ++k) {
    // Permute the operand's dims into `all`'s order, then give it a size-1 dim for each letter it lacks.
    Dims order, shape;
    for (char c : all) {
      size_t at = terms[k].find(c);
      if (at != std::string::npos) order.push_back(static_cast<int64_t>(at));
    }
    Tensor x = laid_out[k].permute(order);
    for (size_t a = 0, next = 0; a < all.size(); ++a)
      shape.push_back(terms[k].find(all[a]) != std::string::npos ? x.size(static_cast<int64_t>(next++)) : 1);
    x = x.reshape(shape);
    product = product.defined() ? product * x : x;
  }
  Dims summed, order;
  for (size_t a = 0; a < all.size(); ++a)
    if (output.find(all[a]) == std::string::npos) summed.push_back(static_cast<int64_t>(a));
  Tensor y = summed.empty() ? product : sum(product, summed);
  std::string remaining;
  for (char c : all) if (output.find(c) != std::string::npos) remaining += c;
  for (char c : output) order.push_back(static_cast<int64_t>(remaining.find(c)));
  return {y.permute(order)};
}

// ------------------------------------------------------------------ softmax family

// Before version 13 these ops flattened the input to a matrix at `axis` (default 1) and
// worked on its rows; since 13 they work along the one dim `axis` (default -1).
template <typename Along>
Tensor along_axis(const Node& node, const Tensor& x, Along along) {
  if (node.version >= 13) return along(x, onnx_axis(node, node.get_int("axis", -1), x.dim()));
  int64_t axis = onnx_axis(node, node.get_int("axis", 1), x.dim());
  int64_t rows = 1, cols = 1;
  for (int64_t d = 0; d < x.dim(); ++d) (d < axis ? rows : cols) *= x.size(d);
  return along(x.reshape({rows, cols}), 1).reshape(x.sizes());
}

TensorList run_softmax(const Node& node, const TensorList& in) {
  return {along_axis(node, in.at(0), [](const Tensor& x, int64_t d) { return softmax(x, d); })};
}

TensorList run_log_softmax(const Node& node, const TensorList& in) {
  return {along_axis(node, in.at(0), [](const Tensor& x, int64_t d) { return log_softmax(x, d); })};
}

// Hardmax: 1 at the first largest element along the axis, 0 elsewhere.
TensorList run_hardmax(const Node& node, const TensorList& in) {
  return {along_axis(node, in.at(0), [](const Tensor& x, int64_t d) {
    Dims shape(static_cast<size_t>(x.dim()), 1);
    shape[static_cast<size_t>(d)] = x.size(d);
    return eq(argmax(x, d, true), arange(x.size(d)).reshape(shape)).to(x.dtype());
  })};
}

// ------------------------------------------------------------------ losses

Reduction reduction_of(const Node& node) {
  std::string r = node.get_string("reduction", "mean");
  if (r == "mean") return Reduction::Mean;
  if (r == "sum") return Reduction::Sum;
  if (r == "none") return Reduction::None;
  fail<IOError>(node.where(), ": unknown reduction '", r, "'");
}

// NLL of log-probabilities; without ignore_index no target is ignored.
Tensor onnx_nll(const Node& node, const Tensor& log_prob, const Tensor& target, const Tensor& weight) {
  NLLLossOptions options{.weight = weight,
                         .ignore_index = node.get_int("ignore_index", std::numeric_limits<int64_t>::min()),
                         .reduction = reduction_of(node)};
  return nll_loss(log_prob, target.to(DType::i64), options);
}

TensorList run_nll_loss(const Node& node, const TensorList& in) {
  return {onnx_nll(node, in.at(0), in.at(1), optional_input(in, 2))};
}

TensorList run_softmax_cross_entropy(const Node& node, const TensorList& in) {
  Tensor log_prob = log_softmax(in.at(0), 1);
  return {onnx_nll(node, log_prob, in.at(1), optional_input(in, 2)), log_prob};
}

}  // namespace

// ------------------------------------------------------------------ oneDNN's view (fast_inference.h)

std::optional<kernels::ConvGeometry> conv2d_geometry(const Node& node, const Dims& x, const Dims& weight) {
  if (x.size() != 4 || weight.size() != 4) return std::nullopt;
  try {
    const Window w = window_of(node, x, {weight[2], weight[3]});
    kernels::ConvGeometry g;
    g.batch = x[0];
    g.in_channels = x[1];
    g.out_channels = weight[0];
    g.groups = node.get_int("group", 1);
    if (g.groups < 1 || g.in_channels != weight[1] * g.groups || g.out_channels % g.groups != 0) return std::nullopt;
    for (size_t d = 0; d < 2; ++d) {
      g.in_size[d] = x[2 + d];
      g.kernel[d] = w.kernel[d];
      g.stride[d] = w.stride[d];
      g.dilation[d] = w.dilation[d];
      g.pad[d] = w.begin[d];
      g.out_size[d] = (g.in_size[d] + w.begin[d] + w.end[d] - (g.kernel[d] - 1) * g.dilation[d] - 1) / g.stride[d] + 1;
      if (g.out_size[d] < 1) return std::nullopt;
    }
    if (!kernels::onednn::supports(g, DType::f32)) return std::nullopt;
    return g;
  } catch (const Error&) {
    return std::nullopt;  // the node's usual run says what is wrong
  }
}

std::optional<kernels::onednn::PoolWindow> pool2d_window(const Node& node, const Dims& x) {
  if (x.size() != 4) return std::nullopt;
  kernels::onednn::PoolWindow p;
  if (node.op_type == "GlobalAveragePool" || node.op_type == "GlobalMaxPool") {
    p.max = node.op_type == "GlobalMaxPool";
    p.kernel = {x[2], x[3]};
    p.stride = {1, 1};
    return p;
  }
  if (node.get_int("ceil_mode", 0) != 0 || node.outputs.size() > 1) return std::nullopt;  // no Indices output
  try {
    const Window w = window_of(node, x, {});
    if (w.dilation != std::array<int64_t, 2>{1, 1}) return std::nullopt;
    p.max = node.op_type == "MaxPool";
    p.count_padding = node.get_int("count_include_pad", 0) != 0;
    p.kernel = w.kernel;
    p.stride = w.stride;
    p.pad_before = w.begin;
    p.pad_after = w.end;
    for (size_t d = 0; d < 2; ++d)
      if (x[2 + d] + w.begin[d] + w.end[d] < w.kernel[d] || w.begin[d] >= w.kernel[d] || w.end[d] >= w.kernel[d]) return std::nullopt;
    return p;
  } catch (const Error&) {
    return std::nullopt;
  }
}

void register_nn_ops(OpTable& table) {
  table["Conv"] = {run_conv, 1};
  table["ConvTranspose"] = {run_conv_transpose, 1};
  table["MaxPool"] = {run_max_pool, 8};
  table["AveragePool"] = {run_average_pool, 7};
  table["GlobalAveragePool"] = {run_global_average_pool, 1};
  table["GlobalMaxPool"] = {run_global_max_pool, 1};
  table["MaxUnpool"] = {run_max_unpool, 9};
  table["LRN"] = {run_lrn, 1};
  table["BatchNormalization"] = {run_batch_norm, 7};
  table["InstanceNormalization"] = {run_instance_norm, 6};
  table["LayerNormalization"] = {run_layer_norm, 17};
  table["MeanVarianceNormalization"] = {run_mean_variance_norm, 9};
  table["Gemm"] = {run_gemm, 7};
  table["MatMul"] = {run_matmul, 1};
  table["Einsum"] = {run_einsum, 12};
  table["Det"] = {run_det, 11};
  table["Softmax"] = {run_softmax, 1};
  table["LogSoftmax"] = {run_log_softmax, 1};
  table["Hardmax"] = {run_hardmax, 1};
  table["NegativeLogLikelihoodLoss"] = {run_nll_loss, 12};
  table["SoftmaxCrossEntropyLoss"] = {run_softmax_cross_entropy, 12};
}

}  // namespace cajal::onnx
