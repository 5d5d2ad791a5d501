// Printing of the pooling layers, as torch.nn prints them: MaxPool2d, AvgPool2d and
// AdaptiveAvgPool2d show a size given as one number as that number, AvgPool1d always
// shows tuples, Upsample shows floats for scale factors.
#include "cajal/nn/pool.h"

namespace cajal::nn {

namespace {

// A size as the user gave it: "2" for one number, "(3, 2)" for one per dim.
template <size_t D>
std::string as_given(const ExpandingArray<D>& a) {
  return a.single() ? std::to_string(a[0]) : repr_tuple(a.dims());
}

template <typename Options, size_t D>
std::string max_pool_repr(const ExpandingArray<D>& kernel, const Options& o) {
  return "kernel_size=" + as_given(kernel) + ", stride=" + as_given(o.stride.value_or(kernel)) + ", padding=" + as_given(o.padding) +
         ", dilation=" + as_given(o.dilation) + ", ceil_mode=" + repr_bool(o.ceil_mode);
}

}  // namespace

std::string MaxPool1dImpl::extra_repr() const { return max_pool_repr(kernel_size_, options_); }
std::string MaxPool2dImpl::extra_repr() const { return max_pool_repr(kernel_size_, options_); }

std::string AvgPool1dImpl::extra_repr() const {
  return "kernel_size=" + repr_tuple(kernel_size_.dims()) + ", stride=" + repr_tuple(options_.stride.value_or(kernel_size_).dims()) +
         ", padding=" + repr_tuple(options_.padding.dims());
}

std::string AvgPool2dImpl::extra_repr() const {
  return "kernel_size=" + as_given(kernel_size_) + ", stride=" + as_given(options_.stride.value_or(kernel_size_)) +
         ", padding=" + as_given(options_.padding);
}

std::string AdaptiveAvgPool2dImpl::extra_repr() const { return "output_size=" + as_given(output_size_); }

std::string UpsampleImpl::extra_repr() const {
  std::string s;
  if (!options_.scale_factor.empty()) {
    s = "scale_factor=";
    if (options_.scale_factor.size() == 1) {
      s += repr_float(options_.scale_factor[0]);
    } else {
      s += "(";
      for (size_t i = 0; i < options_.scale_factor.size(); ++i) s += (i ? ", " : "") + repr_float(options_.scale_factor[i]);
      s += ")";
    }
  } else {
    s = "size=" + (options_.size.size() == 1 ? std::to_string(options_.size[0]) : repr_tuple(Dims(options_.size)));
  }
  return s + ", mode=" + interpolate_mode_name(options_.mode);
}

}  // namespace cajal::nn
