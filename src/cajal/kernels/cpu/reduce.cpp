#include "cajal/kernels/cpu/reduce.h"

#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>

#include "cajal/core/parallel.h"

namespace cajal::kernels {

namespace {

template <typename T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::conditional_t<std::is_same_v<T, bool>, bool, int64_t>>;

template <typename T>
struct Combine {
  ReduceOp op;
  T identity() const {
    switch (op) {
      case ReduceOp::Sum: case ReduceOp::Any: return T(0);
      case ReduceOp::Prod: case ReduceOp::All: return T(1);
      case ReduceOp::Max: return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
      case ReduceOp::Min: return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
    }
    return T(0);
  }
};

// The larger / smaller of a and b, NaN if either is (b != b only for NaN). Selects
// without branches, so loops over them vectorize.
template <typename T>
inline T max_nan(T a, T b) {
  return (b > a || b != b) ? b : a;
}
template <typename T>
inline T min_nan(T a, T b) {
  return (b < a || b != b) ? b : a;
}

// Reduces n contiguous values.
template <typename T>
T reduce_contiguous(ReduceOp op, const T* p, int64_t n) {
  switch (op) {
    case ReduceOp::Sum: {
      if constexpr (std::is_same_v<T, bool>) {
        bool r = false;
        for (int64_t i = 0; i < n; ++i) r = r || p[i];
        return r;
      } else {
        // Within 4096-element blocks, kLanes running sums (two or more vector registers,
        // so consecutive adds do not wait on each other); blocks are added in double
        // (Acc): fast and accurate.
        constexpr int64_t kLanes = 32;
        Acc<T> total = 0;
        for (int64_t b = 0; b < n; b += 4096) {
          int64_t e = std::min(n, b + 4096);
          T lanes[kLanes] = {};
          int64_t i = b;
          for (; i + kLanes <= e; i += kLanes)
            for (int64_t k = 0; k < kLanes; ++k) lanes[k] += p[i + k];
          T s = 0;
          for (; i < e; ++i) s += p[i];
          for (int64_t k = 0; k < kLanes; ++k) s += lanes[k];
          total += s;
        }
        return static_cast<T>(total);
      }
    }
    case ReduceOp::Prod: {
      Acc<T> r = 1;
      if constexpr (std::is_same_v<T, bool>) for (int64_t i = 0; i < n; ++i) r = r && p[i];
      else for (int64_t i = 0; i < n; ++i) r = r * p[i];
      return static_cast<T>(r);
    }
    case ReduceOp::Max: {
      // Vector max over the numbers, then NaN if there was one.
      T r = Combine<T>{op}.identity();
      bool nan = false;
#pragma omp simd reduction(max : r) reduction(|| : nan)
      for (int64_t i = 0; i < n; ++i) {
        r = p[i] > r ? p[i] : r;
        nan = nan || p[i] != p[i];
      }
      return nan ? std::numeric_limits<T>::quiet_NaN() : r;
    }
    case ReduceOp::Min: {
      T r = Combine<T>{op}.identity();
      bool nan = false;
#pragma omp simd reduction(min : r) reduction(|| : nan)
      for (int64_t i = 0; i < n; ++i) {
        r = p[i] < r ? p[i] : r;
        nan = nan || p[i] != p[i];
      }
      return nan ? std::numeric_limits<T>::quiet_NaN() : r;
    }
    case ReduceOp::All: {
      bool r = true;
      for (int64_t i = 0; i < n; ++i) r = r && p[i];
      return r;
    }
    case ReduceOp::Any: {
      bool r = false;
      for (int64_t i = 0; i < n; ++i) r = r || p[i];
      return r;
    }
  }
  return T(0);
}

// acc[j] = combine(acc[j], row[j]) for a row of k values (outer reductions).
template <typename T>
void combine_row(ReduceOp op, T* acc, const T* row, int64_t k) {
  switch (op) {
    case ReduceOp::Sum:
      if constexpr (std::is_same_v<T, bool>) for (int64_t j = 0; j < k; ++j) acc[j] = acc[j] || row[j];
      else for (int64_t j = 0; j < k; ++j) acc[j] += row[j];
      break;
    case ReduceOp::Prod:
      if constexpr (std::is_same_v<T, bool>) for (int64_t j = 0; j < k; ++j) acc[j] = acc[j] && row[j];
      else for (int64_t j = 0; j < k; ++j) acc[j] *= row[j];
      break;
    case ReduceOp::Max: for (int64_t j = 0; j < k; ++j) acc[j] = max_nan(acc[j], row[j]); break;
    case ReduceOp::Min: for (int64_t j = 0; j < k; ++j) acc[j] = min_nan(acc[j], row[j]); break;
    case ReduceOp::All: for (int64_t j = 0; j < k; ++j) acc[j] = acc[j] && row[j]; break;
    case ReduceOp::Any: for (int64_t j = 0; j < k; ++j) acc[j] = acc[j] || row[j]; break;
  }
}

// out[o, j] = op over i of in[o, i, j] for an [outer, n, inner] input: rows combined into
// the output one vector op per element. Float sums and products combine runs of kRowRun
// rows in float, then the runs in float64, so long columns keep their precision (as the
// contiguous path does) at nearly the speed of a float loop.
template <typename T>
void reduce_columns(ReduceOp op, const T* p, const DimLayout& l, T* out) {
  constexpr int64_t kRowRun = 32;
  bool widen = std::is_same_v<T, float> && (op == ReduceOp::Sum || op == ReduceOp::Prod);
  int64_t run = widen ? kRowRun : l.n;
  parallel_column_blocks(l, [&](int64_t o, int64_t j0, int64_t j1) {
    const T* first = p + o * l.n * l.inner + j0;
    T* acc = out + o * l.inner + j0;
    int64_t w = j1 - j0;
    double wide[kColumnBlock];  // float64 totals of the runs, when widening
    for (int64_t start = 0; start < l.n; start += run) {
      std::copy(first + start * l.inner, first + start * l.inner + w, acc);
      for (int64_t i = start + 1; i < std::min(l.n, start + run); ++i) combine_row(op, acc, first + i * l.inner, w);
      if (!widen) continue;
      if (start == 0) for (int64_t j = 0; j < w; ++j) wide[j] = acc[j];
      else if (op == ReduceOp::Sum) for (int64_t j = 0; j < w; ++j) wide[j] += acc[j];
      else for (int64_t j = 0; j < w; ++j) wide[j] *= acc[j];
    }
    if (widen) for (int64_t j = 0; j < w; ++j) acc[j] = static_cast<T>(wide[j]);
  });
}

template <typename T>
void reduce_typed(ReduceOp op, const Tensor& in, const Tensor& out) {
  const Dims& s = in.sizes();
  size_t nd = s.size();
  Dims kept, reduced;
  for (size_t d = 0; d < nd; ++d) (out.sizes()[d] == 1 && s[d] != 1 ? reduced : kept).push_back(static_cast<int64_t>(d));
  T* o = out.data_ptr<T>();
  int64_t n_out = out.numel();
  int64_t n_red = n_out == 0 ? 0 : in.numel() / std::max<int64_t>(n_out, 1);
  if (n_out == 0) return;
  if (n_red == 0) {
    for (int64_t i = 0; i < n_out; ++i) o[i] = Combine<T>{op}.identity();
    return;
  }
  // A contiguous input whose reduced dims form one block with kept dims after it: walk
  // down the columns of [outer, n, inner] (dim-0 reductions land here).
  if (in.is_contiguous() && !reduced.empty()) {
    DimLayout l = dim_layout(s, reduced.front(), reduced.back());
    if (l.inner > 1 && l.n == n_red) {
      reduce_columns(op, static_cast<const T*>(in.raw_data()), l, o);
      return;
    }
  }
  // Inner reduction: permute so reduced dims are last, make contiguous, reduce each row.
  Dims order = kept;
  for (int64_t d : reduced) order.push_back(d);
  Dims ps(nd), pst(nd);
  for (size_t i = 0; i < nd; ++i) {
    ps[i] = s[order[i]];
    pst[i] = in.strides()[order[i]];
  }
  Tensor permuted = in.detach().as_strided(ps, pst, in.offset());
  Tensor src = permuted.is_contiguous() ? permuted : permuted.contiguous();
  const T* p = static_cast<const T*>(src.raw_data());
  if (n_out == 1) {
    // One output: split the row across threads, then combine the partial results.
    int64_t threads = num_threads();
    int64_t chunk = std::max<int64_t>(kElementwiseGrain, (n_red + threads - 1) / threads);
    int64_t n_chunks = (n_red + chunk - 1) / chunk;
    std::unique_ptr<T[]> parts(new T[n_chunks]);  // not std::vector: vector<bool> has no data()
    parallel_for(0, n_chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c)
        parts[c] = reduce_contiguous(op, p + c * chunk, std::min(chunk, n_red - c * chunk));
    });
    o[0] = reduce_contiguous(op, parts.get(), n_chunks);
    return;
  }
  parallel_for(0, n_out, std::max<int64_t>(1, kElementwiseGrain / n_red), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i] = reduce_contiguous(op, p + i * n_red, n_red);
  });
}

}  // namespace

DimLayout dim_layout(const Dims& sizes, int64_t first, int64_t last) {
  DimLayout l;
  for (int64_t d = 0; d < static_cast<int64_t>(sizes.size()); ++d)
    (d < first ? l.outer : d <= last ? l.n : l.inner) *= sizes[d];
  return l;
}

void reduce(ReduceOp op, const Tensor& in, const Tensor& out) {
  dispatch(in.dtype(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, bf16>) fail<DTypeError>("reduce: bfloat16 reached a kernel; ops widen it first");
    else reduce_typed<T>(op, in, out);
  });
}

}  // namespace cajal::kernels
