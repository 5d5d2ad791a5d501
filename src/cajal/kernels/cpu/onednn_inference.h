#pragma once
// Inference through oneDNN with feature maps kept in the blocked layouts its kernels choose
// (channels in groups of 8 or 16): a chain of convolutions and pools reorders only at its
// ends instead of around every convolution (conv_onednn.h), what follows a convolution (a
// residual sum, ReLU or clip) runs as post-ops inside it, and weights are reordered once per
// version. No gradients: imported ONNX graphs use it when not
// recording (onnx/fast_inference.cpp). float32, 4-D [N, C, H, W].
#include <array>
#include <memory>

#include "cajal/kernels/cpu/conv.h"

namespace cajal::kernels::onednn {

struct Layout;  // a oneDNN memory descriptor (onednn_inference.cpp)

// A 4-D float32 tensor as the primitives here take it: cajal's contiguous NCHW tensor, or
// storage in a layout a primitive chose.
struct FeatureMap {
  Tensor plain;     // defined for a plain map
  Tensor storage;   // otherwise the bytes, laid out as `layout` says
  std::shared_ptr<const Layout> layout;
  Dims sizes;       // [N, C, H, W] either way

  static FeatureMap of(const Tensor& plain);  // plain must be a contiguous 4-D float32 tensor
  bool blocked() const { return layout != nullptr; }
  // A new contiguous NCHW tensor (the tensor itself for a plain map).
  Tensor to_plain() const;
};

enum class Eltwise { None, Relu, Clip };

// What a convolution applies to its output, in this order, each optional.
struct ConvEpilogue {
  const FeatureMap* addend = nullptr;  // y += addend (of y's sizes)
  Eltwise eltwise = Eltwise::None;
  float lo = 0, hi = 0;                // Clip's bounds
};

// Weights in the layouts the primitives chose, reordered once for each version of each
// weight tensor (a fine-tuning step makes a new version); an entry goes when nothing but the
// cache holds its weight any more. One per model; thread-safe.
class WeightCache {
 public:
  WeightCache();
  ~WeightCache();
  struct Entries;
  Entries& entries() { return *entries_; }

 private:
  std::unique_ptr<Entries> entries_;
};

// y = conv(x, w) + bias, then the epilogue; y in the layout the primitive chose.
FeatureMap conv(const ConvGeometry& g, const FeatureMap& x, const Tensor& w, const Tensor& bias, const ConvEpilogue& epilogue,
                WeightCache& weights);

// A max or average pool over windows of x (padding before and after each spatial dim;
// padded positions never win a max; an average counts them only when count_padding).
struct PoolWindow {
  bool max = true;
  bool count_padding = false;
  std::array<int64_t, 2> kernel{}, stride{}, pad_before{}, pad_after{};
};
FeatureMap pool(const PoolWindow& window, const FeatureMap& x);

// ReLU or clip of x, elementwise, in x's layout.
FeatureMap eltwise(Eltwise kind, float lo, float hi, const FeatureMap& x);

// a + b (same sizes), in a's layout.
FeatureMap add(const FeatureMap& a, const FeatureMap& b);

}  // namespace cajal::kernels::onednn
