// im2col + GEMM convolution. For one image and group, the unfolded matrix `cols` has a row
// per (input channel, kernel row, kernel column) and a column per output position:
//   forward           y_g [O/G, P]  = w_g [O/G, K] @ cols [K, P]
//   backward_data     cols = w_g^T @ gy_g, then col2im adds each column back into gx
//   backward_weights  gw_g += gy_g [O/G, P] @ cols^T [P, K]
// with K = C/G * kH * kW and P = oH * oW.
#include "cajal/kernels/cpu/conv_im2col.h"

#include "cajal/kernels/cpu/blas.h"

#include <algorithm>
#include <cstring>

#include "cajal/core/parallel.h"

namespace cajal::kernels::im2col {

namespace {

void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

// The output positions [first, last) along one dim whose input position
// out * stride + offset lies inside [0, in_size).
struct ValidRange {
  int64_t first, last;
};
ValidRange valid_outputs(int64_t offset, int64_t stride, int64_t in_size, int64_t out_size) {
  auto ceil_div = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  int64_t first = std::clamp<int64_t>(ceil_div(-offset, stride), 0, out_size);
  int64_t last = std::clamp<int64_t>(ceil_div(in_size - offset, stride), first, out_size);
  return {first, last};
}

// Visits every (row of cols, output row) pair of one image's unfolding with the input row it
// reads (nullptr where it falls in the padding) and the output columns [valid.first,
// valid.last) that read inside the input, input column = out column * stride + offset.
template <typename T, typename F>
void for_each_patch_row(const ConvGeometry& g, int64_t channels, T* image, T* cols, const F& fn) {
  int64_t in_h = g.in_size[0], in_w = g.in_size[1], out_h = g.out_size[0], out_w = g.out_size[1];
  int64_t positions = out_h * out_w;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t ki = 0; ki < g.kernel[0]; ++ki)
      for (int64_t kj = 0; kj < g.kernel[1]; ++kj) {
        T* row = cols + ((c * g.kernel[0] + ki) * g.kernel[1] + kj) * positions;
        int64_t offset = kj * g.dilation[1] - g.pad[1];
        ValidRange valid = valid_outputs(offset, g.stride[1], in_w, out_w);
        for (int64_t oh = 0; oh < out_h; ++oh) {
          int64_t ih = oh * g.stride[0] - g.pad[0] + ki * g.dilation[0];
          T* input_row = ih >= 0 && ih < in_h ? image + (c * in_h + ih) * in_w : nullptr;
          fn(row + oh * out_w, input_row, valid, offset);
        }
      }
}

// cols = the unfolding of one image's `channels` channels.
template <typename T>
void unfold(const ConvGeometry& g, int64_t channels, const T* image, T* cols) {
  int64_t out_w = g.out_size[1], stride = g.stride[1];
  for_each_patch_row(g, channels, const_cast<T*>(image), cols, [&](T* dst, const T* src, ValidRange valid, int64_t offset) {
    if (!src) {
      std::fill(dst, dst + out_w, T(0));
      return;
    }
    std::fill(dst, dst + valid.first, T(0));
    if (stride == 1) std::memcpy(dst + valid.first, src + valid.first + offset, (valid.last - valid.first) * sizeof(T));
    else
      for (int64_t ow = valid.first; ow < valid.last; ++ow) dst[ow] = src[ow * stride + offset];
    std::fill(dst + valid.last, dst + out_w, T(0));
  });
}

// image += the folding of cols (the adjoint of unfold: each entry added where it was read).
template <typename T>
void fold(const ConvGeometry& g, int64_t channels, const T* cols, T* image) {
  int64_t stride = g.stride[1];
  for_each_patch_row(g, channels, image, const_cast<T*>(cols), [&](T* src, T* dst, ValidRange valid, int64_t offset) {
    if (!dst) return;
    for (int64_t ow = valid.first; ow < valid.last; ++ow) dst[ow * stride + offset] += src[ow];
  });
}

// Sizes of the per-group matrices.
struct GroupDims {
  int64_t in_channels, out_channels, patch, positions, in_plane;  // C/G, O/G, K, P, H*W
};
GroupDims group_dims(const ConvGeometry& g) {
  int64_t c = g.in_channels / g.groups;
  return {c, g.out_channels / g.groups, c * g.kernel[0] * g.kernel[1], g.out_size[0] * g.out_size[1],
          g.in_size[0] * g.in_size[1]};
}

// Runs fn(chunk, first_image, last_image, cols_buffer) over the batch split into `chunks`
// consecutive chunks, in parallel; each thread gets its own unfolding buffer (none for
// pointwise kernels).
template <typename T, typename F>
void for_image_chunks(const ConvGeometry& g, int64_t chunks, const F& fn) {
  GroupDims d = group_dims(g);
  parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    Tensor buffer = g.pointwise() ? Tensor() : make_tensor({d.patch * d.positions}, dtype_v<T>);
    T* cols = buffer.defined() ? buffer.data_ptr<T>() : nullptr;
    for (int64_t chunk = begin; chunk < end; ++chunk) fn(chunk, g.batch * chunk / chunks, g.batch * (chunk + 1) / chunks, cols);
  });
}

// Below this many multiply-adds a convolution runs on one thread: a parallel region costs more.
constexpr int64_t kParallelWork = 1 << 18;

