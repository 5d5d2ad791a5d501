#include "cajal/kernels/cpu/scan.h"

#include <type_traits>

#include "cajal/kernels/cpu/reduce.h"

namespace cajal::kernels {

namespace {

template <typename T>
using ScanAcc = std::conditional_t<std::is_same_v<T, float>, double, T>;

template <typename T>
void cumsum_typed(const T* in, T* out, const DimLayout& l, bool reverse) {
  // Step s visits position reverse ? n-1-s : s.
  auto position = [&](int64_t s) { return reverse ? l.n - 1 - s : s; };
  if (l.inner == 1) {
    parallel_rows(l, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        ScanAcc<T> acc = 0;
        for (int64_t s = 0; s < l.n; ++s) {
          int64_t i = o * l.n + position(s);
          acc += in[i];
          out[i] = static_cast<T>(acc);
        }
      }
    });
    return;
  }
  parallel_column_blocks(l, [&](int64_t o, int64_t j0, int64_t j1) {
    ScanAcc<T> acc[kColumnBlock] = {};
    int64_t w = j1 - j0;
    for (int64_t s = 0; s < l.n; ++s) {
      int64_t row = (o * l.n + position(s)) * l.inner + j0;
      for (int64_t j = 0; j < w; ++j) {
        acc[j] += in[row + j];
        out[row + j] = static_cast<T>(acc[j]);
      }
    }
  });
}

}  // namespace

void cumsum(const Tensor& in, const Tensor& out, int64_t dim, bool reverse) {
  DimLayout l = dim_layout(in.sizes(), dim);
  switch (in.dtype()) {
    case DType::f32: return cumsum_typed(in.data_ptr<float>(), out.data_ptr<float>(), l, reverse);
    case DType::f64: return cumsum_typed(in.data_ptr<double>(), out.data_ptr<double>(), l, reverse);
    case DType::i64: return cumsum_typed(in.data_ptr<int64_t>(), out.data_ptr<int64_t>(), l, reverse);
    default: fail<DTypeError>("cumsum kernel: expected float32, float64 or int64, got ", dtype_name(in.dtype()));
  }
}

}  // namespace cajal::kernels
