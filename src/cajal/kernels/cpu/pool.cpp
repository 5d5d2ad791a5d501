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

void max_pool2d(const Tensor& x, const Tensor& y, const Tensor& indices, const MaxPoolGeometry& g) {
  int64_t in_h = g.in_size[0], in_w = g.in_size[1], out_h = g.out_size[0], out_w = g.out_size[1];
  dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    const T* px = x.data_ptr<T>();
    T* py = y.data_ptr<T>();
    int64_t* pi = indices.data_ptr<int64_t>();
    for_each_plane(x.size(0), plane_size(y) * g.kernel[0] * g.kernel[1], [&](int64_t p) {
      const T* in = px + p * in_h * in_w;
      T* out = py + p * out_h * out_w;
      int64_t* index = pi + p * out_h * out_w;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        // The window's first row inside the input, and the end of its rows (as PyTorch).
        int64_t h0 = oh * g.stride[0] - g.pad[0], h1 = std::min(h0 + (g.kernel[0] - 1) * g.dilation[0] + 1, in_h);
        while (h0 < 0) h0 += g.dilation[0];
        for (int64_t ow = 0; ow < out_w; ++ow) {
          int64_t w0 = ow * g.stride[1] - g.pad[1], w1 = std::min(w0 + (g.kernel[1] - 1) * g.dilation[1] + 1, in_w);
          while (w0 < 0) w0 += g.dilation[1];
          int64_t best = h0 * in_w + w0;
          T max = -std::numeric_limits<T>::infinity();
          for (int64_t ih = h0; ih < h1; ih += g.dilation[0])
            for (int64_t iw = w0; iw < w1; iw += g.dilation[1]) {
              T v = in[ih * in_w + iw];
              if (v > max || std::isnan(v)) {
                max = v;
                best = ih * in_w + iw;
              }
            }
          out[oh * out_w + ow] = max;
          index[oh * out_w + ow] = best;
        }
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
