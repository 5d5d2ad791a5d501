#include "cajal/kernels/cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cajal/core/parallel.h"

namespace cajal::kernels {

namespace {

// --- loops along one contiguous run of values (vector loops) ---

template <typename T>
double run_sum(const T* x, int64_t len) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < len; ++i) s += x[i];
  return s;
}

// Sum of (x - mean)^2: the variance as a second pass, accurate even when the mean is large
// compared with the spread (a one-pass sum of squares would cancel).
template <typename T>
double run_centered_squares(const T* x, int64_t len, double mean) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < len; ++i) {
    double d = x[i] - mean;
    s += d * d;
  }
  return s;
}

// The backward's sums: sum(dy) and sum(dy * (x - mean)), added to the running totals.
template <typename T>
void run_grad_sums(const T* x, const T* dy, int64_t len, double mean, double& sum_dy, double& sum_dy_xc) {
  double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < len; ++i) {
    a += dy[i];
    b += dy[i] * (x[i] - mean);
  }
  sum_dy += a;
  sum_dy_xc += b;
}

// y = (x - center) * scale + offset.
template <typename T>
void run_normalize(const T* x, T* y, int64_t len, T center, T scale, T offset) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) y[i] = (x[i] - center) * scale + offset;
}

// dx = k * dy + q * (x - center) + r: every input gradient here takes this form per channel.
template <typename T>
void run_input_grad(const T* x, const T* dy, T* dx, int64_t len, T center, T k, T q, T r) {
#pragma omp simd
  for (int64_t i = 0; i < len; ++i) dx[i] = k * dy[i] + q * (x[i] - center) + r;
}

// --- statistics per channel (batch norm) ---
//
// Loops over a segment: `width` consecutive channels of one sample, s values each, which
// lie contiguous. Per-channel arguments are arrays over the segment's channels. With s == 1
// ([N, C] inputs) one vector loop runs across the channels; otherwise a loop per channel
// runs along its values.

template <typename T>
void add_sums(const T* x, int64_t width, int64_t s, double* sum) {
  if (s == 1) {
#pragma omp simd
    for (int64_t k = 0; k < width; ++k) sum[k] += x[k];
    return;
  }
  for (int64_t k = 0; k < width; ++k) sum[k] += run_sum(x + k * s, s);
}

template <typename T>
void add_centered_squares(const T* x, int64_t width, int64_t s, const T* mean, double* squares) {
  if (s == 1) {
#pragma omp simd
    for (int64_t k = 0; k < width; ++k) {
      double d = x[k] - mean[k];
      squares[k] += d * d;
    }
    return;
  }
  for (int64_t k = 0; k < width; ++k) squares[k] += run_centered_squares(x + k * s, s, mean[k]);
}

template <typename T>
void add_grad_sums(const T* x, const T* dy, int64_t width, int64_t s, const T* mean, double* sum_dy,
                   double* sum_dy_xc) {
  if (s == 1) {
#pragma omp simd
    for (int64_t k = 0; k < width; ++k) {
      sum_dy[k] += dy[k];
      sum_dy_xc[k] += dy[k] * (x[k] - mean[k]);
    }
    return;
  }
  for (int64_t k = 0; k < width; ++k) run_grad_sums(x + k * s, dy + k * s, s, mean[k], sum_dy[k], sum_dy_xc[k]);
}

// y = x * scale + shift.
template <typename T>
void scale_shift(const T* x, T* y, int64_t width, int64_t s, const T* scale, const T* shift) {
  if (s == 1) {
#pragma omp simd
    for (int64_t k = 0; k < width; ++k) y[k] = x[k] * scale[k] + shift[k];
    return;
  }
  for (int64_t k = 0; k < width; ++k) run_normalize(x + k * s, y + k * s, s, T(0), scale[k], shift[k]);
}

// dx = gain * dy + q * (x - mean) + r.
template <typename T>
void input_grad(const T* x, const T* dy, T* dx, int64_t width, int64_t s, const T* mean, const T* gain, const T* q,
                const T* r) {
  if (s == 1) {
#pragma omp simd
    for (int64_t k = 0; k < width; ++k) dx[k] = gain[k] * dy[k] + q[k] * (x[k] - mean[k]) + r[k];
    return;
  }
  for (int64_t k = 0; k < width; ++k) run_input_grad(x + k * s, dy + k * s, dx + k * s, s, mean[k], gain[k], q[k], r[k]);
}

