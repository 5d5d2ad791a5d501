#include "cajal/kernels/cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cajal/core/parallel.h"

namespace cajal::kernels {

namespace {

// Runs fn(plane) for every plane of x ([planes, H, W]) in parallel, `work` elements per plane.
template <typename F>
void for_each_plane(int64_t planes, int64_t work, const F& fn) {
  parallel_for(0, planes, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, work)), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) fn(p);
  });
}

int64_t plane_size(const Tensor& t) { return t.size(1) * t.size(2); }

}  // namespace

// ------------------------------------------------------------------ max pooling

namespace {

// Whether v replaces the running maximum: larger, or NaN (the last NaN wins, as PyTorch).
// Written as a value, not a branch, so the loops below compile to vector selects; random
// data would mispredict a branch about every other element.
template <typename T>
bool takes_max(T v, T max) {
  return (v > max) | (v != v);
}

// One plane's windows of output row `oh` for the columns in [first, last) whose windows lie
// inside the input, tap by tap over the whole column range: vector loops. `Stride` is the
// width stride when known at compile time (1 or 2), else 0 (read from g).
template <typename T, int Stride>
void max_row_interior(const T* in, T* out, int64_t* index, const MaxPoolGeometry& g, int64_t h0, int64_t h1, int64_t first,
                      int64_t last) {
  const int64_t in_w = g.in_size[1], stride = Stride ? Stride : g.stride[1];
  for (int64_t ow = first; ow < last; ++ow) {
    out[ow] = -std::numeric_limits<T>::infinity();
    index[ow] = h0 * in_w + ow * stride - g.pad[1];
  }
  for (int64_t ih = h0; ih < h1; ih += g.dilation[0])
    for (int64_t kw = 0; kw < g.kernel[1]; ++kw) {
      const int64_t base = ih * in_w + kw * g.dilation[1] - g.pad[1];
      for (int64_t ow = first; ow < last; ++ow) {
        const int64_t pos = base + ow * stride;
        const T v = in[pos];
        const bool take = takes_max(v, out[ow]);
        out[ow] = take ? v : out[ow];
        index[ow] = take ? pos : index[ow];
      }
    }
}

// One window clipped to the input (edge columns), visited as PyTorch visits it.
template <typename T>
void max_window(const T* in, T* out, int64_t* index, const MaxPoolGeometry& g, int64_t h0, int64_t h1, int64_t ow) {
  const int64_t in_w = g.in_size[1];
  int64_t w0 = ow * g.stride[1] - g.pad[1], w1 = std::min(w0 + (g.kernel[1] - 1) * g.dilation[1] + 1, in_w);
  while (w0 < 0) w0 += g.dilation[1];
  int64_t best = h0 * in_w + w0;
  T max = -std::numeric_limits<T>::infinity();
  for (int64_t ih = h0; ih < h1; ih += g.dilation[0])
    for (int64_t iw = w0; iw < w1; iw += g.dilation[1]) {
      const T v = in[ih * in_w + iw];
      const bool take = takes_max(v, max);
      max = take ? v : max;
      best = take ? ih * in_w + iw : best;
    }
  out[ow] = max;
  index[ow] = best;
}

template <typename T>
void max_pool_plane(const T* in, T* out, int64_t* index, const MaxPoolGeometry& g) {
  const int64_t out_h = g.out_size[0], out_w = g.out_size[1], stride = g.stride[1];
  // Columns whose windows lie inside the input: ow * stride - pad >= 0 and the last tap < in_w.
  const int64_t reach = (g.kernel[1] - 1) * g.dilation[1] + 1 - g.pad[1];  // last tap + 1 of column 0
  const int64_t first = std::min(out_w, (g.pad[1] + stride - 1) / stride);
  const int64_t last = std::max(first, std::min(out_w, g.in_size[1] >= reach ? (g.in_size[1] - reach) / stride + 1 : 0));
  for (int64_t oh = 0; oh < out_h; ++oh) {
    // The window's first row inside the input, and the end of its rows (as PyTorch).
    int64_t h0 = oh * g.stride[0] - g.pad[0], h1 = std::min(h0 + (g.kernel[0] - 1) * g.dilation[0] + 1, g.in_size[0]);
    while (h0 < 0) h0 += g.dilation[0];
    T* out_row = out + oh * out_w;
    int64_t* index_row = index + oh * out_w;
    for (int64_t ow = 0; ow < first; ++ow) max_window(in, out_row, index_row, g, h0, h1, ow);
    if (stride == 1) max_row_interior<T, 1>(in, out_row, index_row, g, h0, h1, first, last);
    else if (stride == 2) max_row_interior<T, 2>(in, out_row, index_row, g, h0, h1, first, last);
    else max_row_interior<T, 0>(in, out_row, index_row, g, h0, h1, first, last);
    for (int64_t ow = last; ow < out_w; ++ow) max_window(in, out_row, index_row, g, h0, h1, ow);
  }
}

// Windows of 2 columns that tile every row exactly (kernel width = stride = 2, the width
// twice the output's, no padding or dilation; any window height equal to its stride): the
// common 2x2 pooling.
bool windows_tile_pairs(const MaxPoolGeometry& g) {
  return g.kernel == g.stride && g.kernel[1] == 2 && g.pad == std::array<int64_t, 2>{0, 0} &&
         g.dilation == std::array<int64_t, 2>{1, 1} && g.in_size[1] == 2 * g.out_size[1] && g.out_size[0] * g.kernel[0] <= g.in_size[0];
}

// The same result for windows_tile_pairs geometries, computed in two passes that vectorize:
// the maximum of every pair of columns over the whole plane (its rows, laid end to end, are
// one sequence of pairs), then across the window's rows. Comparing row maxima in row order
// picks the same element as visiting the window row by row.
template <typename T>
void max_pool_plane_pairs(const T* in, T* out, int64_t* index, const MaxPoolGeometry& g, T* pair_max, int64_t* pair_index) {
  const int64_t out_w = g.out_size[1], rows = g.kernel[0], pairs = g.out_size[0] * rows * out_w;
  for (int64_t j = 0; j < pairs; ++j) {
    const T a = in[2 * j], b = in[2 * j + 1];
    const bool take = takes_max(b, a);
    pair_max[j] = take ? b : a;
    pair_index[j] = take ? 2 * j + 1 : 2 * j;
  }
  for (int64_t oh = 0; oh < g.out_size[0]; ++oh) {
    const T* row_max = pair_max + oh * rows * out_w;
    const int64_t* row_index = pair_index + oh * rows * out_w;
    T* o = out + oh * out_w;
    int64_t* ix = index + oh * out_w;
    std::copy(row_max, row_max + out_w, o);
    std::copy(row_index, row_index + out_w, ix);
    for (int64_t r = 1; r < rows; ++r)
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const T a = o[ow], b = row_max[r * out_w + ow];
        const bool take = takes_max(b, a);
        o[ow] = take ? b : a;
        ix[ow] = take ? row_index[r * out_w + ow] : ix[ow];
      }
  }
}

}  // namespace

