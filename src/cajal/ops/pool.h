#pragma once
// Pooling and resampling over [N, C, L] (1-D) and [N, C, H, W] (2-D) tensors, as
// torch.nn.functional's max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d and interpolate.
// Pooling also takes unbatched inputs ([C, L], [C, H, W]). float32 and float64 (bfloat16
// computes in float32); differentiable to any order:
//   max_pool2d(x, 2)                                   2x2 windows, stride 2
//   avg_pool2d(x, 3, {.stride = 2, .padding = 1})
//   interpolate(x, {.scale_factor = {2}, .mode = InterpolateMode::Bilinear})
#include <optional>
#include <vector>

#include "cajal/core/tensor.h"
#include "cajal/ops/expanding_array.h"
#include "cajal/ops/reduce.h"

namespace cajal {

// Options after the kernel size. A missing stride means the kernel size (windows side by
// side); ceil_mode rounds the output size up, adding a last partial window that starts
// inside the input or its left padding. Padding is at most half the kernel.
struct MaxPool1dArgs {
  OptionalExpandingArray<1> stride = {};
  ExpandingArray<1> padding = 0;
  ExpandingArray<1> dilation = 1;
  bool ceil_mode = false;
};
struct MaxPool2dArgs {
  OptionalExpandingArray<2> stride = {};
  ExpandingArray<2> padding = 0;
  ExpandingArray<2> dilation = 1;
  bool ceil_mode = false;
};

// The largest value of each window (padding never wins). The gradient goes to the position
// of each window's maximum; NaN counts as the largest value, and among equal maxima the
// first in row-major order wins, as in PyTorch.
Tensor max_pool1d(const Tensor& input, ExpandingArray<1> kernel_size, const MaxPool1dArgs& args = {});
Tensor max_pool2d(const Tensor& input, ExpandingArray<2> kernel_size, const MaxPool2dArgs& args = {});
// The same, with the position of each maximum (int64) within its input plane (h * W + w),
// as PyTorch's return_indices=True.
ValuesIndices max_pool1d_with_indices(const Tensor& input, ExpandingArray<1> kernel_size, const MaxPool1dArgs& args = {});
ValuesIndices max_pool2d_with_indices(const Tensor& input, ExpandingArray<2> kernel_size, const MaxPool2dArgs& args = {});

struct AvgPool1dArgs {
  OptionalExpandingArray<1> stride = {};
  ExpandingArray<1> padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;  // padding zeros count in the divisor
};
struct AvgPool2dArgs {
  OptionalExpandingArray<2> stride = {};
  ExpandingArray<2> padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;
  std::optional<int64_t> divisor_override = std::nullopt;  // divides every window's sum instead of its size
};

Tensor avg_pool1d(const Tensor& input, ExpandingArray<1> kernel_size, const AvgPool1dArgs& args = {});
Tensor avg_pool2d(const Tensor& input, ExpandingArray<2> kernel_size, const AvgPool2dArgs& args = {});

// The mean of output_size[0] x output_size[1] windows that tile the input (overlapping by
// at most one row or column): output (i, j) averages rows floor(i * H / oH) to
// ceil((i + 1) * H / oH) and the same for columns, as PyTorch.
Tensor adaptive_avg_pool2d(const Tensor& input, ExpandingArray<2> output_size);
// The mean of each channel: [N, C, H, W] -> [N, C, 1, 1] (adaptive_avg_pool2d(input, 1)).
Tensor global_avg_pool2d(const Tensor& input);

enum class InterpolateMode { Nearest, Linear, Bilinear };

// Give either size (one output size per spatial dim, or one for all) or scale_factor
// (output size = floor(input size * scale_factor); the scale itself then places the
// samples, as PyTorch does without recompute_scale_factor). Nearest takes [N, C, L] and
// [N, C, H, W], Linear [N, C, L], Bilinear [N, C, H, W]. align_corners (linear modes only,
// default false) maps the corner samples of input and output onto each other.
struct InterpolateArgs {
  std::vector<int64_t> size = {};
  std::vector<double> scale_factor = {};
  InterpolateMode mode = InterpolateMode::Nearest;
  std::optional<bool> align_corners = std::nullopt;
};

Tensor interpolate(const Tensor& input, const InterpolateArgs& args);
// "nearest", "linear", "bilinear".
const char* interpolate_mode_name(InterpolateMode mode);

}  // namespace cajal
