#include "cajal/kernels/cpu/reduce.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>
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

template <typename T>
inline T max_nan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return a > b ? a : b;
}
template <typename T>
inline T min_nan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return a < b ? a : b;
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
        // Vector lanes within 4096-element blocks, blocks added in double: fast and accurate.
        Acc<T> total = 0;
        for (int64_t b = 0; b < n; b += 4096) {
          int64_t e = std::min(n, b + 4096);
          T s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t i = b; i < e; ++i) s += p[i];
          total += s;
        }
        return static_cast<T>(total);
      }
    }
    case ReduceOp::Prod: {
      Acc<T> r = 1;
      for (int64_t i = 0; i < n; ++i) r = r * p[i];
      return static_cast<T>(r);
    }
    case ReduceOp::Max: {
      T r = Combine<T>{op}.identity();
      bool nan = false;
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>) nan = nan || std::isnan(p[i]);
        r = p[i] > r ? p[i] : r;
      }
      return nan ? std::numeric_limits<T>::quiet_NaN() : r;
    }
    case ReduceOp::Min: {
      T r = Combine<T>{op}.identity();
      bool nan = false;
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>) nan = nan || std::isnan(p[i]);
        r = p[i] < r ? p[i] : r;
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
  // Outer reduction of a contiguous tensor: reduced dims all before kept dims.
  bool outer = in.is_contiguous() && !kept.empty() && !reduced.empty() && reduced.back() < kept.front();
  if (outer) {
    const T* p = static_cast<const T*>(in.raw_data());
    int64_t k = n_out;
    parallel_for(0, k, 1024, [&](int64_t b, int64_t e) {
      std::vector<Acc<T>> wide;
      T* acc = o + b;
      for (int64_t j = b; j < e; ++j) acc[j - b] = p[j];
      if constexpr (std::is_same_v<T, float>) {
        // Sum float rows in float64 so long columns keep their precision.
        if (op == ReduceOp::Sum) {
          wide.assign(acc, acc + (e - b));
          for (int64_t i = 1; i < n_red; ++i) {
            const T* row = p + i * k + b;
            for (int64_t j = 0; j < e - b; ++j) wide[j] += row[j];
          }
          for (int64_t j = 0; j < e - b; ++j) acc[j] = static_cast<T>(wide[j]);
          return;
        }
      }
      for (int64_t i = 1; i < n_red; ++i) combine_row(op, acc, p + i * k + b, e - b);
    });
    return;
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

void reduce(ReduceOp op, const Tensor& in, const Tensor& out) {
  dispatch(in.dtype(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, bf16>) fail<DTypeError>("reduce: bfloat16 reached a kernel; ops widen it first");
    else reduce_typed<T>(op, in, out);
  });
}

}  // namespace cajal::kernels