// Chunks of the batch: one per thread, or one for small convolutions.
int64_t chunk_count(const ConvGeometry& g) {
  GroupDims d = group_dims(g);
  if (g.batch * g.out_channels * d.patch * d.positions < kParallelWork) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(num_threads(), g.batch));
}

template <typename T>
void forward(const ConvGeometry& g, const T* x, const T* w, T* y) {
  GroupDims d = group_dims(g);
  for_image_chunks<T>(g, chunk_count(g), [&](int64_t, int64_t first, int64_t last, T* cols) {
    for (int64_t n = first; n < last; ++n)
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* image = x + (n * g.in_channels + grp * d.in_channels) * d.in_plane;
        const T* matrix = image;
        if (cols) {
          unfold(g, d.in_channels, image, cols);
          matrix = cols;
        }
        gemm(CblasNoTrans, CblasNoTrans, d.out_channels, d.positions, d.patch, w + grp * d.out_channels * d.patch, d.patch,
             matrix, d.positions, T(0), y + (n * g.out_channels + grp * d.out_channels) * d.positions, d.positions);
      }
  });
}

template <typename T>
void backward_data(const ConvGeometry& g, const T* gy, const T* w, T* gx) {
  GroupDims d = group_dims(g);
  for_image_chunks<T>(g, chunk_count(g), [&](int64_t, int64_t first, int64_t last, T* cols) {
    for (int64_t n = first; n < last; ++n)
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        T* image = gx + (n * g.in_channels + grp * d.in_channels) * d.in_plane;
        // A pointwise kernel's unfolding is the image itself: the GEMM writes it directly.
        T* matrix = cols ? cols : image;
        gemm(CblasTrans, CblasNoTrans, d.patch, d.positions, d.out_channels, w + grp * d.out_channels * d.patch, d.patch,
             gy + (n * g.out_channels + grp * d.out_channels) * d.positions, d.positions, T(0), matrix, d.positions);
        if (cols) {
          std::fill(image, image + d.in_channels * d.in_plane, T(0));
          fold(g, d.in_channels, cols, image);
        }
      }
  });
}

template <typename T>
void backward_weights(const ConvGeometry& g, const T* x, const T* gy, T* gw) {
  GroupDims d = group_dims(g);
  int64_t weight_size = g.out_channels * d.patch;
  // Each chunk of images sums its gradient into its own buffer (the first into gw), and
  // the buffers are added at the end.
  int64_t chunks = chunk_count(g);
  Tensor partial = make_tensor({std::max<int64_t>(0, chunks - 1) * weight_size}, dtype_v<T>);
  auto sum_of = [&](int64_t chunk) { return chunk == 0 ? gw : partial.data_ptr<T>() + (chunk - 1) * weight_size; };
  for_image_chunks<T>(g, chunks, [&](int64_t chunk, int64_t first, int64_t last, T* cols) {
    T* sum = sum_of(chunk);
    std::fill(sum, sum + weight_size, T(0));
    for (int64_t n = first; n < last; ++n)
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        const T* image = x + (n * g.in_channels + grp * d.in_channels) * d.in_plane;
        const T* matrix = image;
        if (cols) {
          unfold(g, d.in_channels, image, cols);
          matrix = cols;
        }
        gemm(CblasNoTrans, CblasTrans, d.out_channels, d.patch, d.positions,
             gy + (n * g.out_channels + grp * d.out_channels) * d.positions, d.positions, matrix, d.positions, T(1),
             sum + grp * d.out_channels * d.patch, d.patch);
      }
  });
  for (int64_t chunk = 1; chunk < chunks; ++chunk) {
    const T* part = sum_of(chunk);
    for (int64_t i = 0; i < weight_size; ++i) gw[i] += part[i];
  }
}

}  // namespace

void conv_forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y) {
  dispatch_floating(x.dtype(), "conv (im2col)", [&]<typename T>() {
    forward<T>(g, x.data_ptr<T>(), w.data_ptr<T>(), y.data_ptr<T>());
  });
  if (bias.defined()) add_channel_bias(y, bias);
}

void conv_backward_data(const ConvGeometry& g, const Tensor& gy, const Tensor& w, const Tensor& bias, const Tensor& gx) {
  dispatch_floating(gy.dtype(), "conv backward (im2col)", [&]<typename T>() {
    backward_data<T>(g, gy.data_ptr<T>(), w.data_ptr<T>(), gx.data_ptr<T>());
  });
  if (bias.defined()) add_channel_bias(gx, bias);
}

void conv_backward_weights(const ConvGeometry& g, const Tensor& x, const Tensor& gy, const Tensor& gw) {
  dispatch_floating(x.dtype(), "conv weight gradient (im2col)", [&]<typename T>() {
    backward_weights<T>(g, x.data_ptr<T>(), gy.data_ptr<T>(), gw.data_ptr<T>());
  });
}

void conv_backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& gy, const Tensor& gx, const Tensor& gw,
                   const Tensor& gb) {
  if (gx.defined()) conv_backward_data(g, gy, w, Tensor(), gx);
  if (gw.defined()) conv_backward_weights(g, x, gy, gw);
  if (gb.defined()) sum_channels(gy, gb);
}

}  // namespace cajal::kernels::im2col