void max_pool2d(const Tensor& x, const Tensor& y, const Tensor& indices, const MaxPoolGeometry& g) {
  const int64_t in_plane = g.in_size[0] * g.in_size[1], out_plane = g.out_size[0] * g.out_size[1];
  const int64_t planes = x.size(0);
  const bool pairs = windows_tile_pairs(g);
  dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    const T* px = x.data_ptr<T>();
    T* py = y.data_ptr<T>();
    int64_t* pi = indices.data_ptr<int64_t>();
    int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, out_plane * g.kernel[0] * g.kernel[1]));
    parallel_for(0, planes, grain, [&](int64_t begin, int64_t end) {
      // The pair pass's buffers: one plane's pairs, reused for every plane of this chunk.
      std::vector<T> pair_max(pairs ? in_plane / 2 : 0);
      std::vector<int64_t> pair_index(pair_max.size());
      for (int64_t p = begin; p < end; ++p) {
        if (pairs) max_pool_plane_pairs(px + p * in_plane, py + p * out_plane, pi + p * out_plane, g, pair_max.data(), pair_index.data());
        else max_pool_plane(px + p * in_plane, py + p * out_plane, pi + p * out_plane, g);
      }
    });
  });
}

void max_pool2d_backward(const Tensor& gy, const Tensor& indices, const Tensor& gx) {
  int64_t in_plane = plane_size(gx), out_plane = plane_size(gy);
  dispatch_floating(gy.dtype(), "max_pool2d backward", [&]<typename T>() {
    const T* pg = gy.data_ptr<T>();
    const int64_t* pi = indices.data_ptr<int64_t>();
    T* px = gx.data_ptr<T>();
    for_each_plane(gx.size(0), in_plane, [&](int64_t p) {
      T* out = px + p * in_plane;
      std::fill(out, out + in_plane, T(0));
      const T* g = pg + p * out_plane;
      const int64_t* index = pi + p * out_plane;
      for (int64_t i = 0; i < out_plane; ++i) out[index[i]] += g[i];
    });
  });
}

// ------------------------------------------------------------------ window sums

