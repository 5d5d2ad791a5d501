#include "cajal/kernels/cpu/elementwise.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "cajal/kernels/cpu/loops.h"
#include "cajal/kernels/cpu/vec_math.h"

namespace cajal::kernels {

namespace {

template <typename T>
constexpr bool is_fp = std::is_floating_point_v<T>;

// The inner loop of a one-input kernel: contiguous fast path, then the general stride.
template <typename TOut, typename TIn, typename F>
void unary_loop(const Tensor& in, const Tensor& out, F f) {
  auto loop = make_loop<2>(out.sizes(), {&out, &in});
  run_loop(loop, [&](char** p, const int64_t* s, int64_t n) {
    TOut* o = reinterpret_cast<TOut*>(p[0]);
    const TIn* a = reinterpret_cast<const TIn*>(p[1]);
    if (s[0] == sizeof(TOut) && s[1] == sizeof(TIn)) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<TOut*>(p[0] + i * s[0]) = f(*reinterpret_cast<const TIn*>(p[1] + i * s[1]));
    }
  });
}

template <typename TOut, typename T, typename F>
void binary_loop(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  auto loop = make_loop<3>(out.sizes(), {&out, &a, &b});
  run_loop(loop, [&](char** p, const int64_t* s, int64_t n) {
    TOut* o = reinterpret_cast<TOut*>(p[0]);
    const T* x = reinterpret_cast<const T*>(p[1]);
    const T* y = reinterpret_cast<const T*>(p[2]);
    constexpr int64_t so = sizeof(TOut), st = sizeof(T);
    if (s[0] == so && s[1] == st && s[2] == st) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (s[0] == so && s[1] == st && s[2] == 0) {
      const T yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else if (s[0] == so && s[1] == 0 && s[2] == st) {
      const T xv = *x;
      for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<TOut*>(p[0] + i * s[0]) =
            f(*reinterpret_cast<const T*>(p[1] + i * s[1]), *reinterpret_cast<const T*>(p[2] + i * s[2]));
    }
  });
}

template <typename T>
T sign_of(T v) {
  if constexpr (std::is_same_v<T, bool>) return v;
  else if constexpr (std::is_unsigned_v<T>) return v > 0;
  else return static_cast<T>((T(0) < v) - (v < T(0)));
}

template <typename T>
T gelu_erf(T x) { return x * T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2))); }
template <typename T>
T gelu_tanh(T x) {
  const T k = T(M_2_SQRTPI * M_SQRT1_2);  // sqrt(2/pi)
  return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
}

