// torch.nn.init in C++: the same formulas, drawing from cajal's generators.
#include "cajal/nn/init.h"

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "cajal/autograd/grad_mode.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/random.h"

namespace cajal::nn::init {

namespace {

// Writes `values` into t without recording history; returns t.
Tensor assign(const Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  Tensor out = t;
  out.copy_(values);
  return t;
}

void check_floating(const Tensor& t, const char* fn) {
  if (!t.defined()) fail<ValueError>(fn, ": the tensor is undefined");
  if (!t.is_floating_point()) fail<DTypeError>(fn, ": expected a floating point tensor, got ", dtype_name(t.dtype()));
}

// Random values in t's dtype (float64 draws keep their precision for float64 tensors).
TensorOptions like(const Tensor& t) { return {.dtype = t.dtype() == DType::f64 ? DType::f64 : DType::f32}; }

int64_t fan(const Tensor& t, FanMode mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return mode == FanMode::FanIn ? fan_in : fan_out;
}

// std of Kaiming init; 0 for an empty tensor (nothing is drawn then).
double kaiming_std(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity) {
  if (t.numel() == 0) return 0;
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode)));
}

double xavier_std(const Tensor& t, double gain) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
}

// Inverse error function: a polynomial first guess (Giles, "Approximating the erfinv
// function", 2010), then two Newton steps on erf(x) = y to reach double precision.
double erfinv(double y) {
  if (y <= -1) return -std::numeric_limits<double>::infinity();
  if (y >= 1) return std::numeric_limits<double>::infinity();
  double w = -std::log((1 - y) * (1 + y));
  double p;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                     -0.00417768164, 0.246640727, 1.50140941})
      p = c + p * w;
  } else {
    w = std::sqrt(w) - 3;
    p = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                     1.00167406, 2.83297682})
      p = c + p * w;
  }
  double x = p * y;
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (2 / std::sqrt(std::numbers::pi) * std::exp(-x * x));
  return x;
}

double normal_cdf(double x) { return (1 + std::erf(x / std::numbers::sqrt2)) / 2; }

// The Q factor of the [m, n] row-major matrix a (m >= n), overwriting a. Modified
// Gram-Schmidt, each column orthogonalized twice ("twice is enough") so Q stays orthogonal
// to rounding. R's diagonal (the norms) is positive, which is the sign convention torch's
// orthogonal_ imposes on its Householder QR: the factorization with that sign is unique.
void orthonormalize_columns(std::vector<double>& a, int64_t m, int64_t n) {
  auto at = [&](int64_t i, int64_t j) -> double& { return a[static_cast<size_t>(i * n + j)]; };
  for (int64_t j = 0; j < n; ++j) {
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t k = 0; k < j; ++k) {
        double d = 0;
        for (int64_t i = 0; i < m; ++i) d += at(i, k) * at(i, j);
        for (int64_t i = 0; i < m; ++i) at(i, j) -= d * at(i, k);
      }
    }
    double norm = 0;
    for (int64_t i = 0; i < m; ++i) norm += at(i, j) * at(i, j);
    norm = std::sqrt(norm);
    for (int64_t i = 0; i < m; ++i) at(i, j) /= norm;
  }
}

}  // namespace

double calculate_gain(const std::string& nonlinearity, std::optional<double> param) {
  static const char* const kLinear[] = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                         "conv_transpose2d", "conv_transpose3d", "sigmoid"};
  for (const char* name : kLinear)
    if (nonlinearity == name) return 1;
  if (nonlinearity == "tanh") return 5.0 / 3;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1 + slope * slope));
  }
  if (nonlinearity == "selu") return 3.0 / 4;
  fail<ValueError>("calculate_gain: unsupported nonlinearity \"", nonlinearity, "\"");
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  if (t.dim() < 2)
    fail<ValueError>("calculate_fan_in_and_fan_out: fan in and fan out need a tensor of at least 2 dims, got shape ",
                     t.sizes());
  int64_t receptive_field = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive_field *= t.size(d);
  return {t.size(1) * receptive_field, t.size(0) * receptive_field};
}

namespace {
thread_local bool skip_init = false;
}  // namespace

