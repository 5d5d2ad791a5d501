#pragma once
// Convolutions over [N, C, L] (1-D) and [N, C, H, W] (2-D) tensors, as
// torch.nn.functional's conv1d, conv2d and conv_transpose2d; unbatched inputs ([C, L],
// [C, H, W]) work too. float32 and float64 (bfloat16 computes in float32), differentiable
// in input, weight and bias to any order:
//   conv2d(x, w, b, {.stride = 2, .padding = 1})
//   conv2d(x, w, {}, {.padding = "same", .groups = 4})
// Two implementations compute them: oneDNN (the default, when cajal is built with it) and
// im2col + GEMM (always built, and the only one for float64); set_conv_backend switches.
#include <concepts>
#include <string>
#include <string_view>

#include "cajal/core/tensor.h"
#include "cajal/ops/expanding_array.h"

namespace cajal {

// A convolution's padding: zeros on both sides of each spatial dim (one number for all dims,
// or one per dim), "valid" (none) or "same" (the output as large as the input: stride 1
// only; when the kernel needs an odd number of zeros, the extra one goes after, as PyTorch).
template <size_t D>
class ConvPadding {
 public:
  ConvPadding(int64_t size) : sizes_(size) {}                                // NOLINT
  ConvPadding(std::initializer_list<int64_t> sizes) : sizes_(sizes) {}       // NOLINT
  ConvPadding(const ExpandingArray<D>& sizes) : sizes_(sizes) {}             // NOLINT
  template <typename S>  // a string: "same" or "valid" (a template, so that 0 stays a number)
    requires std::convertible_to<const S&, std::string_view>
  ConvPadding(const S& mode) : sizes_(0), same_(std::string_view(mode) == "same"), valid_(std::string_view(mode) == "valid") {  // NOLINT
    if (!same_ && !valid_) fail<ValueError>("padding: expected a number, \"same\" or \"valid\", got \"", std::string_view(mode), "\"");
  }
  bool same() const { return same_; }
  bool valid() const { return valid_; }
  const ExpandingArray<D>& sizes() const { return sizes_; }  // zeros for "same" and "valid"

 private:
  ExpandingArray<D> sizes_;
  bool same_ = false, valid_ = false;
};

struct Conv1dArgs {
  ExpandingArray<1> stride = 1;
  ConvPadding<1> padding = 0;
  ExpandingArray<1> dilation = 1;
  int64_t groups = 1;
};

struct Conv2dArgs {
  ExpandingArray<2> stride = 1;
  ConvPadding<2> padding = 0;
  ExpandingArray<2> dilation = 1;
  int64_t groups = 1;
};

struct ConvTranspose2dArgs {
  ExpandingArray<2> stride = 1;
  ExpandingArray<2> padding = 0;         // removed from both sides of the output
  ExpandingArray<2> output_padding = 0;  // added to one side: below max(stride, dilation)
  int64_t groups = 1;
  ExpandingArray<2> dilation = 1;
};

// input [N, C, L], weight [O, C / groups, K], bias [O] (optional) -> [N, O, L_out].
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, const Conv1dArgs& args = {});
// input [N, C, H, W], weight [O, C / groups, kH, kW], bias [O] (optional) -> [N, O, H_out, W_out].
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, const Conv2dArgs& args = {});
// The adjoint of conv2d in its input (the "deconvolution" that upsamples):
// input [N, C, H, W], weight [C, O / groups, kH, kW], bias [O] (optional) -> [N, O, H_out, W_out]
// with H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, const ConvTranspose2dArgs& args = {});

enum class ConvBackend { Im2col, OneDNN };
// Selects the implementation of float32 convolutions for the whole program (float64 always
// uses im2col, as do geometries oneDNN does not take). Throws ValueError for OneDNN when
// cajal was built without it.
void set_conv_backend(ConvBackend backend);
ConvBackend conv_backend();
bool conv_backend_available(ConvBackend backend);

}  // namespace cajal
