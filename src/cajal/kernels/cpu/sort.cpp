#include "cajal/kernels/cpu/sort.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "cajal/core/parallel.h"

namespace cajal::kernels {

namespace {

// Whether a goes strictly before b; NaN sorts as the largest value.
template <typename T>
bool comes_before(T a, T b, bool descending) {
  using Key = std::conditional_t<std::is_same_v<T, bf16>, float, T>;  // bfloat16 compares as float
  Key x = static_cast<Key>(a), y = static_cast<Key>(b);
  bool x_nan = x != x, y_nan = y != y;
  if (x_nan || y_nan) return descending ? (x_nan && !y_nan) : (!x_nan && y_nan);
  return descending ? x > y : x < y;
}

}  // namespace

void sort_rows(const Tensor& x, int64_t k, bool descending, const Tensor& indices) {
  int64_t n = x.sizes().back();
  if (n == 0 || k == 0 || x.numel() == 0) return;
  int64_t rows = x.numel() / n;
  dispatch(x.dtype(), [&]<typename T>() {
    const T* values = x.data_ptr<T>();
    int64_t* out = indices.data_ptr<int64_t>();
    int64_t grain = std::max<int64_t>(1, kElementwiseGrain / n);
    parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
      std::vector<int64_t> order(static_cast<size_t>(n));
      for (int64_t r = begin; r < end; ++r) {
        const T* row = values + r * n;
        // Ties broken by position: a total order, so std::sort and partial_sort are stable.
        auto before = [row, descending](int64_t a, int64_t b) {
          if (comes_before(row[a], row[b], descending)) return true;
          if (comes_before(row[b], row[a], descending)) return false;
          return a < b;
        };
        std::iota(order.begin(), order.end(), int64_t{0});
        if (k < n) std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        else std::sort(order.begin(), order.end(), before);
        std::copy(order.begin(), order.begin() + k, out + r * k);
      }
    });
  });
}

}  // namespace cajal::kernels
