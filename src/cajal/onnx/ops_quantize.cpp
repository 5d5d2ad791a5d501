// Quantized operators on uint8 (ONNX's int8 variants need a type cajal lacks): QuantizeLinear,
// DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger, QLinearMatMul and
// QLinearConv. A quantized value q stands for (q - zero_point) * scale; every product here is
// computed on those real values (or the integer differences) in float64, which holds the
// integer sums exactly, then rounded half to even and saturated to uint8 as ONNX says.
#include "cajal/onnx/import_ops.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/reduce.h"

namespace cajal::onnx {

TensorList run_conv(const Node& node, const TensorList& in);  // ops_nn.cpp

namespace {

// A per-tensor scale or zero point as is; a per-axis one (1-D) shaped to broadcast along `axis`.
Tensor along(const Tensor& t, int64_t axis, int64_t rank) {
  if (!t.defined() || t.dim() == 0 || t.numel() == 1) return t.defined() ? t.reshape({}) : t;
  Dims shape(static_cast<size_t>(rank), 1);
  shape[static_cast<size_t>(axis)] = t.numel();
  return t.reshape(shape);
}

// (q - zero_point) * scale in float64.
Tensor dequantize(const Tensor& q, const Tensor& scale, const Tensor& zero_point, int64_t axis = 1) {
  Tensor x = q.to(DType::f64);
  if (zero_point.defined()) x = x - along(zero_point, axis, q.dim()).to(DType::f64);
  return x * along(scale, axis, q.dim()).to(DType::f64);
}

// round(x / scale) + zero_point, saturated to uint8. The division is in x's own precision
// (float32, as ONNX's reference divides), since that decides which way a half rounds.
Tensor quantize(const Tensor& x, const Tensor& scale, const Tensor& zero_point, int64_t axis = 1) {
  if (zero_point.defined() && zero_point.dtype() != DType::u8) fail<UnsupportedError>("quantized type ", dtype_name(zero_point.dtype()));
  Tensor q = round(x / along(scale, axis, x.dim()).to(x.dtype())).to(DType::f64);
  if (zero_point.defined()) q = q + along(zero_point, axis, x.dim()).to(DType::f64);
  return clamp(q, 0.0, 255.0).to(DType::u8);
}

// The axis of a per-axis scale; a per-tensor scale has none to check.
int64_t axis_of(const Node& node, const Tensor& x, const Tensor& scale) {
  return scale.numel() == 1 ? 0 : onnx_axis(node, node.get_int("axis", 1), x.dim());
}

TensorList run_quantize(const Node& node, const TensorList& in) {
  return {quantize(in.at(0), in.at(1), optional_input(in, 2), axis_of(node, in[0], in[1]))};
}

TensorList run_dequantize(const Node& node, const TensorList& in) {
  return {dequantize(in.at(0), in.at(1), optional_input(in, 2), axis_of(node, in[0], in[1])).to(DType::f32)};
}

// The scale (float32) and zero point that map [min(x, 0), max(x, 0)] onto 0..255, and x quantized.
TensorList run_dynamic_quantize(const Node&, const TensorList& in) {
  const Tensor& x = in.at(0);
  Tensor wide = x.to(DType::f64);
  Tensor lo = minimum(min(wide), scalar_tensor(0.0, DType::f64)), hi = maximum(max(wide), scalar_tensor(0.0, DType::f64));
  Tensor scale = ((hi - lo) / 255.0).to(DType::f32);
  Tensor zero_point = clamp(round(-lo / scale.to(DType::f64)), 0.0, 255.0).to(DType::u8);
  return {quantize(x, scale, zero_point), scale, zero_point};
}

// MatMulInteger: (A - a_zero_point) (B - b_zero_point) in int32; a per-row zero point of A is
// [M], a per-column one of B is [N].
TensorList run_matmul_integer(const Node&, const TensorList& in) {
  Tensor a = in.at(0).to(DType::f64), b = in.at(1).to(DType::f64);
  if (const Tensor& za = optional_input(in, 2); za.defined()) a = a - (za.numel() == 1 ? za.reshape({}) : za.reshape({-1, 1})).to(DType::f64);
  if (const Tensor& zb = optional_input(in, 3); zb.defined()) b = b - zb.to(DType::f64);
  return {matmul(a, b).to(DType::i32)};
}

// ConvInteger: Conv of the zero-point-shifted integers, in int32.
TensorList run_conv_integer(const Node& node, const TensorList& in) {
  Tensor x = in.at(0).to(DType::f64), w = in.at(1).to(DType::f64);
  if (const Tensor& zx = optional_input(in, 2); zx.defined()) x = x - zx.to(DType::f64).reshape({});
  if (const Tensor& zw = optional_input(in, 3); zw.defined()) w = w - along(zw, 0, w.dim()).to(DType::f64);
  return {run_conv(node, {x, w})[0].to(DType::i32)};
}

// QLinearMatMul and QLinearConv: the real-valued product of the dequantized inputs (and
// QLinearConv's int32 bias, in units of x_scale * w_scale), quantized with the output's scale
// (in float64: the sums of products are exact there).
TensorList run_qlinear_matmul(const Node&, const TensorList& in) {
  Tensor real = matmul(dequantize(in.at(0), in.at(1), in.at(2)), dequantize(in.at(3), in.at(4), in.at(5)));
  return {quantize(real, in.at(6), in.at(7))};
}

TensorList run_qlinear_conv(const Node& node, const TensorList& in) {
  Tensor x = dequantize(in.at(0), in.at(1), in.at(2));
  Tensor w = dequantize(in.at(3), in.at(4), in.at(5), 0);  // per output channel, if per-axis
  Tensor bias = optional_input(in, 8);
  if (bias.defined()) bias = bias.to(DType::f64) * (in[1].to(DType::f64).reshape({}) * in[4].to(DType::f64).reshape({-1}));
  return {quantize(run_conv(node, {x, w, bias})[0], in.at(6), in.at(7))};
}

}  // namespace

void register_quantize_ops(OpTable& table) {
  table["QuantizeLinear"] = {run_quantize, 10};
  table["DequantizeLinear"] = {run_dequantize, 10};
  table["DynamicQuantizeLinear"] = {run_dynamic_quantize, 11};
  table["MatMulInteger"] = {run_matmul_integer, 10};
  table["ConvInteger"] = {run_conv_integer, 10};
  table["QLinearMatMul"] = {run_qlinear_matmul, 10};
  table["QLinearConv"] = {run_qlinear_conv, 10};
}

}  // namespace cajal::onnx
