#pragma once
// Pieces of graph that several emitters write (internal to onnx/): the sequence and
// Transformer emitters build their blocks from the same linear maps, norms and activations
// as the layers of their own.
#include <string>

#include "cajal/nn/norm.h"
#include "cajal/onnx/exporter.h"
#include "cajal/ops/elementwise.h"

namespace cajal::onnx {

// x W^T + b for an input of `rank` dims (bias may be undefined).
std::string linear(Exporter& g, const std::string& x, int64_t rank, const Tensor& weight, const Tensor& bias);

// LayerNorm over the last dims: ONNX's LayerNormalization from opset 17, the same formula
// from basic ops before.
std::string layer_norm(Exporter& g, const std::string& x, const nn::LayerNormImpl& norm);

// GELU as cajal computes it: the erf form or the tanh approximation (ONNX has no Gelu
// operator before opset 20).
std::string gelu(Exporter& g, const std::string& x, GeluApprox approximate);

}  // namespace cajal::onnx
