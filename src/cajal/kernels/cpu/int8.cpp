#include "cajal/kernels/cpu/int8.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cajal/core/parallel.h"

#ifdef CAJAL_WITH_ONEDNN
#include "cajal/kernels/cpu/onednn_common.h"
#endif

namespace cajal::kernels::int8 {

namespace {

void check(const Tensor& t, DType dtype, int64_t dims, const char* what) {
  if (t.dtype() != dtype || t.dim() != dims || !t.is_contiguous())
    fail<ValueError>("int8 ", what, ": expected a contiguous ", dims, "-d ", dtype_name(dtype), " tensor, got ", t.dtype(), " ", t.sizes());
}

// Writes output channel c's requantized value of `acc` at out[i].
struct Store {
  const float* scale;
  const float* bias;
  float zero_point;
  void operator()(void* out, int64_t i, int64_t c, int32_t acc, bool float_output) const {
    const float y = (static_cast<float>(acc) + bias[c]) * scale[c] + zero_point;
    if (float_output) static_cast<float*>(out)[i] = y;
    else static_cast<uint8_t*>(out)[i] = static_cast<uint8_t>(std::clamp(std::nearbyint(y), 0.0f, 255.0f));
  }
};

Store store_of(const Requantize& rq) { return {rq.scale.data_ptr<float>(), rq.bias.data_ptr<float>(), rq.zero_point}; }

}  // namespace

#ifdef CAJAL_WITH_ONEDNN
namespace {

using onednn::memory;
using onednn::Tag;
using dt = memory::data_type;

// A primitive for one batch size, with its weights in the layout it chose.
struct Prepared {
  dnnl::primitive primitive;
  memory::desc src, dst, scratchpad;
  Tensor weights;  // bytes in the chosen layout
  memory::desc weights_desc;
};
// Prepared primitives by batch size (onednn::PrimitiveCache: made once, bounded).
using PreparedByBatch = onednn::PrimitiveCache<int64_t, Prepared>;

dnnl::primitive_attr requantize_attr(const Requantize& rq) {
  dnnl::primitive_attr attr = onednn::user_scratchpad();
  attr.set_output_scales(1 << 1, rq.scale.to_vector<float>());  // one scale per output channel (dim 1)
  if (rq.zero_point != 0) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, 1.0f, rq.zero_point);
    attr.set_post_ops(ops);
  }
  return attr;
}

// Reorders plain int8 weights into the primitive's layout, once.
Tensor reorder_weights(const Tensor& weight, const memory::desc& plain, const memory::desc& chosen) {
  Tensor out = onednn::CallBuffers::storage_for(chosen);
  onednn::CallBuffers buffers;
  onednn::reorder(memory(plain, onednn::engine(), weight.raw_data()), memory(chosen, onednn::engine(), out.raw_data()), buffers);
  return out;
}

// The primitive of `pd` for plain int8 weights `weight` (layout `plain`), its weights reordered.
template <class Primitive, class PrimitiveDesc>
Prepared prepare(const PrimitiveDesc& pd, const memory::desc& src, const memory::desc& dst, const Tensor& weight,
                 const memory::desc& plain) {
  return {Primitive(pd), src, dst, pd.scratchpad_desc(), reorder_weights(weight, plain, pd.weights_desc()), pd.weights_desc()};
}

Tensor run(const Prepared& p, const Tensor& x, const Dims& out_sizes, const Requantize& rq) {
  Tensor out = make_tensor(out_sizes, rq.float_output ? DType::f32 : DType::u8);
  onednn::CallBuffers buffers;
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(p.src, onednn::engine(), x.raw_data())},
      {DNNL_ARG_WEIGHTS, memory(p.weights_desc, onednn::engine(), p.weights.raw_data())},
      {DNNL_ARG_BIAS, memory(memory::desc({rq.bias.numel()}, dt::f32, Tag::x), onednn::engine(), rq.bias.raw_data())},
      {DNNL_ARG_DST, memory(p.dst, onednn::engine(), out.raw_data())}};
  if (p.scratchpad.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, buffers.make(p.scratchpad));
  p.primitive.execute(onednn::stream(), args);
  return out;
}

}  // namespace
#endif

// ---- convolution ----------------------------------------------------------------------

struct Conv::Impl {
  Tensor weight;
  ConvGeometry g;
  Requantize rq;
  // Few input channels (an image's first layer): the VNNI kernels multiply groups of 4
  // channels, so 1 channel would waste 3/4 of the work; the patches then go through a
  // fully connected product instead (weights as [O, kH * kW * C]).
  std::unique_ptr<Linear> patches;
  std::unique_ptr<Conv> unpadded;  // for an input zero point other than 0 (made on first use)
#ifdef CAJAL_WITH_ONEDNN
  PreparedByBatch by_batch;