template <typename T>
void unary_typed(UnaryOp op, const Tensor& in, const Tensor& out, double p0, double p1) {
  using C = std::conditional_t<is_fp<T>, T, double>;  // what transcendental ops compute in
  switch (op) {
    case UnaryOp::Neg:
      if constexpr (!std::is_same_v<T, bool>) return unary_loop<T, T>(in, out, [](T x) { return static_cast<T>(-x); });
      break;
    case UnaryOp::Abs:
      if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) return unary_loop<T, T>(in, out, [](T x) { return x; });
      else if constexpr (is_fp<T>) return unary_loop<T, T>(in, out, [](T x) { return std::fabs(x); });  // abs(-0.) = +0.
      else return unary_loop<T, T>(in, out, [](T x) { return static_cast<T>(x < 0 ? -x : x); });
    case UnaryOp::Square: return unary_loop<T, T>(in, out, [](T x) { return static_cast<T>(x * x); });
    case UnaryOp::Sign: return unary_loop<T, T>(in, out, [](T x) { return sign_of(x); });
    // Written so that NaN (and -0.) pass through, as torch.relu does.
    case UnaryOp::Relu: return unary_loop<T, T>(in, out, [](T x) { return x < T(0) ? T(0) : x; });
    case UnaryOp::Clamp: {
      bool has_lo = !std::isnan(p0), has_hi = !std::isnan(p1);
      T lo = static_cast<T>(p0), hi = static_cast<T>(p1);
      // NaN fails both comparisons and passes through. Each case its own loop without
      // branches, so that it vectorizes (ReLU6, Clip(0, 6), runs over whole activations).
      if (has_lo && has_hi) return unary_loop<T, T>(in, out, [=](T x) { return x < lo ? lo : (x > hi ? hi : x); });
      if (has_lo) return unary_loop<T, T>(in, out, [=](T x) { return x < lo ? lo : x; });
      return unary_loop<T, T>(in, out, [=](T x) { return has_hi && x > hi ? hi : x; });
    }
    case UnaryOp::Floor:
    case UnaryOp::Ceil:
    case UnaryOp::Round:
      if constexpr (!is_fp<T>) return unary_loop<T, T>(in, out, [](T x) { return x; });
      else if (op == UnaryOp::Floor) return unary_loop<T, T>(in, out, [](T x) { return std::floor(x); });
      else if (op == UnaryOp::Ceil) return unary_loop<T, T>(in, out, [](T x) { return std::ceil(x); });
      else return unary_loop<T, T>(in, out, [](T x) { return std::nearbyint(x); });  // half to even, like PyTorch
    case UnaryOp::LogicalNot: return unary_loop<bool, T>(in, out, [](T x) { return !static_cast<bool>(x); });
    case UnaryOp::IsNan:
      return unary_loop<bool, T>(in, out, [](T x) { if constexpr (is_fp<T>) return std::isnan(x); else return false; });
    case UnaryOp::IsFinite:
      return unary_loop<bool, T>(in, out, [](T x) { if constexpr (is_fp<T>) return std::isfinite(x); else return true; });
    case UnaryOp::PowScalar: {
      C e = static_cast<C>(p0);
      if (e == C(2)) return unary_loop<T, T>(in, out, [](T x) { return static_cast<T>(x * x); });
      return unary_loop<T, T>(in, out, [e](T x) { return static_cast<T>(std::pow(static_cast<C>(x), e)); });
    }
    default: break;
  }
  if constexpr (is_fp<T>) {
    switch (op) {
      case UnaryOp::Exp: return unary_loop<T, T>(in, out, [](T x) { return vec_exp(x); });
      case UnaryOp::Log: return unary_loop<T, T>(in, out, [](T x) { return std::log(x); });
      case UnaryOp::Log1p: return unary_loop<T, T>(in, out, [](T x) { return std::log1p(x); });
      case UnaryOp::Expm1: return unary_loop<T, T>(in, out, [](T x) { return std::expm1(x); });
      case UnaryOp::Sqrt: return unary_loop<T, T>(in, out, [](T x) { return std::sqrt(x); });
      case UnaryOp::Rsqrt: return unary_loop<T, T>(in, out, [](T x) { return T(1) / std::sqrt(x); });
      case UnaryOp::Reciprocal: return unary_loop<T, T>(in, out, [](T x) { return T(1) / x; });
      case UnaryOp::Erf: return unary_loop<T, T>(in, out, [](T x) { return std::erf(x); });
      case UnaryOp::Sin: return unary_loop<T, T>(in, out, [](T x) { return std::sin(x); });
      case UnaryOp::Cos: return unary_loop<T, T>(in, out, [](T x) { return std::cos(x); });
      case UnaryOp::Tanh: return unary_loop<T, T>(in, out, [](T x) { return vec_tanh(x); });
      case UnaryOp::Sigmoid: return unary_loop<T, T>(in, out, [](T x) { return vec_sigmoid(x); });
      case UnaryOp::LeakyRelu: {
        T slope = static_cast<T>(p0);
        return unary_loop<T, T>(in, out, [slope](T x) { return x > T(0) ? x : x * slope; });
      }
      case UnaryOp::Elu: {
        T alpha = static_cast<T>(p0), scale = static_cast<T>(p1);
        return unary_loop<T, T>(in, out, [=](T x) { return x > T(0) ? scale * x : scale * alpha * std::expm1(x); });
      }
      case UnaryOp::GeluErf: return unary_loop<T, T>(in, out, [](T x) { return gelu_erf(x); });
      case UnaryOp::GeluTanh: return unary_loop<T, T>(in, out, [](T x) { return gelu_tanh(x); });
      case UnaryOp::Silu: return unary_loop<T, T>(in, out, [](T x) { return x * vec_sigmoid(x); });
      case UnaryOp::Softplus: {
        T beta = static_cast<T>(p0), threshold = static_cast<T>(p1);
        return unary_loop<T, T>(in, out, [=](T x) {
          return x * beta > threshold ? x : std::log1p(std::exp(x * beta)) / beta;
        });
      }
      default: break;
    }
  }
  fail<DTypeError>("unary kernel: op not available for ", dtype_name(in.dtype()));
}

