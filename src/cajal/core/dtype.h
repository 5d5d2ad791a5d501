#pragma once
// Element types, bfloat16 storage, type promotion and the dispatch helper that turns a
// runtime DType into a compile-time C++ type.
#include <cstdint>
#include <cstring>
#include <iosfwd>

#include "cajal/core/error.h"

namespace cajal {

enum class DType : uint8_t { f32, f64, i64, i32, u8, boolean, bf16, i8 };
constexpr int kNumDTypes = 8;

// bfloat16: the upper 16 bits of an IEEE float. Conversion rounds to nearest even.
struct bf16 {
  uint16_t bits = 0;
  bf16() = default;
  bf16(float f) {  // NOLINT: implicit like a float
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) {
      bits = static_cast<uint16_t>((u >> 16) | 0x40);  // keep NaN a quiet NaN
    } else {
      u += 0x7fff + ((u >> 16) & 1);
      bits = static_cast<uint16_t>(u >> 16);
    }
  }
  operator float() const {  // NOLINT
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

const char* dtype_name(DType t);  // "float32", "int64", ... as PyTorch names them
size_t dtype_size(DType t);
bool is_floating(DType t);
bool is_integral(DType t, bool include_bool = false);
std::ostream& operator<<(std::ostream& os, DType t);

// PyTorch's promotion of two tensor dtypes (bool < u8, i8 < i32 < i64 < bf16 < f32 < f64;
// bf16 with an integer gives bf16; u8 with i8 gives i32, where PyTorch gives int16, which
// cajal lacks). Named `promote_types` like torch.promote_types.
DType promote_types(DType a, DType b);

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::boolean; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<int8_t> { static constexpr DType value = DType::i8; };
template <typename T> constexpr DType dtype_v = dtype_of<T>::value;

// Calls fn.template operator()<T>() with T the C++ type of `t`:
//   dispatch(t, [&]<typename T>() { ... });
template <typename F>
decltype(auto) dispatch(DType t, F&& fn) {
  switch (t) {
    case DType::f32: return fn.template operator()<float>();
    case DType::f64: return fn.template operator()<double>();
    case DType::i64: return fn.template operator()<int64_t>();
    case DType::i32: return fn.template operator()<int32_t>();
    case DType::u8: return fn.template operator()<uint8_t>();
    case DType::boolean: return fn.template operator()<bool>();
    case DType::bf16: return fn.template operator()<bf16>();
    case DType::i8: return fn.template operator()<int8_t>();
  }
  fail<DTypeError>("unknown dtype");
}

// Same, for the two types arithmetic kernels are compiled for (bf16 computes through f32).
template <typename F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& fn) {
  switch (t) {
    case DType::f32: return fn.template operator()<float>();
    case DType::f64: return fn.template operator()<double>();
    default: fail<DTypeError>(op, ": expected a floating point tensor, got ", dtype_name(t));
  }
}

}  // namespace cajal
