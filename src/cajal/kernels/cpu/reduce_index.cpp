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

// For j < w: if v[j] replaces best[j], take it, with index first_index + j * index_step.
// A vector loop: compare and blend, no branches.
template <bool IsMax, typename T>
void take_better(const T* v, T* best, int64_t* at, int64_t w, int64_t first_index, int64_t index_step) {
  for (int64_t j = 0; j < w; ++j) {
    bool r = replaces<IsMax>(v[j], best[j]);
    best[j] = r ? v[j] : best[j];
    at[j] = r ? first_index + j * index_step : at[j];
  }
}

// The winner of one contiguous row. kLanes running winners (lane j sees elements j,
// j + kLanes, ...) vectorize like columns; the lanes are then merged, the earlier index
// winning among equal values (or NaNs), and the leftover tail is scanned.
template <bool IsMax, typename T>
void row_winner(const T* row, int64_t n, T& value, int64_t& index) {
  constexpr int64_t kLanes = 16;
  T best = row[0];
  int64_t at = 0, tail = 1;
  if (n >= 2 * kLanes) {
    T lane_best[kLanes];
    int64_t lane_at[kLanes];
    for (int64_t j = 0; j < kLanes; ++j) {
      lane_best[j] = row[j];
      lane_at[j] = j;
    }
    tail = n / kLanes * kLanes;
    for (int64_t i = kLanes; i < tail; i += kLanes) take_better<IsMax>(row + i, lane_best, lane_at, kLanes, i, 1);
    best = lane_best[0];
    at = lane_at[0];
    for (int64_t j = 1; j < kLanes; ++j) {
      T v = lane_best[j];
      bool same = v == best || (v != v && best != best);
      if (replaces<IsMax>(v, best) || (same && lane_at[j] < at)) {
        best = v;
        at = lane_at[j];
      }
    }
  }
  for (int64_t i = tail; i < n; ++i) {
    if (replaces<IsMax>(row[i], best)) {
      best = row[i];
      at = i;
    }
  }
  value = best;
  index = at;
}

template <bool IsMax, typename T>
void reduce_index_typed(const T* p, const DimLayout& l, T* values, int64_t* indices) {
  if (l.inner == 1) {
    parallel_rows(l, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) row_winner<IsMax>(p + o * l.n, l.n, values[o], indices[o]);
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
    for (int64_t i = 1; i < l.n; ++i) take_better<IsMax>(first + i * l.inner, best, at, w, i, 0);
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