constexpr int64_t kChannelBlock = 64;

// fn(first, width) for blocks of channels, in parallel. Channels with long runs (s >= 32)
// go one at a time, so each channel's values stay in cache from one pass to the next;
// short runs are grouped (up to kChannelBlock channels) so that loops run across channels.
template <typename F>
void for_each_channel_block(NormShape sh, const F& fn) {
  int64_t width = 1;
  if (sh.s < 32) width = std::clamp<int64_t>((sh.c + num_threads() - 1) / num_threads(), 1, kChannelBlock);
  int64_t blocks = (sh.c + width - 1) / width;
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(sh.n * sh.s * width, 1));
  parallel_for(0, blocks, grain, [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) fn(blk * width, std::min(width, sh.c - blk * width));
  });
}

// The offset of sample i's values of channel k.
inline int64_t plane(NormShape sh, int64_t i, int64_t k) { return (i * sh.c + k) * sh.s; }

template <typename T>
void batch_norm_typed(const T* x, NormShape sh, const T* w, const T* b, double eps, T* y, T* mean, T* var) {
  double count = static_cast<double>(sh.n * sh.s);
  for_each_channel_block(sh, [&](int64_t first, int64_t width) {
    double sum[kChannelBlock] = {}, squares[kChannelBlock] = {};
    for (int64_t i = 0; i < sh.n; ++i) add_sums(x + plane(sh, i, first), width, sh.s, sum);
    for (int64_t k = 0; k < width; ++k) mean[first + k] = static_cast<T>(sum[k] / count);
    for (int64_t i = 0; i < sh.n; ++i) add_centered_squares(x + plane(sh, i, first), width, sh.s, mean + first, squares);
    T scale[kChannelBlock], shift[kChannelBlock];
    for (int64_t k = 0; k < width; ++k) {
      T v = static_cast<T>(squares[k] / count);
      var[first + k] = v;
      scale[k] = static_cast<T>(w[first + k] / std::sqrt(v + eps));
      shift[k] = b[first + k] - mean[first + k] * scale[k];
    }
    for (int64_t i = 0; i < sh.n; ++i)
      scale_shift(x + plane(sh, i, first), y + plane(sh, i, first), width, sh.s, scale, shift);
  });
}

template <typename T>
void batch_norm_backward_typed(const T* x, const T* dy, NormShape sh, const T* mean, const T* var, const T* w,
                               double eps, T* dx, T* dw, T* db) {
  double count = static_cast<double>(sh.n * sh.s);
  for_each_channel_block(sh, [&](int64_t first, int64_t width) {
    double sum_dy[kChannelBlock] = {}, sum_dy_xc[kChannelBlock] = {};
    for (int64_t i = 0; i < sh.n; ++i)
      add_grad_sums(x + plane(sh, i, first), dy + plane(sh, i, first), width, sh.s, mean + first, sum_dy, sum_dy_xc);
    // dx = w rstd (dy - sum_dy / M - (x - mean) rstd^2 sum_dy_xc / M)
    T gain[kChannelBlock], q[kChannelBlock], r[kChannelBlock];
    for (int64_t k = 0; k < width; ++k) {
      double rstd = 1 / std::sqrt(var[first + k] + eps), g = w[first + k] * rstd;
      dw[first + k] = static_cast<T>(sum_dy_xc[k] * rstd);
      db[first + k] = static_cast<T>(sum_dy[k]);
      gain[k] = static_cast<T>(g);
      q[k] = static_cast<T>(-g * rstd * rstd * sum_dy_xc[k] / count);
      r[k] = static_cast<T>(-g * sum_dy[k] / count);
    }
    for (int64_t i = 0; i < sh.n; ++i) {
      int64_t at = plane(sh, i, first);
      input_grad(x + at, dy + at, dx + at, width, sh.s, mean + first, gain, q, r);
    }
  });
}

