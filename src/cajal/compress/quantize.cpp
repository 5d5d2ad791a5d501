#include "cajal/compress/quantize.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "cajal/autograd/grad_mode.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"

namespace cajal::compress {

namespace {

// The channel of each element of a tensor of `sizes` along `axis` (-1: all channel 0).
struct ChannelOf {
  int64_t inner = 1, channels = 1;
  ChannelOf(const Dims& sizes, int64_t axis) {
    if (axis < 0) {
      inner = INT64_MAX;
      return;
    }
    if (axis >= static_cast<int64_t>(sizes.size())) fail<ValueError>("quantize: axis ", axis, " of a ", sizes.size(), "-d tensor");
    channels = sizes[axis];
    for (size_t d = static_cast<size_t>(axis) + 1; d < sizes.size(); ++d) inner *= sizes[d];
  }
  int64_t operator()(int64_t i) const { return inner == INT64_MAX ? 0 : (i / inner) % channels; }
};

void check_params(const Tensor& x, const QuantParams& p) {
  const size_t channels = p.per_channel() ? static_cast<size_t>(x.size(p.axis)) : 1;
  if (p.scale.size() != channels || p.zero_point.size() != channels) {
    fail<ValueError>("quantize: ", p.scale.size(), " scales and ", p.zero_point.size(), " zero points for ", channels,
                     p.per_channel() ? " channels" : " tensor");
  }
}

// The codes of x under p, and (when asked) whether each was in range before clamping.
std::vector<int32_t> codes_of(const std::vector<float>& x, const Dims& sizes, const QuantParams& p, std::vector<float>* in_range) {
  const ChannelOf channel(sizes, p.axis);
  std::vector<int32_t> codes(x.size());
  if (in_range) in_range->resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t c = channel(static_cast<int64_t>(i));
    const float inv_scale = 1.0f / p.scale[c];
    const float q = static_cast<float>(p.zero_point[c]) + std::nearbyint(x[i] * inv_scale);
    const float lo = static_cast<float>(p.qmin), hi = static_cast<float>(p.qmax);
    codes[i] = static_cast<int32_t>(q >= lo ? (q <= hi ? q : hi) : lo);  // NaN: qmin, never a float-to-int overflow
    if (in_range) (*in_range)[i] = q >= lo && q <= hi ? 1.0f : 0.0f;
  }
  return codes;
}

std::vector<float> values_of(const Tensor& x) { return x.contiguous().to(DType::f32).to_vector<float>(); }

// The value at percentile q (in [0, 100]) of sorted values, interpolated linearly (NumPy's default).
float percentile_of(const std::vector<float>& sorted, double q) {
  const double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= sorted.size()) return sorted.back();
  return static_cast<float>(sorted[i] + (sorted[i + 1] - sorted[i]) * (pos - static_cast<double>(i)));
}

double mse_of(const std::vector<float>& values, const QuantParams& p) {
  const std::vector<int32_t> codes = codes_of(values, Dims{static_cast<int64_t>(values.size())}, p, nullptr);
  double sum = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double back = static_cast<double>(codes[i] - p.zero_point[0]) * p.scale[0];
    sum += (back - values[i]) * (back - values[i]);
  }
  return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

}  // namespace

QuantParams affine_params(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  QuantParams p;
  const float scale = std::max((hi - lo) / 255.0f, FLT_EPSILON);
  const int32_t zero = static_cast<int32_t>(std::clamp(-std::nearbyint(lo / scale), 0.0f, 255.0f));
  p.scale = {scale};
  p.zero_point = {zero};
  return p;
}

