#pragma once
// exp, tanh and sigmoid for float written without branches or library calls, so the
// compiler vectorizes the loops that use them (std::exp is a scalar call). Accurate to a
// couple of ulp (Cephes' expf/tanhf polynomials); doubles use the standard library.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace cajal::kernels {

// 2^n for n in [-126, 127], built from the exponent bits.
inline float pow2i(int32_t n) {
  int32_t bits = (n + 127) << 23;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float vec_exp(float x) {
  const float hi = 88.72283935546875f, lo = -87.3365447504f;
  float xc = x > hi ? hi : (x >= lo ? x : lo);  // NaN takes lo here (and NaN out below), so fx is a number
  float fx = std::floor(xc * 1.44269504088896341f + 0.5f);
  float r = xc - fx * 0.693359375f + fx * 2.12194440e-4f;
  float r2 = r * r;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r2 + r + 1.0f;
  // Scale by 2^n as 2^(n/2) * 2^(n - n/2): n runs from -126 to 128 (2^128 is not a float,
  // and exp stays finite up to x = 88.72), and each half is a normal float.
  int32_t n = static_cast<int32_t>(fx);
  float y = p * pow2i(n / 2) * pow2i(n - n / 2);
  y = x > 88.72283935546875f ? std::numeric_limits<float>::infinity() : y;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;  // NaN in, NaN out
}
inline double vec_exp(double x) { return std::exp(x); }

inline float vec_tanh(float x) {
  float ax = std::fabs(x);
  // |x| >= 0.625: from exp; below: odd polynomial, which keeps relative accuracy near 0.
  float big = 1.0f - 2.0f / (vec_exp(2.0f * ax) + 1.0f);
  big = x < 0 ? -big : big;
  float z = x * x;
  float small = ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z +
                  1.33314422036E-1f) * z - 3.33332819422E-1f) * z * x + x;
  return ax < 0.625f ? small : big;
}
inline double vec_tanh(double x) { return std::tanh(x); }

inline float vec_sigmoid(float x) { return 1.0f / (1.0f + vec_exp(-x)); }
inline double vec_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace cajal::kernels