template <typename T>
void channel_affine_typed(const T* x, NormShape sh, const T* scale, const T* shift, T* y) {
  // Each task's range of (sample, channel) planes, cut where a sample ends.
  parallel_for(0, sh.n * sh.c, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(sh.s, 1)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1;) {
      int64_t k = p % sh.c, width = std::min(p1 - p, sh.c - k);
      scale_shift(x + p * sh.s, y + p * sh.s, width, sh.s, scale + k, shift + k);
      p += width;
    }
  });
}

// --- statistics per row of a sample's group of channels (group, instance, layer norm) ---

// y = (x - mean) * rstd * w + b over `channels` consecutive channels of s values.
template <typename T>
void normalize_channels(const T* x, T* y, int64_t channels, int64_t s, const T* w, const T* b, T mean, T rstd) {
  if (s == 1) {  // one value per channel (layer norm): one vector loop across them
#pragma omp simd
    for (int64_t k = 0; k < channels; ++k) y[k] = (x[k] - mean) * (rstd * w[k]) + b[k];
    return;
  }
  for (int64_t k = 0; k < channels; ++k) run_normalize(x + k * s, y + k * s, s, mean, rstd * w[k], b[k]);
}

// One row's input gradient; adds the row's share of dweight and dbias into dw and db.
template <typename T>
void group_row_backward(const T* x, const T* dy, T* dx, int64_t channels, int64_t s, const T* w, T mean,
                        double rstd, double* dw, double* db) {
  // Per channel: sum(dy) and sum(dy * (x - mean)); the row's sums weigh them by w.
  double sum_gain_dy = 0, sum_gain_dy_xc = 0;
  if (s == 1) {
#pragma omp simd reduction(+ : sum_gain_dy, sum_gain_dy_xc)
    for (int64_t k = 0; k < channels; ++k) {
      double d = dy[k], xc = x[k] - mean;
      dw[k] += d * xc * rstd;
      db[k] += d;
      sum_gain_dy += w[k] * d;
      sum_gain_dy_xc += w[k] * d * xc;
    }
  } else {
    for (int64_t k = 0; k < channels; ++k) {
      double sum_dy = 0, sum_dy_xc = 0;
      run_grad_sums(x + k * s, dy + k * s, s, mean, sum_dy, sum_dy_xc);
      dw[k] += sum_dy_xc * rstd;
      db[k] += sum_dy;
      sum_gain_dy += w[k] * sum_dy;
      sum_gain_dy_xc += w[k] * sum_dy_xc;
    }
  }
  // dx = rstd (w dy - sum(w dy) / K - (x - mean) rstd^2 sum(w dy (x - mean)) / K)
  double count = static_cast<double>(channels * s);
  T q = static_cast<T>(-rstd * rstd * rstd * sum_gain_dy_xc / count), r = static_cast<T>(-rstd * sum_gain_dy / count);
  T rs = static_cast<T>(rstd);
  if (s == 1) {
#pragma omp simd
    for (int64_t k = 0; k < channels; ++k) dx[k] = rs * w[k] * dy[k] + q * (x[k] - mean) + r;
    return;
  }
  for (int64_t k = 0; k < channels; ++k) run_input_grad(x + k * s, dy + k * s, dx + k * s, s, mean, rs * w[k], q, r);
}

template <typename T>
void group_norm_typed(const T* x, NormShape sh, int64_t groups, const T* w, const T* b, double eps, T* y, T* mean,
                      T* var) {
  int64_t per_group = sh.c / groups, row = per_group * sh.s;
  double count = static_cast<double>(row);
  parallel_for(0, sh.n * groups, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(row, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * row;
      T m = static_cast<T>(run_sum(xr, row) / count);
      T v = static_cast<T>(run_centered_squares(xr, row, m) / count);
      mean[r] = m;
      var[r] = v;
      int64_t first = (r % groups) * per_group;  // the row's first channel
      normalize_channels(xr, y + r * row, per_group, sh.s, w + first, b + first, m,
                         static_cast<T>(1 / std::sqrt(v + eps)));
    }
  });
}