  std::shared_ptr<const Prepared> prepared(int64_t batch) {
    return by_batch.get(batch, [&] {
      const memory::dims x{batch, g.in_channels, g.in_size[0], g.in_size[1]}, y{batch, g.out_channels, g.out_size[0], g.out_size[1]};
      const memory::dims w{g.out_channels, g.in_channels, g.kernel[0], g.kernel[1]};
      memory::desc src(x, dt::u8, Tag::nhwc), dst(y, rq.float_output ? dt::f32 : dt::u8, Tag::nhwc);
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                                           memory::desc(w, dt::s8, Tag::any), memory::desc({g.out_channels}, dt::f32, Tag::x), dst,
                                           {g.stride[0], g.stride[1]}, {g.dilation[0] - 1, g.dilation[1] - 1}, {g.pad[0], g.pad[1]},
                                           {g.pad_after(0), g.pad_after(1)});
      dnnl::convolution_forward::primitive_desc pd(desc, requantize_attr(rq), onednn::engine());
      return prepare<dnnl::convolution_forward>(pd, src, dst, weight, memory::desc(w, dt::s8, Tag::oihw));
    });
  }
#endif
};

Conv::Conv(const Tensor& weight, const ConvGeometry& geometry, Requantize requantize)
    : impl_(std::make_unique<Impl>()) {
  check(weight, DType::i8, 4, "convolution weight");
  if (geometry.groups != 1) fail<ValueError>("int8 convolution: groups must be 1, got ", geometry.groups);
  impl_->weight = weight;
  impl_->g = geometry;
  impl_->rq = std::move(requantize);
  if (geometry.in_channels < 4) {
    const int64_t O = weight.size(0), C = weight.size(1), KH = weight.size(2), KW = weight.size(3);
    Tensor flat = make_tensor({O, KH * KW * C}, DType::i8);
    const int8_t* from = weight.data_ptr<int8_t>();
    int8_t* to = flat.data_ptr<int8_t>();
    for (int64_t o = 0; o < O; ++o)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t k = 0; k < KH * KW; ++k) to[(o * KH * KW + k) * C + c] = from[(o * C + c) * KH * KW + k];
    impl_->patches = std::make_unique<Linear>(flat, impl_->rq);
  }
}
Conv::~Conv() = default;

namespace {
// The patches of a uint8 NHWC input: row (n, oh, ow) holds the kH x kW x C codes its output
// reads (pad_code outside the input).
// x padded by hand with `code` (the geometry's padding before and after each spatial dim).
Tensor padded(const Tensor& x, const ConvGeometry& g, uint8_t code) {
  const int64_t N = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t top = g.pad[0], left = g.pad[1];
  const int64_t PH = H + top + std::max<int64_t>(0, g.pad_after(0)), PW = W + left + std::max<int64_t>(0, g.pad_after(1));
  Tensor out = make_tensor({N, PH, PW, C}, DType::u8);
  const uint8_t* from = x.data_ptr<uint8_t>();
  uint8_t* to = out.data_ptr<uint8_t>();
  std::fill(to, to + out.numel(), code);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h) std::copy(from + (n * H + h) * W * C, from + (n * H + h + 1) * W * C, to + ((n * PH + h + top) * PW + left) * C);
  return out;
}

// Copies n codes.
void copy_codes(uint8_t* __restrict to, const uint8_t* __restrict from, int64_t n) {
  for (int64_t j = 0; j < n; ++j) to[j] = from[j];
}

Tensor patches_of(const Tensor& x, const ConvGeometry& g, uint8_t pad_code) {
  const int64_t N = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t KH = g.kernel[0], KW = g.kernel[1], OH = g.out_size[0], OW = g.out_size[1], K = KH * KW * C;
  Tensor out = make_tensor({N * OH * OW, K}, DType::u8);
  const uint8_t* in = x.data_ptr<uint8_t>();
  uint8_t* col = out.data_ptr<uint8_t>();
  parallel_for(0, N * OH, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / OH, oh = r % OH;
      uint8_t* d = col + r * OW * K;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t iw0 = ow * g.stride[1] - g.pad[1];
        const bool row_inside = iw0 >= 0 && iw0 + (KW - 1) * g.dilation[1] < W && g.dilation[1] == 1;
        for (int64_t kh = 0; kh < KH; ++kh, d += KW * C) {
          const int64_t ih = oh * g.stride[0] - g.pad[0] + kh * g.dilation[0];
          if (ih < 0 || ih >= H) {
            std::fill(d, d + KW * C, pad_code);
          } else if (row_inside) {
            copy_codes(d, in + ((n * H + ih) * W + iw0) * C, KW * C);  // the window's row is contiguous
          } else {
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = iw0 + kw * g.dilation[1];
              for (int64_t c = 0; c < C; ++c) d[kw * C + c] = iw >= 0 && iw < W ? in[((n * H + ih) * W + iw) * C + c] : pad_code;
            }
          }
        }
      }
    }
  });
  return out;
}
}  // namespace

