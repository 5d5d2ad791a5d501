#pragma once
// What the two convolution kernels (conv_im2col.h: im2col + GEMM, conv_onednn.h: oneDNN)
// share: the geometry of a 2-D convolution over NCHW tensors, and the bias helper.
// 1-D convolutions run as 2-D ones with a height of 1.
//
// Every kernel computes one of the three products of a convolution y = conv(x, w):
//   forward           y  = conv(x, w)            x [N, C, H, W], w [O, C/G, kH, kW], y [N, O, oH, oW]
//   backward_data     gx = conv^T(gy, w)         the adjoint in x; also conv_transpose2d's forward
//   backward_weights  gw = sum over N of gy (*) x, the adjoint in w
// All tensors are contiguous and of one dtype; outputs may be uninitialized.
#include <array>
#include <cstdint>

#include "cajal/core/tensor.h"

namespace cajal::kernels {

struct ConvGeometry {
  int64_t batch = 0;
  int64_t in_channels = 0;   // C: channels of x
  int64_t out_channels = 0;  // O: channels of y
  int64_t groups = 1;        // G: x's and y's channels split into G independent groups
  // Per spatial dim (height, width):
  std::array<int64_t, 2> in_size{}, out_size{}, kernel{}, stride{}, dilation{};
  std::array<int64_t, 2> pad{};  // zeros before the input; the zeros after follow from the sizes

  // Zeros after the input that the last output reads. Negative when the last input rows or
  // columns are never read (the output size was rounded down).
  int64_t pad_after(int d) const { return (out_size[d] - 1) * stride[d] + (kernel[d] - 1) * dilation[d] + 1 - in_size[d] - pad[d]; }
  // A 1x1 kernel that reads x unchanged: x itself is the im2col matrix.
  bool pointwise() const {
    return kernel == std::array<int64_t, 2>{1, 1} && stride == std::array<int64_t, 2>{1, 1} && pad == std::array<int64_t, 2>{0, 0};
  }
  bool operator==(const ConvGeometry&) const = default;
};

// out[n, c, ...] += bias[c] for a contiguous NCHW out (any spatial size).
void add_channel_bias(const Tensor& out, const Tensor& bias);
// out[c] = the sum of g[n, c, ...] over n and space: the gradient of a channel bias.
void sum_channels(const Tensor& g, const Tensor& out);

}  // namespace cajal::kernels
