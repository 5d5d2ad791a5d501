#include "cajal/kernels/cpu/conv_onednn.h"

#ifdef CAJAL_WITH_ONEDNN

#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cajal/kernels/cpu/onednn_common.h"

namespace cajal::kernels::onednn {

namespace {

// One tensor argument of a primitive: cajal's plain layout and the one the primitive chose
// (reordered between, when they differ).
struct Operand {
  int arg;      // DNNL_ARG_SRC, ...
  bool output;  // written by the primitive (reordered back to plain afterwards)
  memory::desc plain, chosen;
};

// A ready primitive and its operands.
struct Primitive {
  dnnl::primitive primitive;
  memory::desc scratchpad;
  std::vector<Operand> operands;
};

memory::desc any_activation(int64_t n, int64_t c, const std::array<int64_t, 2>& hw) {
  return memory::desc({n, c, hw[0], hw[1]}, memory::data_type::f32, Tag::any);
}
// The convolution's descriptors: layouts left to oneDNN (`any`), so it picks its fastest kernel.
struct ConvDescs {
  memory::desc src, weights, bias, dst;
  memory::dims strides, dilates, pad_before, pad_after;
  explicit ConvDescs(const ConvGeometry& g)
      : src(any_activation(g.batch, g.in_channels, g.in_size)),
        weights(weights_desc(g, true)),
        bias(bias_desc(g)),
        dst(any_activation(g.batch, g.out_channels, g.out_size)),
        strides{g.stride[0], g.stride[1]},
        dilates{g.dilation[0] - 1, g.dilation[1] - 1},  // oneDNN counts the gaps
        pad_before{g.pad[0], g.pad[1]},
        pad_after{g.pad_after(0), g.pad_after(1)} {}
};

dnnl::convolution_forward::primitive_desc forward_desc(const ConvGeometry& g, bool with_bias) {
  ConvDescs d(g);
  auto desc = with_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.src,
                                                          d.weights, d.bias, d.dst, d.strides, d.dilates, d.pad_before, d.pad_after)
                        : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.src,
                                                          d.weights, d.dst, d.strides, d.dilates, d.pad_before, d.pad_after);
  return {desc, user_scratchpad(), engine()};
}

enum class Kind { Forward, ForwardWithBias, BackwardData, BackwardWeights, BackwardWeightsWithBias };

Primitive make_primitive(const ConvGeometry& g, Kind kind) {
  memory::desc x = plain_activation(g.batch, g.in_channels, g.in_size), y = plain_activation(g.batch, g.out_channels, g.out_size);
  memory::desc w = weights_desc(g, false);
  ConvDescs d(g);
  switch (kind) {
    case Kind::Forward:
    case Kind::ForwardWithBias: {
      auto pd = forward_desc(g, kind == Kind::ForwardWithBias);
      Primitive p{dnnl::convolution_forward(pd), pd.scratchpad_desc(),
                  {{DNNL_ARG_SRC, false, x, pd.src_desc()}, {DNNL_ARG_WEIGHTS, false, w, pd.weights_desc()},
                   {DNNL_ARG_DST, true, y, pd.dst_desc()}}};
      if (kind == Kind::ForwardWithBias) p.operands.push_back({DNNL_ARG_BIAS, false, d.bias, pd.bias_desc()});
      return p;
    }
    case Kind::BackwardData: {
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.dst, d.strides, d.dilates,
                                                 d.pad_before, d.pad_after);
      dnnl::convolution_backward_data::primitive_desc pd(desc, user_scratchpad(), engine(), forward_desc(g, false));
      return {dnnl::convolution_backward_data(pd), pd.scratchpad_desc(),
              {{DNNL_ARG_DIFF_DST, false, y, pd.diff_dst_desc()}, {DNNL_ARG_WEIGHTS, false, w, pd.weights_desc()},
               {DNNL_ARG_DIFF_SRC, true, x, pd.diff_src_desc()}}};
    }
    case Kind::BackwardWeights:
    case Kind::BackwardWeightsWithBias: {
      bool with_bias = kind == Kind::BackwardWeightsWithBias;
      auto desc = with_bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.bias, d.dst,
                                                                       d.strides, d.dilates, d.pad_before, d.pad_after)
                            : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.dst,
                                                                       d.strides, d.dilates, d.pad_before, d.pad_after);
      dnnl::convolution_backward_weights::primitive_desc pd(desc, user_scratchpad(), engine(), forward_desc(g, false));
      Primitive p{dnnl::convolution_backward_weights(pd), pd.scratchpad_desc(),
                  {{DNNL_ARG_SRC, false, x, pd.src_desc()}, {DNNL_ARG_DIFF_DST, false, y, pd.diff_dst_desc()},
                   {DNNL_ARG_DIFF_WEIGHTS, true, w, pd.diff_weights_desc()}}};
      if (with_bias) p.operands.push_back({DNNL_ARG_DIFF_BIAS, true, d.bias, pd.diff_bias_desc()});
      return p;
    }
  }
  fail<ValueError>("conv (oneDNN): unknown primitive kind");
}

