#pragma once
// Convolution as matrix products: each image is unfolded into a matrix whose columns are
// its receptive fields (im2col), so the convolution becomes one GEMM per image and group.
// The reference implementation: float32 and float64, any geometry. Images run in parallel,
// one per thread, each thread with its own unfolding buffer and a single-threaded GEMM.
// See conv.h for the three products and the tensors' shapes.
#include "cajal/kernels/cpu/conv.h"

namespace cajal::kernels::im2col {

// y = conv(x, w) (+ bias[o] when bias is defined).
void conv_forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y);
// gx = conv^T(gy, w) (+ bias[c] when defined: the bias of a transposed convolution).
void conv_backward_data(const ConvGeometry& g, const Tensor& gy, const Tensor& w, const Tensor& bias, const Tensor& gx);
// gw = the gradient of conv(x, w) in w for the output gradient gy.
void conv_backward_weights(const ConvGeometry& g, const Tensor& x, const Tensor& gy, const Tensor& gw);
// The first-order gradients of y = conv(x, w) + bias for the output gradient gy, in one
// call: gx, gw and gb (the bias gradient) where defined.
void conv_backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& gy, const Tensor& gx, const Tensor& gw,
                   const Tensor& gb);

}  // namespace cajal::kernels::im2col
