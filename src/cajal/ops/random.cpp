// Random tensors. Each op fills its output in row-major order, one draw after another on
// the calling thread, so a generator state gives the same tensor bit for bit whatever the
// thread count. (Sequential is fast enough: a uniform costs a few nanoseconds, a normal
// about 15.)
#include "cajal/ops/random.h"

#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

#include "cajal/ops/creation.h"

namespace cajal {

namespace {

Generator& resolve(Generator* gen) { return gen ? *gen : default_generator(); }

// Like dispatch(), for the floating dtypes only (bf16 included).
template <typename F>
decltype(auto) dispatch_float_types(DType dtype, const char* op, F&& fn) {
  switch (dtype) {
    case DType::f32: return fn.template operator()<float>();
    case DType::f64: return fn.template operator()<double>();
    case DType::bf16: return fn.template operator()<bf16>();
    default: fail<DTypeError>(op, ": expected a floating point dtype, got ", dtype_name(dtype));
  }
}

template <typename T, typename V>
T to_element(V v) {
  if constexpr (std::is_same_v<T, bf16>) return bf16(static_cast<float>(v));
  else return static_cast<T>(v);
}

// Uniform in [0, 1) with all the precision of T, never rounded up to 1.
template <typename T>
T uniform(Generator& g) {
  if constexpr (std::is_same_v<T, float>) return g.next_float();
  else if constexpr (std::is_same_v<T, double>) return g.next_double();
  else return bf16(static_cast<float>(g.next_u64() >> 56) * 0x1.0p-8f);  // bf16 holds 8 significant bits
}

// Whether every integer in [lo, hi] is exactly a value of T (floats: up to 2^significand bits).
template <typename T>
bool holds_integers(int64_t lo, int64_t hi) {
  if constexpr (std::is_same_v<T, bool>) {
    return lo >= 0 && hi <= 1;
  } else if constexpr (std::is_integral_v<T>) {
    return lo >= std::numeric_limits<T>::min() && hi <= std::numeric_limits<T>::max();
  } else {
    constexpr int digits = std::is_same_v<T, bf16> ? 8 : std::numeric_limits<T>::digits;
    constexpr int64_t exact = int64_t{1} << digits;
    return lo >= -exact && hi <= exact;
  }
}

// Uniform in [0, bound) without modulo bias: draws below 2^64 mod bound are rejected, so
// the accepted range holds a whole number of copies of [0, bound).
uint64_t next_below(Generator& g, uint64_t bound) {
  uint64_t reject_below = (0 - bound) % bound;  // 2^64 mod bound
  uint64_t r = g.next_u64();
  while (r < reject_below) r = g.next_u64();
  return r % bound;
}

void check_probability(double p, const char* op) {
  if (!(p >= 0 && p <= 1)) fail<ValueError>(op, ": probability ", p, " is outside [0, 1]");
}

// A new tensor with elements draw() in row-major order, drawn sequentially.
template <typename T, typename Draw>
Tensor filled(const Dims& shape, const TensorOptions& opts, Draw&& draw) {
  Tensor t = empty(shape, opts);
  T* p = t.data_ptr<T>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = draw();
  return t;
}

}  // namespace

Tensor rand(const Dims& shape, TensorOptions opts, Generator* gen) {
  Generator& g = resolve(gen);
  return dispatch_float_types(opts.dtype, "rand", [&]<typename T>() {
    return filled<T>(shape, opts, [&] { return uniform<T>(g); });
  });
}

// Elements 2k and 2k+1 are the k-th Box-Muller pair; an odd last element uses the first
// value of one more pair.
Tensor randn(const Dims& shape, TensorOptions opts, Generator* gen) {
  Generator& g = resolve(gen);
  std::optional<double> partner;  // the second value of the last pair, not yet used
  return dispatch_float_types(opts.dtype, "randn", [&]<typename T>() {
    return filled<T>(shape, opts, [&] {
      if (partner) return to_element<T>(*std::exchange(partner, std::nullopt));
      auto [first, second] = g.next_normal_pair();
      partner = second;
      return to_element<T>(first);
    });
  });
}

Tensor randint(int64_t low, int64_t high, const Dims& shape, TensorOptions opts, Generator* gen) {
  if (low >= high) fail<ValueError>("randint: low (", low, ") must be less than high (", high, ")");
  Generator& g = resolve(gen);
  uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);  // fits even for the full int64 range
  return dispatch(opts.dtype, [&]<typename T>() {
    if (!holds_integers<T>(low, high - 1))
      fail<ValueError>("randint: range [", low, ", ", high, ") does not fit dtype ", dtype_name(opts.dtype));
    return filled<T>(shape, opts, [&] {
      return to_element<T>(static_cast<int64_t>(static_cast<uint64_t>(low) + next_below(g, span)));
    });
  });
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  check_defined("bernoulli", p);
  if (!p.is_floating_point())
    fail<DTypeError>("bernoulli: probabilities must be a floating point tensor, got ", dtype_name(p.dtype()));
  std::vector<double> probs = p.to_vector<double>();  // row-major, whatever p's strides
  for (double prob : probs) check_probability(prob, "bernoulli");
  Generator& g = resolve(gen);
  size_t i = 0;
  return dispatch_float_types(p.dtype(), "bernoulli", [&]<typename T>() {
    return filled<T>(p.sizes(), {.dtype = p.dtype()}, [&] { return to_element<T>(g.next_double() < probs[i++]); });
  });
}

Tensor bernoulli(const Dims& shape, double p, TensorOptions opts, Generator* gen) {
  check_probability(p, "bernoulli");
  Generator& g = resolve(gen);
  return dispatch(opts.dtype, [&]<typename T>() {
    return filled<T>(shape, opts, [&] { return to_element<T>(g.next_double() < p); });
  });
}

Tensor randperm(int64_t n, Generator* gen) {
  if (n < 0) fail<ValueError>("randperm: n must be non-negative, got ", n);
  Generator& g = resolve(gen);
  Tensor t = empty({n}, {.dtype = DType::i64});
  int64_t* p = t.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  // Fisher-Yates: position i takes a uniformly chosen element among the first i + 1.
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[next_below(g, static_cast<uint64_t>(i) + 1)]);
  return t;
}

}  // namespace cajal