// Primitives by geometry and kind, created on first use and kept (PrimitiveCache).
std::shared_ptr<const Primitive> primitive_for(const ConvGeometry& g, Kind kind) {
  struct Key {
    ConvGeometry geometry;
    Kind kind;
    bool operator==(const Key&) const = default;
  };
  static PrimitiveCache<Key, Primitive> cache;
  return cache.get({g, kind}, [&] {
    try {
      return make_primitive(g, kind);
    } catch (const dnnl::error& e) {
      fail<ValueError>("conv (oneDNN): no primitive for this convolution (", e.what(),
                       "); set_conv_backend(ConvBackend::Im2col) computes it without oneDNN");
    }
  });
}

// The primitives of one kernel call. Each runs with tensors[i] bound to its operands[i]
// (contiguous float32 tensors in cajal's layout); an input that an earlier primitive of the
// same call already reordered into the same layout is not reordered again (the output
// gradient, shared by the data and weight gradients).
class Call {
 public:
  Call() = default;
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  ~Call() { stream().wait(); }

  void run(const Primitive& p, std::initializer_list<const Tensor*> tensors) {
    std::unordered_map<int, memory> args;
    std::vector<std::pair<const Operand*, const Tensor*>> outputs;  // reordered back after the run
    auto tensor = tensors.begin();
    for (const Operand& op : p.operands) {
      const Tensor* t = *tensor++;
      if (op.plain == op.chosen) args.emplace(op.arg, memory(op.plain, engine(), t->raw_data()));
      else if (op.output) args.emplace(op.arg, buffers_.make(op.chosen));
      else args.emplace(op.arg, reordered(op, *t));
      if (op.output && op.plain != op.chosen) outputs.emplace_back(&op, t);
    }
    if (p.scratchpad.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, buffers_.make(p.scratchpad));
    p.primitive.execute(stream(), args);
    for (auto [op, t] : outputs) reorder(args.at(op->arg), memory(op->plain, engine(), t->raw_data()), buffers_);
  }

 private:
  // t's values in op's chosen layout.
  memory reordered(const Operand& op, const Tensor& t) {
    for (const auto& [data, m] : reordered_)
      if (data == t.raw_data() && m.get_desc() == op.chosen) return m;
    memory chosen = buffers_.make(op.chosen);
    reorder(memory(op.plain, engine(), t.raw_data()), chosen, buffers_);
    reordered_.emplace_back(t.raw_data(), chosen);
    return chosen;
  }

  CallBuffers buffers_;
  std::vector<std::pair<const void*, memory>> reordered_;
};

void run(const std::shared_ptr<const Primitive>& p, std::initializer_list<const Tensor*> tensors) { Call().run(*p, tensors); }

}  // namespace

bool available() { return true; }

bool supports(const ConvGeometry& g, DType dtype) {
  // oneDNN needs pad_after > -stride: true for every convolution, and for transposed ones
  // unless output_padding exceeds stride + padding (possible only with a dilation larger
  // than the stride).
  return dtype == DType::f32 && g.batch > 0 && g.pad_after(0) + g.stride[0] > 0 && g.pad_after(1) + g.stride[1] > 0;
}

void conv_forward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y) {
  if (bias.defined()) run(primitive_for(g, Kind::ForwardWithBias), {&x, &w, &y, &bias});
  else run(primitive_for(g, Kind::Forward), {&x, &w, &y});
}

void conv_backward_data(const ConvGeometry& g, const Tensor& gy, const Tensor& w, const Tensor& bias, const Tensor& gx) {
  run(primitive_for(g, Kind::BackwardData), {&gy, &w, &gx});
  if (bias.defined()) add_channel_bias(gx, bias);
}

void conv_backward_weights(const ConvGeometry& g, const Tensor& x, const Tensor& gy, const Tensor& gw) {
  run(primitive_for(g, Kind::BackwardWeights), {&x, &gy, &gw});
}

void conv_backward(const ConvGeometry& g, const Tensor& x, const Tensor& w, const Tensor& gy, const Tensor& gx, const Tensor& gw,
                   const Tensor& gb) {
  Call call;
  if (gx.defined()) call.run(*primitive_for(g, Kind::BackwardData), {&gy, &w, &gx});
  if (gw.defined() && gb.defined()) call.run(*primitive_for(g, Kind::BackwardWeightsWithBias), {&x, &gy, &gw, &gb});
  else if (gw.defined()) call.run(*primitive_for(g, Kind::BackwardWeights), {&x, &gy, &gw});
  else if (gb.defined()) sum_channels(gy, gb);
}

}  // namespace cajal::kernels::onednn

#else  // built without oneDNN: nothing is supported, and the op layer never calls the kernels

namespace cajal::kernels::onednn {

bool available() { return false; }
bool supports(const ConvGeometry&, DType) { return false; }

namespace {
[[noreturn]] void missing() { fail<ValueError>("conv: cajal was built without oneDNN (CAJAL_WITH_ONEDNN=OFF)"); }
}  // namespace

void conv_forward(const ConvGeometry&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) { missing(); }
void conv_backward_data(const ConvGeometry&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) { missing(); }
void conv_backward_weights(const ConvGeometry&, const Tensor&, const Tensor&, const Tensor&) { missing(); }
void conv_backward(const ConvGeometry&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  missing();
}

}  // namespace cajal::kernels::onednn

#endif