Tensor Conv::operator()(const Tensor& x) const {
  const ConvGeometry& g = impl_->g;
  const Requantize& rq = impl_->rq;
  check(x, DType::u8, 4, "convolution input");
  if (x.size(1) != g.in_size[0] || x.size(2) != g.in_size[1] || x.size(3) != g.in_channels)
    fail<ShapeError>("int8 convolution: expected input [N, ", g.in_size[0], ", ", g.in_size[1], ", ", g.in_channels, "], got ", x.sizes());
  const int64_t batch = x.size(0);
  const Dims out_sizes{batch, g.out_size[0], g.out_size[1], g.out_channels};
  if (impl_->patches) return (*impl_->patches)(patches_of(x, g, rq.input_zero_point)).view(out_sizes);
  if (rq.input_zero_point != 0 && (g.pad[0] > 0 || g.pad[1] > 0 || g.pad_after(0) > 0 || g.pad_after(1) > 0)) {
    // The kernels below pad with code 0: pad with the zero point by hand, then convolve unpadded.
    if (!impl_->unpadded) {
      ConvGeometry inner = g;
      for (int d = 0; d < 2; ++d) inner.in_size[d] += g.pad[d] + std::max<int64_t>(0, g.pad_after(d));
      inner.pad = {0, 0};
      Requantize rq_inner = rq;
      rq_inner.input_zero_point = 0;
      impl_->unpadded = std::make_unique<Conv>(impl_->weight, inner, rq_inner);
    }
    return (*impl_->unpadded)(padded(x, g, rq.input_zero_point));
  }
#ifdef CAJAL_WITH_ONEDNN
  if (batch > 0) return run(*impl_->prepared(batch), x, out_sizes, rq);
#endif
  Tensor out = make_tensor(out_sizes, rq.float_output ? DType::f32 : DType::u8);
  const uint8_t* in = x.data_ptr<uint8_t>();
  const int8_t* w = impl_->weight.data_ptr<int8_t>();
  const Store store = store_of(rq);
  const int64_t C = g.in_channels, O = g.out_channels, H = g.in_size[0], W = g.in_size[1];
  const int64_t KH = g.kernel[0], KW = g.kernel[1], OH = g.out_size[0], OW = g.out_size[1];
  void* dst = out.raw_data();
  parallel_for(0, batch * OH, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / OH, oh = row % OH;
      for (int64_t ow = 0; ow < OW; ++ow) {
        for (int64_t o = 0; o < O; ++o) {
          int32_t acc = 0;
          for (int64_t kh = 0; kh < KH; ++kh) {
            const int64_t ih = oh * g.stride[0] - g.pad[0] + kh * g.dilation[0];
            if (ih < 0 || ih >= H) continue;
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = ow * g.stride[1] - g.pad[1] + kw * g.dilation[1];
              if (iw < 0 || iw >= W) continue;
              const uint8_t* px = in + ((n * H + ih) * W + iw) * C;
              for (int64_t c = 0; c < C; ++c) acc += px[c] * w[((o * C + c) * KH + kh) * KW + kw];
            }
          }
          store(dst, ((n * OH + oh) * OW + ow) * O + o, o, acc, rq.float_output);
        }
      }
    }
  });
  return out;
}

// ---- fully connected ------------------------------------------------------------------

struct Linear::Impl {
  Tensor weight;
  Requantize rq;
#ifdef CAJAL_WITH_ONEDNN
  PreparedByBatch by_batch;

  std::shared_ptr<const Prepared> prepared(int64_t batch) {
    return by_batch.get(batch, [&] {
      const int64_t O = weight.size(0), K = weight.size(1);
      memory::desc src({batch, K}, dt::u8, Tag::nc), dst({batch, O}, rq.float_output ? dt::f32 : dt::u8, Tag::nc);
      dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference, src, memory::desc({O, K}, dt::s8, Tag::any),
                                             memory::desc({O}, dt::f32, Tag::x), dst);
      dnnl::inner_product_forward::primitive_desc pd(desc, requantize_attr(rq), onednn::engine());
      return prepare<dnnl::inner_product_forward>(pd, src, dst, weight, memory::desc({O, K}, dt::s8, Tag::oi));
    });
  }
#endif
};

