#ifdef CAJAL_WITH_ONEDNN

#include "cajal/kernels/cpu/onednn_common.h"

#include <unordered_map>

namespace cajal::kernels::onednn {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

memory::desc plain_activation(int64_t n, int64_t c, const std::array<int64_t, 2>& hw) {
  return memory::desc({n, c, hw[0], hw[1]}, memory::data_type::f32, Tag::nchw);
}

memory::desc weights_desc(const ConvGeometry& g, bool any_layout) {
  int64_t c = g.in_channels / g.groups, kh = g.kernel[0], kw = g.kernel[1];
  if (g.groups == 1) return memory::desc({g.out_channels, c, kh, kw}, memory::data_type::f32, any_layout ? Tag::any : Tag::oihw);
  return memory::desc({g.groups, g.out_channels / g.groups, c, kh, kw}, memory::data_type::f32, any_layout ? Tag::any : Tag::goihw);
}

memory::desc bias_desc(const ConvGeometry& g) { return memory::desc({g.out_channels}, memory::data_type::f32, Tag::x); }

Tensor CallBuffers::storage_for(const memory::desc& desc) {
  return make_tensor({static_cast<int64_t>((desc.get_size() + 3) / 4)}, DType::f32);
}

memory CallBuffers::make(const memory::desc& desc) {
  tensors_.push_back(storage_for(desc));
  return memory(desc, engine(), tensors_.back().raw_data());
}

namespace {

struct ReorderKey {
  memory::desc from, to;
  bool operator==(const ReorderKey&) const = default;
};
struct Reorder {
  dnnl::reorder primitive;
  memory::desc scratchpad;
};

}  // namespace

void reorder(const memory& from, const memory& to, CallBuffers& buffers) {
  static PrimitiveCache<ReorderKey, Reorder> cache;
  auto r = cache.get({from.get_desc(), to.get_desc()}, [&] {
    dnnl::reorder::primitive_desc pd(engine(), from.get_desc(), engine(), to.get_desc(), user_scratchpad());
    return Reorder{dnnl::reorder(pd), pd.scratchpad_desc()};
  });
  std::unordered_map<int, memory> args{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  if (r->scratchpad.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, buffers.make(r->scratchpad));
  r->primitive.execute(stream(), args);
}

}  // namespace cajal::kernels::onednn

#endif
