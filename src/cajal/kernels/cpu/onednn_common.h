#pragma once
// What the oneDNN kernels (conv_onednn.cpp, onednn_inference.cpp) share: the engine, the
// stream, memory from cajal's allocator and a bounded cache of primitives. Included by
// those .cpp files alone (it brings in dnnl.hpp), and only when built with oneDNN.
#include <oneapi/dnnl/dnnl.hpp>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "cajal/core/error.h"
#include "cajal/core/tensor.h"
#include "cajal/kernels/cpu/conv.h"

namespace cajal::kernels::onednn {

dnnl::engine& engine();
// This thread's stream (oneDNN's CPU streams run a primitive on the calling thread's OpenMP team).
dnnl::stream& stream();

// Scratch memory comes from cajal's allocator (user mode), so that one primitive can run on
// several threads at once and its buffers are reused between calls.
dnnl::primitive_attr user_scratchpad();

using dnnl::memory;
using Tag = memory::format_tag;

memory::desc plain_activation(int64_t n, int64_t c, const std::array<int64_t, 2>& hw);
// Weights [O, C/G, kH, kW]; with groups, oneDNN sees the same memory as [G, O/G, C/G, kH, kW].
memory::desc weights_desc(const ConvGeometry& g, bool any_layout);
memory::desc bias_desc(const ConvGeometry& g);

// Memory of a call's temporaries from cajal's allocator, kept until the object goes.
class CallBuffers {
 public:
  memory make(const memory::desc& desc);
  // A tensor of storage for `desc` (whose bytes may outlive this object).
  static Tensor storage_for(const memory::desc& desc);

 private:
  std::vector<Tensor> tensors_;
};

// Copies `from` into `to` (layouts may differ), through a cached reorder primitive.
void reorder(const memory& from, const memory& to, CallBuffers& buffers);

// Primitives (or anything costly to make) by key, made on first use. Making one costs far
// more than running a small one, so they are kept: up to 256, the oldest dropped first (a
// program that sees ever new shapes must not grow without bound). Shared pointers keep a
// value alive for a call on another thread while it is dropped.
template <class Key, class Value>
class PrimitiveCache {
 public:
  template <class Make>
  std::shared_ptr<const Value> get(const Key& key, Make make) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, v] : entries_)
      if (k == key) return v;
    std::shared_ptr<const Value> value;
    try {
      value = std::make_shared<const Value>(make());
    } catch (const dnnl::error& e) {
      fail<ValueError>("oneDNN: no primitive for this operation (", e.what(), ")");
    }
    if (entries_.size() == kMaxEntries) entries_.erase(entries_.begin());
    entries_.emplace_back(key, value);
    return value;
  }

 private:
  static constexpr size_t kMaxEntries = 256;
  std::mutex mu_;
  std::vector<std::pair<Key, std::shared_ptr<const Value>>> entries_;
};

}  // namespace cajal::kernels::onednn