SkipInitGuard::SkipInitGuard() : previous_(skip_init) { skip_init = true; }
SkipInitGuard::~SkipInitGuard() { skip_init = previous_; }
bool SkipInitGuard::active() { return skip_init; }

Tensor uniform_(const Tensor& t, double a, double b, Generator* gen) {
  check_floating(t, "uniform_");
  if (skip_init) return t;
  if (!(a <= b)) fail<ValueError>("uniform_: lower bound ", a, " exceeds upper bound ", b);
  return assign(t, rand(t.sizes(), like(t), gen) * (b - a) + a);
}

Tensor normal_(const Tensor& t, double mean, double std, Generator* gen) {
  check_floating(t, "normal_");
  if (skip_init) return t;
  if (!(std >= 0)) fail<ValueError>("normal_: std must be non-negative, got ", std);
  return assign(t, randn(t.sizes(), like(t), gen) * std + mean);
}

Tensor constant_(const Tensor& t, double value) {
  if (!t.defined()) fail<ValueError>("constant_: the tensor is undefined");
  NoGradGuard no_grad;
  Tensor out = t;
  out.fill_(value);
  return t;
}
Tensor zeros_(const Tensor& t) { return constant_(t, 0); }
Tensor ones_(const Tensor& t) { return constant_(t, 1); }

Tensor xavier_uniform_(const Tensor& t, double gain, Generator* gen) {
  check_floating(t, "xavier_uniform_");
  double bound = std::sqrt(3.0) * xavier_std(t, gain);
  return uniform_(t, -bound, bound, gen);
}

Tensor xavier_normal_(const Tensor& t, double gain, Generator* gen) {
  check_floating(t, "xavier_normal_");
  return normal_(t, 0, xavier_std(t, gain), gen);
}

Tensor kaiming_uniform_(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity, Generator* gen) {
  check_floating(t, "kaiming_uniform_");
  double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity);
  return uniform_(t, -bound, bound, gen);
}

Tensor kaiming_normal_(const Tensor& t, double a, FanMode mode, const std::string& nonlinearity, Generator* gen) {
  check_floating(t, "kaiming_normal_");
  return normal_(t, 0, kaiming_std(t, a, mode, nonlinearity), gen);
}

Tensor orthogonal_(const Tensor& t, double gain, Generator* gen) {
  check_floating(t, "orthogonal_");
  if (t.dim() < 2) fail<ValueError>("orthogonal_: only tensors with 2 or more dims are supported, got shape ", t.sizes());
  if (t.numel() == 0 || skip_init) return t;
  const int64_t rows = t.size(0), cols = t.numel() / rows;
  // QR of the tall orientation: columns of the [max, min] matrix are orthonormalized.
  const bool wide = rows < cols;
  Tensor flat = randn({rows, cols}, {.dtype = DType::f64}, gen);
  if (wide) flat = flat.t();
  const int64_t m = flat.size(0), n = flat.size(1);
  std::vector<double> q = flat.contiguous().to_vector<double>();
  orthonormalize_columns(q, m, n);
  Tensor result = from_vector(q, {m, n});
  if (wide) result = result.t();
  return assign(t, result.reshape(t.sizes()) * gain);
}

Tensor trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* gen) {
  check_floating(t, "trunc_normal_");
  if (!(std > 0)) fail<ValueError>("trunc_normal_: std must be positive, got ", std);
  if (!(a < b)) fail<ValueError>("trunc_normal_: lower bound ", a, " must be below upper bound ", b);
  if (skip_init) return t;
  // A uniform draw between the CDF values of a and b, mapped back through the inverse CDF.
  const double lo = 2 * normal_cdf((a - mean) / std) - 1, hi = 2 * normal_cdf((b - mean) / std) - 1;
  std::vector<double> values = rand(t.sizes(), {.dtype = DType::f64}, gen).to_vector<double>();
  for (double& v : values) {
    double x = mean + std * std::numbers::sqrt2 * erfinv(lo + (hi - lo) * v);
    v = std::min(std::max(x, a), b);
  }
  return assign(t, from_vector(values, t.sizes()));
}

}  // namespace cajal::nn::init