Linear::Linear(const Tensor& weight, Requantize requantize) : impl_(std::make_unique<Impl>()) {
  check(weight, DType::i8, 2, "linear weight");
  impl_->weight = weight;
  impl_->rq = std::move(requantize);
}
Linear::~Linear() = default;

Tensor Linear::operator()(const Tensor& x) const {
  const Requantize& rq = impl_->rq;
  const int64_t O = impl_->weight.size(0), K = impl_->weight.size(1);
  check(x, DType::u8, 2, "linear input");
  if (x.size(1) != K) fail<ShapeError>("int8 linear: expected input [N, ", K, "], got ", x.sizes());
  const int64_t batch = x.size(0);
#ifdef CAJAL_WITH_ONEDNN
  if (batch > 0) return run(*impl_->prepared(batch), x, Dims{batch, O}, rq);
#endif
  Tensor out = make_tensor({batch, O}, rq.float_output ? DType::f32 : DType::u8);
  const uint8_t* in = x.data_ptr<uint8_t>();
  const int8_t* w = impl_->weight.data_ptr<int8_t>();
  const Store store = store_of(rq);
  void* dst = out.raw_data();
  parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t o = 0; o < O; ++o) {
        int32_t acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += in[n * K + k] * w[o * K + k];
        store(dst, n * O + o, o, acc, rq.float_output);
      }
    }
  });
  return out;
}

namespace {
// Rounds half to even by adding and taking away 1.5 * 2^23 (exact for |v| < 2^22, where the
// clamp keeps it): nearbyint's result in a loop the compiler vectorizes (restrict: the
// uint8_t output would otherwise alias everything).
void quantize_span(const float* __restrict in, uint8_t* __restrict q, int64_t n, float inv_scale, float zero_point) {
  for (int64_t i = 0; i < n; ++i) {
    const float scaled = in[i] * inv_scale;  // NaN becomes -1024 (code 0), not a float-to-int overflow
    const float v = scaled > -1024.0f ? (scaled < 1024.0f ? scaled : 1024.0f) : -1024.0f;
    const float rounded = (v + 12582912.0f) - 12582912.0f;
    q[i] = static_cast<uint8_t>(std::clamp(zero_point + rounded, 0.0f, 255.0f));
  }
}
}  // namespace

Tensor quantize_u8(const Tensor& x, float scale, float zero_point) {
  if (x.dtype() != DType::f32 || !x.is_contiguous()) fail<ValueError>("quantize_u8: expected a contiguous float32 tensor");
  Tensor out = make_tensor(x.sizes(), DType::u8);
  const float* in = x.data_ptr<float>();
  uint8_t* q = out.data_ptr<uint8_t>();
  const float inv_scale = 1.0f / scale;
  parallel_for(0, x.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    quantize_span(in + begin, q + begin, end - begin, inv_scale, zero_point);
  });
  return out;
}

// ---- pooling ----------------------------------------------------------------------------

namespace {
// out[c] = max(out[c], in[c]): the pointers never overlap, which lets the loop vectorize.
void max_into(uint8_t* __restrict out, const uint8_t* __restrict in, int64_t n) {
  for (int64_t c = 0; c < n; ++c) out[c] = std::max(out[c], in[c]);
}
}  // namespace

Tensor max_pool(const Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride, std::array<int64_t, 2> pad) {
  check(x, DType::u8, 4, "max pool input");
  const int64_t N = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const int64_t OH = (H + 2 * pad[0] - kernel[0]) / stride[0] + 1, OW = (W + 2 * pad[1] - kernel[1]) / stride[1] + 1;
  Tensor out = make_tensor({N, OH, OW, C}, DType::u8);
  const uint8_t* in = x.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  // Separably: the rows of a window first (whole rows of W * C codes at once), then its columns.
  parallel_for(0, N * OH, 1, [&](int64_t begin, int64_t end) {
    std::vector<uint8_t> rows(static_cast<size_t>(W * C));
    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / OH, oh = r % OH;
      std::fill(rows.begin(), rows.end(), uint8_t{0});
      for (int64_t kh = 0; kh < kernel[0]; ++kh) {
        const int64_t ih = oh * stride[0] - pad[0] + kh;
        if (ih >= 0 && ih < H) max_into(rows.data(), in + (n * H + ih) * W * C, W * C);
      }
      for (int64_t ow = 0; ow < OW; ++ow) {
        uint8_t* o = dst + ((n * OH + oh) * OW + ow) * C;
        std::fill(o, o + C, uint8_t{0});
        for (int64_t kw = 0; kw < kernel[1]; ++kw) {
          const int64_t iw = ow * stride[1] - pad[1] + kw;
          if (iw >= 0 && iw < W) max_into(o, rows.data() + iw * C, C);
        }
      }
    }
  });
  return out;
}

}  // namespace cajal::kernels::int8
