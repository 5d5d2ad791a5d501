#pragma once
// Affine quantization, as torch.ao.quantization defines it:
//
//   q = clamp(zero_point + round(x * (1 / scale)), qmin, qmax)      x ≈ (q - zero_point) * scale
//
// (round half to even, 1 / scale in float32, as PyTorch's CPU kernels compute it). Weights
// are quantized per output channel, symmetrically, to int8 codes [-128, 127] with zero point
// 0; activations per tensor, asymmetrically, to uint8 codes [0, 255]. The ranges come from
// a calibration sample through an observer:
//
//   compress::Observer observer({.method = compress::RangeMethod::percentile});
//   for (const Tensor& batch : calibration) observer.observe(batch);
//   compress::QuantParams p = observer.params();                  // uint8, per tensor
//   Tensor q = compress::quantize(x, p), back = compress::dequantize(q, p);
//   compress::QuantParams w = compress::weight_params(conv->weight());   // int8, per channel
//
// Codes are held in int32 tensors here (the values are those of int8 / uint8). fake_quantize
// is quantize-then-dequantize for quantization-aware training, differentiable with the
// straight-through estimator: the gradient passes where the code was not clamped, and is 0
// where it was (torch.fake_quantize_per_tensor_affine / _per_channel_affine).
#include <cstdint>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal::compress {

struct QuantParams {
  std::vector<float> scale;          // one (per tensor) or one per channel along `axis`
  std::vector<int32_t> zero_point;   // as many as scale
  int64_t axis = -1;                 // the channel dim; -1: per tensor
  int32_t qmin = 0, qmax = 255;      // uint8 [0, 255] or int8 [-128, 127]
  bool per_channel() const { return axis >= 0; }
};

// How an observer turns what it saw into a range.
enum class RangeMethod {
  minmax,      // the smallest and largest values seen (torch's MinMaxObserver)
  percentile,  // the `percentile` and 100 - `percentile` percentiles of the values seen
  mse,         // the range whose quantization error (mean squared) over the values seen is least
};

struct ObserverOptions {
  RangeMethod method = RangeMethod::minmax;
  double percentile = 99.99;  // percentile: in (50, 100]
  int64_t max_samples = 1 << 20;  // percentile, mse: values kept (an even subsample beyond)
};

// Watches calibration batches of one tensor (an activation) and gives uint8 per-tensor
// affine parameters; the range always includes 0, so zero is exact.
class Observer {
 public:
  explicit Observer(ObserverOptions options = {});
  void observe(const Tensor& values);
  int64_t count() const { return count_; }
  // A ValueError when nothing (or only non-finite values) was observed.
  QuantParams params() const;

 private:
  ObserverOptions options_;
  float min_ = 0, max_ = 0;
  int64_t count_ = 0;
  std::vector<float> samples_;
  int64_t stride_ = 1;  // keep every stride_-th value once max_samples are kept
  int64_t seen_ = 0;
};

// uint8 affine parameters for the range [lo, hi] (widened to include 0), as torch's
// MinMaxObserver computes them: scale = (hi - lo) / 255 (at least float32 epsilon),
// zero_point = clamp(-round(lo / scale), 0, 255).
QuantParams affine_params(float lo, float hi);

// int8 symmetric per-channel parameters of a weight [out, ...] (torch's
// PerChannelMinMaxObserver, qint8, per_channel_symmetric): scale_c = max|w_c| / 127.5.
QuantParams weight_params(const Tensor& weight);

// Codes (int32 tensor of x's shape) and back (float32).
Tensor quantize(const Tensor& x, const QuantParams& params);
Tensor dequantize(const Tensor& codes, const QuantParams& params);

// dequantize(quantize(x)), differentiable (straight-through where not clamped).
Tensor fake_quantize(const Tensor& x, const QuantParams& params);

// The mean squared error fake quantization makes on x.
double quantization_mse(const Tensor& x, const QuantParams& params);

}  // namespace cajal::compress
