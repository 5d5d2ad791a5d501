#pragma once
// Pooling and resampling of image planes: max pooling, average pooling over windows, and
// nearest / linear interpolation. Every kernel works on contiguous [planes, H, W] tensors
// (N * C planes of an NCHW tensor; 1-D ops use H = 1), float32 or float64, one plane per
// task in parallel. Outputs are written fully, so they may be uninitialized.
#include <array>
#include <cstdint>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal::kernels {

// ------------------------------------------------------------------ max pooling

struct MaxPoolGeometry {
  // Per spatial dim (height, width).
  std::array<int64_t, 2> in_size{}, out_size{}, kernel{}, stride{}, pad{}, dilation{};
};

// y = the maximum of each window, indices (int64) = its position h * W + w in the input
// plane. NaN counts as the largest value; among equal maxima the first wins (as PyTorch).
void max_pool2d(const Tensor& x, const Tensor& y, const Tensor& indices, const MaxPoolGeometry& g);
// gx = zeros with each gy added at its window's maximum.
void max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Tensor& gx);

// ------------------------------------------------------------------ window sums

// The windows of one spatial dim: output position i covers input positions
// [start[i], end[i]) with weight 1 / count[i] (count may exceed the window: padding counts).
struct Windows {
  std::vector<int64_t> start, end, count;
};

// y[i, j] = sum of x over rows h.start[i].. and columns w.start[j].., divided by
// h.count[i] * w.count[j], or by divisor when divisor > 0.
void window_average(const Tensor& x, const Tensor& y, const Windows& h, const Windows& w, int64_t divisor);
// The adjoint: gx = each gy[i, j] spread over its window with the same weight.
void window_average_backward(const Tensor& gy, const Tensor& gx, const Windows& h, const Windows& w, int64_t divisor);

// ------------------------------------------------------------------ interpolation

// The taps of one spatial dim: output position i reads input index[0][i] with weight[0][i]
// and, when taps == 2, index[1][i] with weight[1][i].
struct Taps {
  int taps = 1;
  std::array<std::vector<int64_t>, 2> index;
  std::array<std::vector<double>, 2> weight;
};

// y[i, j] = sum over a, b of h.weight[a][i] * (w.weight[b][j] * x[h.index[a][i], w.index[b][j]]).
void interpolate(const Tensor& x, const Tensor& y, const Taps& h, const Taps& w);
// The adjoint: gx = zeros with each gy[i, j] added to the inputs it read, times their weights.
void interpolate_backward(const Tensor& gy, const Tensor& gx, const Taps& h, const Taps& w);

}  // namespace cajal::kernels
