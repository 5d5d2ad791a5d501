// Signal processing: the window functions, DFT and STFT. A discrete Fourier transform is a
// product with a matrix of cosines and one of sines (the real and imaginary parts of
// e^(-2 pi i k n / N)), so it runs as two matmuls and stays differentiable; complex values
// are ONNX's [..., 2] pairs of real and imaginary parts.
#include <cmath>

#include "cajal/onnx/import_ops.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/shape.h"

namespace cajal::onnx {

namespace {

// Hann, Hamming and Blackman windows of `size` points: sums of cosines of 2 pi n / N, with
// N = size (periodic, the default) or size - 1 (symmetric).
TensorList run_window(const Node& node, const TensorList& in) {
  int64_t size = static_cast<int64_t>(scalar_value(in.at(0)));
  if (size < 0) fail<ValueError>(node.where(), ": size must not be negative");
  double period = static_cast<double>(node.get_int("periodic", 1) ? size : size - 1);
  Tensor phase = arange(size).to(DType::f64) * (2 * M_PI / period);
  Tensor w;
  if (node.op_type == "HannWindow") w = 0.5 - 0.5 * cos(phase);
  else if (node.op_type == "HammingWindow") w = 25.0 / 46 - 21.0 / 46 * cos(phase);
  else w = 0.42 - 0.5 * cos(phase) + 0.08 * cos(2.0 * phase);  // BlackmanWindow
  return {w.to(dtype_from_onnx(static_cast<int32_t>(node.get_int("output_datatype", 1)), node.where()))};
}

// The DFT of x ([..., N, 2], complex) along dim -2 with `bins` outputs (all N, or N/2 + 1
// one-sided), or the inverse transform (divided by N).
Tensor dft_last(const Tensor& x, int64_t bins, bool inverse) {
  const int64_t n = x.size(-2);
  Tensor k = arange(bins).to(DType::f64).unsqueeze(1), t = arange(n).to(DType::f64).unsqueeze(0);
  Tensor angle = k * t * (2 * M_PI / static_cast<double>(n));  // [bins, N]
  Tensor c = cos(angle).to(x.dtype()), s = sin(angle).to(x.dtype());
  if (inverse) s = -s;
  Tensor re = x.select(-1, 0), im = x.select(-1, 1);  // [..., N]
  // (re + i im)(cos - i sin) = re cos + im sin + i (im cos - re sin)
  Tensor out_re = matmul(re, c.t()) + matmul(im, s.t()), out_im = matmul(im, c.t()) - matmul(re, s.t());
  Tensor y = stack({out_re, out_im}, -1);
  return inverse ? y / static_cast<double>(n) : y;
}

// A real signal ([..., 1]) as complex ([..., 2], zero imaginary parts); complex as it is.
Tensor as_complex(const Node& node, const Tensor& x) {
  if (x.dim() < 2 || (x.size(-1) != 1 && x.size(-1) != 2)) fail<ShapeError>(node.where(), ": the last dim must be 1 (real) or 2 (complex), got ", x.sizes());
  return x.size(-1) == 2 ? x : cat({x, zeros_like(x)}, -1);
}

TensorList run_dft(const Node& node, const TensorList& in) {
  Tensor x = as_complex(node, in.at(0));
  int64_t axis = onnx_axis(node, node.get_int("axis", 1), x.dim() - 1);
  if (axis == 0) fail<ShapeError>(node.where(), ": axis 0 is the batch");
  Tensor signal = x.transpose(axis, -2);  // the transformed dim next to the complex pair
  if (const Tensor& length = optional_input(in, 1); length.defined()) {
    int64_t n = static_cast<int64_t>(scalar_value(length));
    if (n < 1) fail<ValueError>(node.where(), ": dft_length must be positive");
    signal = n <= signal.size(-2) ? signal.narrow(-2, 0, n) : pad(signal, {0, 0, 0, n - signal.size(-2)});
  }
  bool inverse = node.get_int("inverse", 0) != 0, onesided = node.get_int("onesided", 0) != 0;
  int64_t n = signal.size(-2);
  return {dft_last(signal, onesided ? n / 2 + 1 : n, inverse).transpose(axis, -2)};
}

// STFT: the one-sided (by default) DFT of each frame of frame_length samples, frame_step
// apart, times the window: [batch, frames, bins, 2].
TensorList run_stft(const Node& node, const TensorList& in) {
  Tensor x = as_complex(node, in.at(0));  // [batch, length, 2]
  if (x.dim() != 3) fail<ShapeError>(node.where(), ": signal must be [batch, length, 1 or 2]");
  int64_t step = static_cast<int64_t>(scalar_value(in.at(1)));
  const Tensor& window = optional_input(in, 2);
  int64_t frame = optional_input(in, 3).defined() ? static_cast<int64_t>(scalar_value(in[3])) : window.defined() ? window.numel() : 0;
  if (step < 1 || frame < 1 || frame > x.size(1)) fail<ValueError>(node.where(), ": frame_step and frame_length must fit the signal");
  TensorList frames;
  for (int64_t start = 0; start + frame <= x.size(1); start += step) frames.push_back(x.narrow(1, start, frame));
  Tensor framed = stack(frames, 1);  // [batch, frames, frame, 2]
  if (window.defined()) framed = framed * window.reshape({1, 1, -1, 1}).to(x.dtype());
  bool onesided = node.get_int("onesided", 1) != 0;
  return {dft_last(framed, onesided ? frame / 2 + 1 : frame, false)};
}

}  // namespace

void register_signal_ops(OpTable& table) {
  for (const char* name : {"HannWindow", "HammingWindow", "BlackmanWindow"}) table[name] = {run_window, 17};
  table["DFT"] = {run_dft, 17};
  table["STFT"] = {run_stft, 17};
}

}  // namespace cajal::onnx