template <typename T>
void binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  switch (op) {
    case BinaryOp::Add:
      if constexpr (std::is_same_v<T, bool>) return binary_loop<T, T>(a, b, out, [](T x, T y) { return x || y; });
      else if (alpha == 1) return binary_loop<T, T>(a, b, out, [](T x, T y) { return static_cast<T>(x + y); });
      else {
        T al = static_cast<T>(alpha);
        return binary_loop<T, T>(a, b, out, [al](T x, T y) { return static_cast<T>(x + al * y); });
      }
    case BinaryOp::Sub:
      if constexpr (!std::is_same_v<T, bool>) {
        if (alpha == 1) return binary_loop<T, T>(a, b, out, [](T x, T y) { return static_cast<T>(x - y); });
        T al = static_cast<T>(alpha);
        return binary_loop<T, T>(a, b, out, [al](T x, T y) { return static_cast<T>(x - al * y); });
      }
      break;
    case BinaryOp::Mul:
      if constexpr (std::is_same_v<T, bool>) return binary_loop<T, T>(a, b, out, [](T x, T y) { return x && y; });
      else return binary_loop<T, T>(a, b, out, [](T x, T y) { return static_cast<T>(x * y); });
    case BinaryOp::Div:
      if constexpr (is_fp<T>) return binary_loop<T, T>(a, b, out, [](T x, T y) { return x / y; });
      break;
    case BinaryOp::Pow:
      if constexpr (is_fp<T>) return binary_loop<T, T>(a, b, out, [](T x, T y) { return std::pow(x, y); });
      else if constexpr (!std::is_same_v<T, bool>)
        return binary_loop<T, T>(a, b, out, [](T x, T y) {
          if (y < 0) return static_cast<T>(x == 1 ? 1 : (x == T(-1) ? (y % 2 ? -1 : 1) : 0));
          T r = 1;
          for (T e = y; e > 0; e >>= 1, x *= x)
            if (e & 1) r *= x;
          return r;
        });
      break;
    case BinaryOp::Maximum:
      return binary_loop<T, T>(a, b, out, [](T x, T y) {
        if constexpr (is_fp<T>) if (std::isnan(x) || std::isnan(y)) return x + y;  // NaN propagates
        return x > y ? x : y;
      });
    case BinaryOp::Minimum:
      return binary_loop<T, T>(a, b, out, [](T x, T y) {
        if constexpr (is_fp<T>) if (std::isnan(x) || std::isnan(y)) return x + y;
        return x < y ? x : y;
      });
    case BinaryOp::Atan2:
      if constexpr (is_fp<T>) return binary_loop<T, T>(a, b, out, [](T x, T y) { return std::atan2(x, y); });
      break;
    case BinaryOp::Eq: return binary_loop<bool, T>(a, b, out, [](T x, T y) { return x == y; });
    case BinaryOp::Ne: return binary_loop<bool, T>(a, b, out, [](T x, T y) { return x != y; });
    case BinaryOp::Lt: return binary_loop<bool, T>(a, b, out, [](T x, T y) { return x < y; });
    case BinaryOp::Le: return binary_loop<bool, T>(a, b, out, [](T x, T y) { return x <= y; });
    case BinaryOp::Gt: return binary_loop<bool, T>(a, b, out, [](T x, T y) { return x > y; });
    case BinaryOp::Ge: return binary_loop<bool, T>(a, b, out, [](T x, T y) { return x >= y; });
    case BinaryOp::LogicalAnd: return binary_loop<bool, T>(a, b, out, [](T x, T y) { return bool(x) && bool(y); });
    case BinaryOp::LogicalOr: return binary_loop<bool, T>(a, b, out, [](T x, T y) { return bool(x) || bool(y); });
    case BinaryOp::LogicalXor: return binary_loop<bool, T>(a, b, out, [](T x, T y) { return bool(x) != bool(y); });
    case BinaryOp::ReluBackward:
      return binary_loop<T, T>(a, b, out, [](T g, T x) { return x > T(0) ? g : T(0); });
    case BinaryOp::SigmoidBackward:
      return binary_loop<T, T>(a, b, out, [](T g, T y) { return static_cast<T>(g * y * (T(1) - y)); });
    case BinaryOp::TanhBackward:
      return binary_loop<T, T>(a, b, out, [](T g, T y) { return static_cast<T>(g * (T(1) - y * y)); });
  }
  fail<DTypeError>("binary kernel: op not available for ", dtype_name(a.dtype()));
}

