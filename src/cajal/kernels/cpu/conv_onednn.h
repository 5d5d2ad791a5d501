#pragma once
// Convolution through oneDNN (Debian's libdnnl, OpenMP build, so it shares cajal's threads).
// oneDNN's fast kernels read and write blocked layouts (channels in groups of 16), so each
// call reorders NCHW inputs into the layout the primitive chose and its output back; that
// costs one pass over each tensor and still wins (bench/conv_impl.cpp). Primitives are
// created once per geometry and kept. float32 only. See conv.h for the three products.
#include "cajal/kernels/cpu/conv.h"

namespace cajal::kernels::onednn {

// True when cajal was built with oneDNN (CMake option CAJAL_WITH_ONEDNN).
bool available();
// True when oneDNN runs this convolution: built with it, float32, a non-empty batch, and
// no output padding so large that oneDNN rejects the geometry.
bool supports(const ConvGeometry& g, DType dtype);

void conv_forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y);
void conv_backward_data(const ConvGeometry& g, const Tensor& gy, const Tensor& w, const Tensor& bias, const Tensor& gx);
void conv_backward_weights(const ConvGeometry& g, const Tensor& x, const Tensor& gy, const Tensor& gw);
// The first-order gradients of y = conv(x, w) + bias for the output gradient gy, in one
// call: gx, gw and gb (the bias gradient) where defined.
void conv_backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& gy, const Tensor& gx, const Tensor& gw,
                   const Tensor& gb);

}  // namespace cajal::kernels::onednn
