#pragma once
// ExpandingArray<D>: a size given once for every spatial dim or once per dim, as PyTorch's
// kernel_size=3 or kernel_size=(3, 5) (and LibTorch's ExpandingArray). Used by the
// convolution, pooling and resampling ops and their modules.
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>

#include "cajal/core/dims.h"
#include "cajal/core/error.h"

namespace cajal {

template <size_t D>
class ExpandingArray {
 public:
  ExpandingArray(int64_t value) : single_(true) { values_.fill(value); }  // NOLINT: 3 means (3, 3)
  ExpandingArray(std::initializer_list<int64_t> values) {                 // NOLINT: {3} or {3, 5}
    if (values.size() == 1) {
      values_.fill(*values.begin());
      single_ = true;
    } else if (values.size() == D) {
      std::copy(values.begin(), values.end(), values_.begin());
    } else {
      fail<ValueError>("expected 1 or ", D, " sizes, got ", Dims(values.begin(), values.end()));
    }
  }
  ExpandingArray(const std::array<int64_t, D>& values) : values_(values) {}  // NOLINT

  int64_t operator[](size_t i) const { return values_[i]; }
  const std::array<int64_t, D>& values() const { return values_; }
  Dims dims() const { return Dims(values_.begin(), values_.end()); }
  // Given as one number for all dims (some PyTorch modules print it that way).
  bool single() const { return single_; }

 private:
  std::array<int64_t, D> values_{};
  bool single_ = false;
};

// An ExpandingArray that may be left out, e.g. a pooling stride that defaults to the kernel
// size. (std::optional<ExpandingArray> cannot be initialized from braces: {2, 1}.)
template <size_t D>
class OptionalExpandingArray {
 public:
  OptionalExpandingArray() = default;
  OptionalExpandingArray(int64_t value) : value_(ExpandingArray<D>(value)) {}                                // NOLINT
  OptionalExpandingArray(std::initializer_list<int64_t> values) : value_(ExpandingArray<D>(values)) {}       // NOLINT
  OptionalExpandingArray(const ExpandingArray<D>& value) : value_(value) {}                                  // NOLINT

  bool has_value() const { return value_.has_value(); }
  ExpandingArray<D> value_or(const ExpandingArray<D>& fallback) const { return value_.value_or(fallback); }

 private:
  std::optional<ExpandingArray<D>> value_;
};

}  // namespace cajal
