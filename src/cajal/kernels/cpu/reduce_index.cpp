#include "cajal/kernels/cpu/reduce_index.h"

#include <algorithm>
#include <type_traits>

#include "cajal/kernels/cpu/reduce.h"

namespace cajal::kernels {

namespace {

// Whether v, met after `best`, takes its place: it is strictly better, or it is the first
// NaN. Written without branches so the column loop vectorizes.
template <bool IsMax, typename T>
inline bool replaces(T v, T best) {
  bool better = IsMax ? v > best : v < best;
  if constexpr (std::is_floating_point_v<T>) return (better || v != v) && best == best;
  else return better;
}

template <bool IsMax, typename T>
void reduce_index_typed(const T* p, const DimLayout& l, T* values, int64_t* indices) {
  if (l.inner == 1) {
    parallel_rows(l, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* row = p + o * l.n;
        T best = row[0];
        int64_t at = 0;
        for (int64_t i = 1; i < l.n; ++i) {
          if (replaces<IsMax>(row[i], best)) {
            best = row[i];
            at = i;
          }
        }
        values[o] = best;
        indices[o] = at;
      }
    });
    return;
  }
  parallel_column_blocks(l, [&](int64_t o, int64_t j0, int64_t j1) {
    const T* first = p + o * l.n * l.inner + j0;
    T* best = values + o * l.inner + j0;
    int64_t* at = indices + o * l.inner + j0;
    int64_t w = j1 - j0;
    std::copy(first, first + w, best);
    std::fill(at, at + w, 0);
    for (int64_t i = 1; i < l.n; ++i) {
      const T* row = first + i * l.inner;
      for (int64_t j = 0; j < w; ++j) {
        bool r = replaces<IsMax>(row[j], best[j]);
        best[j] = r ? row[j] : best[j];
        at[j] = r ? i : at[j];
      }
    }
  });
}

}  // namespace

void reduce_index(IndexReduceOp op, const Tensor& in, int64_t dim, const Tensor& values, const Tensor& indices) {
  DimLayout l = dim_layout(in.sizes(), dim);
  dispatch(in.dtype(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, bf16>) {
      fail<DTypeError>("reduce_index: bfloat16 reached a kernel; ops widen it first");
    } else {
      const T* p = static_cast<const T*>(in.raw_data());
      if (op == IndexReduceOp::Max) reduce_index_typed<true>(p, l, values.data_ptr<T>(), indices.data_ptr<int64_t>());
      else reduce_index_typed<false>(p, l, values.data_ptr<T>(), indices.data_ptr<int64_t>());
    }
  });
}

}  // namespace cajal::kernels
