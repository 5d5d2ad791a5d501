#include "cajal/core/dtype.h"

#include <ostream>

namespace cajal {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i64: return "int64";
    case DType::i32: return "int32";
    case DType::u8: return "uint8";
    case DType::boolean: return "bool";
    case DType::bf16: return "bfloat16";
    case DType::i8: return "int8";
  }
  return "?";
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: case DType::i32: return 4;
    case DType::f64: case DType::i64: return 8;
    case DType::u8: case DType::i8: case DType::boolean: return 1;
    case DType::bf16: return 2;
  }
  return 0;
}

bool is_floating(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::bf16; }
bool is_integral(DType t, bool include_bool) {
  return t == DType::i64 || t == DType::i32 || t == DType::u8 || t == DType::i8 || (include_bool && t == DType::boolean);
}

std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

namespace {
int rank(DType t) {
  switch (t) {
    case DType::boolean: return 0;
    case DType::u8: case DType::i8: return 1;
    case DType::i32: return 2;
    case DType::i64: return 3;
    case DType::bf16: return 4;
    case DType::f32: return 5;
    case DType::f64: return 6;
  }
  return 0;
}
}  // namespace

DType promote_types(DType a, DType b) {
  if ((a == DType::u8 && b == DType::i8) || (a == DType::i8 && b == DType::u8)) return DType::i32;
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace cajal