QuantParams weight_params(const Tensor& weight) {
  if (weight.dim() < 1 || weight.size(0) < 1) fail<ShapeError>("weight_params: expected a weight [out, ...], got ", weight.sizes());
  const std::vector<float> values = values_of(weight);
  const int64_t channels = weight.size(0), per = weight.numel() / channels;
  QuantParams p{.scale = {}, .zero_point = {}, .axis = 0, .qmin = -128, .qmax = 127};
  for (int64_t c = 0; c < channels; ++c) {
    float lo = 0, hi = 0;
    for (int64_t k = 0; k < per; ++k) {
      lo = std::min(lo, values[c * per + k]);
      hi = std::max(hi, values[c * per + k]);
    }
    p.scale.push_back(std::max(std::max(-lo, hi) / 127.5f, FLT_EPSILON));
    p.zero_point.push_back(0);
  }
  return p;
}

Tensor quantize(const Tensor& x, const QuantParams& params) {
  check_params(x, params);
  return from_vector(codes_of(values_of(x), x.sizes(), params, nullptr), x.sizes());
}

Tensor dequantize(const Tensor& codes, const QuantParams& params) {
  check_params(codes, params);
  const std::vector<int32_t> q = codes.contiguous().to(DType::i32).to_vector<int32_t>();
  const ChannelOf channel(codes.sizes(), params.axis);
  std::vector<float> out(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    const int64_t c = channel(static_cast<int64_t>(i));
    out[i] = static_cast<float>(q[i] - params.zero_point[c]) * params.scale[c];
  }
  return from_vector(out, codes.sizes());
}

Tensor fake_quantize(const Tensor& x, const QuantParams& params) {
  check_params(x, params);
  std::vector<float> in_range;
  const std::vector<int32_t> codes = codes_of(values_of(x), x.sizes(), params, &in_range);
  Tensor back = dequantize(from_vector(codes, x.sizes()), params).to(x.dtype());
  Tensor mask = from_vector(in_range, x.sizes()).to(x.dtype());
  // The value is `back`; the gradient is `mask` (straight through where not clamped).
  Tensor passed = x * mask;
  return passed + (back - passed).detach();
}

double quantization_mse(const Tensor& x, const QuantParams& params) {
  NoGradGuard no_grad;
  const Tensor error = fake_quantize(x, params).to(DType::f64) - x.to(DType::f64);
  return (error * error).mean().item();
}

Observer::Observer(ObserverOptions options) : options_(options) {
  if (options.method == RangeMethod::percentile && !(options.percentile > 50 && options.percentile <= 100))
    fail<ValueError>("observer: percentile must be in (50, 100], got ", options.percentile);
  if (options.max_samples < 2) fail<ValueError>("observer: max_samples must be at least 2");
}

void Observer::observe(const Tensor& values) {
  for (float v : values_of(values)) {
    if (!std::isfinite(v)) continue;
    min_ = count_ ? std::min(min_, v) : v;
    max_ = count_ ? std::max(max_, v) : v;
    ++count_;
    if (options_.method == RangeMethod::minmax || seen_++ % stride_ != 0) continue;
    samples_.push_back(v);
    if (static_cast<int64_t>(samples_.size()) >= options_.max_samples) {
      // Keep every other value and take half as many from now on: an even subsample.
      size_t kept = 0;
      for (size_t i = 0; i < samples_.size(); i += 2) samples_[kept++] = samples_[i];
      samples_.resize(kept);
      stride_ *= 2;
    }
  }
}

QuantParams Observer::params() const {
  if (count_ == 0) fail<ValueError>("observer: no calibration values were observed (an empty or non-finite sample)");
  if (options_.method == RangeMethod::minmax) return affine_params(min_, max_);
  std::vector<float> sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  if (options_.method == RangeMethod::percentile)
    return affine_params(percentile_of(sorted, 100.0 - options_.percentile), percentile_of(sorted, options_.percentile));
  // mse: the range [f * min, f * max] for f in 0.01, 0.02, ..., 1 with the least error.
  QuantParams best = affine_params(min_, max_);
  double best_mse = mse_of(sorted, best);
  for (int step = 1; step < 100; ++step) {
    const float f = static_cast<float>(step) / 100.0f;
    QuantParams p = affine_params(f * min_, f * max_);
    const double e = mse_of(sorted, p);
    if (e < best_mse) best_mse = e, best = p;
  }
  return best;
}

}  // namespace cajal::compress