namespace {

// The divisor of output (i, j).
int64_t divisor_at(const Windows& h, const Windows& w, int64_t divisor, int64_t i, int64_t j) {
  return divisor > 0 ? divisor : h.count[i] * w.count[j];
}

}  // namespace

void window_average(const Tensor& x, const Tensor& y, const Windows& h, const Windows& w, int64_t divisor) {
  int64_t in_w = x.size(2), in_plane = plane_size(x), out_h = y.size(1), out_w = y.size(2);
  dispatch_floating(x.dtype(), "avg_pool", [&]<typename T>() {
    const T* px = x.data_ptr<T>();
    T* py = y.data_ptr<T>();
    for_each_plane(x.size(0), in_plane, [&](int64_t p) {
      const T* in = px + p * in_plane;
      T* out = py + p * out_h * out_w;
      for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j) {
          T sum = 0;
          for (int64_t ih = h.start[i]; ih < h.end[i]; ++ih)
            for (int64_t iw = w.start[j]; iw < w.end[j]; ++iw) sum += in[ih * in_w + iw];
          out[i * out_w + j] = sum / static_cast<T>(divisor_at(h, w, divisor, i, j));
        }
    });
  });
}

void window_average_backward(const Tensor& gy, const Tensor& gx, const Windows& h, const Windows& w, int64_t divisor) {
  int64_t in_w = gx.size(2), in_plane = plane_size(gx), out_h = gy.size(1), out_w = gy.size(2);
  dispatch_floating(gy.dtype(), "avg_pool backward", [&]<typename T>() {
    const T* pg = gy.data_ptr<T>();
    T* px = gx.data_ptr<T>();
    for_each_plane(gx.size(0), in_plane, [&](int64_t p) {
      T* out = px + p * in_plane;
      std::fill(out, out + in_plane, T(0));
      const T* g = pg + p * out_h * out_w;
      for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j) {
          T share = g[i * out_w + j] / static_cast<T>(divisor_at(h, w, divisor, i, j));
          for (int64_t ih = h.start[i]; ih < h.end[i]; ++ih)
            for (int64_t iw = w.start[j]; iw < w.end[j]; ++iw) out[ih * in_w + iw] += share;
        }
    });
  });
}

// ------------------------------------------------------------------ interpolation

namespace {

// An axis's weights in the computing type.
template <typename T>
std::array<std::vector<T>, 2> weights_as(const Taps& t) {
  return {std::vector<T>(t.weight[0].begin(), t.weight[0].end()), std::vector<T>(t.weight[1].begin(), t.weight[1].end())};
}

}  // namespace

void interpolate(const Tensor& x, const Tensor& y, const Taps& h, const Taps& w) {
  int64_t in_w = x.size(2), in_plane = plane_size(x), out_h = y.size(1), out_w = y.size(2);
  dispatch_floating(x.dtype(), "interpolate", [&]<typename T>() {
    auto wh = weights_as<T>(h), ww = weights_as<T>(w);
    const T* px = x.data_ptr<T>();
    T* py = y.data_ptr<T>();
    for_each_plane(x.size(0), out_h * out_w * h.taps * w.taps, [&](int64_t p) {
      const T* in = px + p * in_plane;
      T* out = py + p * out_h * out_w;
      for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j) {
          T sum = 0;
          for (int a = 0; a < h.taps; ++a) {
            const T* row = in + h.index[a][i] * in_w;
            T inner = 0;
            for (int b = 0; b < w.taps; ++b) inner += ww[b][j] * row[w.index[b][j]];
            sum += wh[a][i] * inner;
          }
          out[i * out_w + j] = sum;
        }
    });
  });
}

void interpolate_backward(const Tensor& gy, const Tensor& gx, const Taps& h, const Taps& w) {
  int64_t in_w = gx.size(2), in_plane = plane_size(gx), out_h = gy.size(1), out_w = gy.size(2);
  dispatch_floating(gy.dtype(), "interpolate backward", [&]<typename T>() {
    auto wh = weights_as<T>(h), ww = weights_as<T>(w);
    const T* pg = gy.data_ptr<T>();
    T* px = gx.data_ptr<T>();
    for_each_plane(gx.size(0), out_h * out_w * h.taps * w.taps, [&](int64_t p) {
      T* out = px + p * in_plane;
      std::fill(out, out + in_plane, T(0));
      const T* g = pg + p * out_h * out_w;
      for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j)
          for (int a = 0; a < h.taps; ++a) {
            T* row = out + h.index[a][i] * in_w;
            for (int b = 0; b < w.taps; ++b) row[w.index[b][j]] += wh[a][i] * ww[b][j] * g[i * out_w + j];
          }
    });
  });
}

}  // namespace cajal::kernels