// Kernels compute in every dtype but bfloat16, which ops/ widens to float32 first.
template <typename F>
void dispatch_compute(DType t, const char* op, F&& fn) {
  if (t == DType::bf16) fail<DTypeError>(op, ": bfloat16 reached a kernel; ops widen it to float32 first");
  dispatch(t, [&]<typename T>() {
    if constexpr (!std::is_same_v<T, bf16>) fn.template operator()<T>();
  });
}

}  // namespace

void unary(UnaryOp op, const Tensor& in, const Tensor& out, double p0, double p1) {
  dispatch_compute(in.dtype(), "unary", [&]<typename T>() { unary_typed<T>(op, in, out, p0, p1); });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  dispatch_compute(a.dtype(), "binary", [&]<typename T>() { binary_typed<T>(op, a, b, out, alpha); });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch(out.dtype(), [&]<typename T>() {
    auto loop = make_loop<4>(out.sizes(), {&out, &cond, &a, &b});
    run_loop(loop, [&](char** p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<T*>(p[0] + i * s[0]) = *reinterpret_cast<const bool*>(p[1] + i * s[1])
                                                      ? *reinterpret_cast<const T*>(p[2] + i * s[2])
                                                      : *reinterpret_cast<const T*>(p[3] + i * s[3]);
    });
  });
}

namespace {
template <typename D, typename S>
D convert(S v) {
  if constexpr (std::is_same_v<D, S>) return v;
  else if constexpr (std::is_same_v<S, bf16>) return convert<D, float>(static_cast<float>(v));
  else if constexpr (std::is_same_v<D, bf16>) return bf16(static_cast<float>(v));
  else if constexpr (std::is_same_v<D, bool>) return v != S(0);
  // Floats go through int64 so that narrow integers wrap (-1.0 -> uint8 255, as PyTorch
  // gives) instead of the undefined behaviour of an out-of-range float-to-int cast. NaN and
  // values beyond int64 (undefined behaviour too: fuzz/onnx_fuzz's Cast) give INT64_MIN, as
  // x86's conversion and so PyTorch there do.
  else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    constexpr S kTwoTo63 = S(9223372036854775808.0);
    const bool fits = v >= -kTwoTo63 && v < kTwoTo63;  // false for NaN
    return static_cast<D>(fits ? static_cast<int64_t>(v) : std::numeric_limits<int64_t>::min());
  } else return static_cast<D>(v);
}
}  // namespace

void copy(const Tensor& src, const Tensor& dst) {
  dispatch(dst.dtype(), [&]<typename D>() {
    dispatch(src.dtype(), [&]<typename S>() { unary_loop<D, S>(src, dst, [](S v) { return convert<D, S>(v); }); });
  });
}

void fill(const Tensor& t, double value) {
  dispatch(t.dtype(), [&]<typename T>() {
    T v = convert<T, double>(value);
    auto loop = make_loop<1>(t.sizes(), {&t});
    run_loop(loop, [v](char** p, const int64_t* s, int64_t n) {
      if (s[0] == sizeof(T)) {
        T* o = reinterpret_cast<T*>(p[0]);
        for (int64_t i = 0; i < n; ++i) o[i] = v;
      } else {
        for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
      }
    });
  });
}

}  // namespace cajal::kernels