template <typename T>
void group_norm_backward_typed(const T* x, const T* dy, NormShape sh, int64_t groups, const T* mean, const T* var,
                               const T* w, double eps, T* dx, T* dw, T* db) {
  int64_t per_group = sh.c / groups, row = per_group * sh.s, rows = sh.n * groups;
  // dweight and dbias sum over the samples. Each block of rows adds into float64 partial
  // sums of its own (no races), added up in block order afterwards: the result does not
  // depend on which thread ran first.
  int64_t blocks = rows * row < kElementwiseGrain ? 1 : std::min<int64_t>(rows, num_threads());
  blocks = std::max<int64_t>(blocks, 1);
  std::vector<double> partial(static_cast<size_t>(blocks * 2 * sh.c), 0.0);
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      double* pw = partial.data() + blk * 2 * sh.c;
      double* pb = pw + sh.c;
      for (int64_t r = rows * blk / blocks; r < rows * (blk + 1) / blocks; ++r) {
        int64_t first = (r % groups) * per_group;
        double rstd = 1 / std::sqrt(var[r] + eps);
        group_row_backward(x + r * row, dy + r * row, dx + r * row, per_group, sh.s, w + first, mean[r], rstd,
                           pw + first, pb + first);
      }
    }
  });
  for (int64_t k = 0; k < sh.c; ++k) {
    double sw = 0, sb = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      sw += partial[blk * 2 * sh.c + k];
      sb += partial[blk * 2 * sh.c + sh.c + k];
    }
    dw[k] = static_cast<T>(sw);
    db[k] = static_cast<T>(sb);
  }
}

}  // namespace

void batch_norm(const Tensor& x, NormShape shape, const Tensor& weight, const Tensor& bias, double eps,
                const Tensor& y, const Tensor& mean, const Tensor& var) {
  dispatch_floating(x.dtype(), "batch_norm kernel", [&]<typename T>() {
    batch_norm_typed(x.data_ptr<T>(), shape, weight.data_ptr<T>(), bias.data_ptr<T>(), eps, y.data_ptr<T>(),
                     mean.data_ptr<T>(), var.data_ptr<T>());
  });
}

void batch_norm_backward(const Tensor& x, const Tensor& dy, NormShape shape, const Tensor& mean, const Tensor& var,
                         const Tensor& weight, double eps, const Tensor& dx, const Tensor& dweight,
                         const Tensor& dbias) {
  dispatch_floating(x.dtype(), "batch_norm_backward kernel", [&]<typename T>() {
    batch_norm_backward_typed(x.data_ptr<T>(), dy.data_ptr<T>(), shape, mean.data_ptr<T>(), var.data_ptr<T>(),
                              weight.data_ptr<T>(), eps, dx.data_ptr<T>(), dweight.data_ptr<T>(), dbias.data_ptr<T>());
  });
}

void channel_affine(const Tensor& x, NormShape shape, const Tensor& scale, const Tensor& shift, const Tensor& y) {
  dispatch_floating(x.dtype(), "channel_affine kernel", [&]<typename T>() {
    channel_affine_typed(x.data_ptr<T>(), shape, scale.data_ptr<T>(), shift.data_ptr<T>(), y.data_ptr<T>());
  });
}

void group_norm(const Tensor& x, NormShape shape, int64_t groups, const Tensor& weight, const Tensor& bias,
                double eps, const Tensor& y, const Tensor& mean, const Tensor& var) {
  dispatch_floating(x.dtype(), "group_norm kernel", [&]<typename T>() {
    group_norm_typed(x.data_ptr<T>(), shape, groups, weight.data_ptr<T>(), bias.data_ptr<T>(), eps, y.data_ptr<T>(),
                     mean.data_ptr<T>(), var.data_ptr<T>());
  });
}

void group_norm_backward(const Tensor& x, const Tensor& dy, NormShape shape, int64_t groups, const Tensor& mean,
                         const Tensor& var, const Tensor& weight, double eps, const Tensor& dx,
                         const Tensor& dweight, const Tensor& dbias) {
  dispatch_floating(x.dtype(), "group_norm_backward kernel", [&]<typename T>() {
    group_norm_backward_typed(x.data_ptr<T>(), dy.data_ptr<T>(), shape, groups, mean.data_ptr<T>(), var.data_ptr<T>(),
                              weight.data_ptr<T>(), eps, dx.data_ptr<T>(), dweight.data_ptr<T>(), dbias.data_ptr<T>());
  });
}

}  // namespace cajal::kernels
