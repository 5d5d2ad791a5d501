#include "cajal/core/dims.h"

#include <ostream>

#include "cajal/core/error.h"

namespace cajal {

std::ostream& operator<<(std::ostream& os, const Dims& d) {
  os << '[';
  for (size_t i = 0; i < d.size(); ++i) os << (i ? ", " : "") << d[i];
  return os << ']';
}

int64_t numel_of(const Dims& sizes) {
  int64_t n = 1;
  for (int64_t s : sizes)
    if (__builtin_mul_overflow(n, s, &n)) fail<ShapeError>("shape ", sizes, " has more than 2^63 elements");
  return n;
}

// The strides skip size-0 dims (as PyTorch's do), so a shape with a 0 in it has no elements
// but may still have strides beyond int64: checked, since a file's header can declare one.
Dims contiguous_strides(const Dims& sizes) {
  Dims strides(sizes.size());
  int64_t acc = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = acc;
    if (__builtin_mul_overflow(acc, std::max<int64_t>(sizes[i], 1), &acc))
      fail<ShapeError>("shape ", sizes, " is too large: its strides do not fit in 64 bits");
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1, as in PyTorch
  if (dim < -n || dim >= n)
    fail<IndexError>(op, ": dim ", dim, " out of range for a tensor of ", ndim,
                     " dimensions (expected in [", -n, ", ", n - 1, "])");
  return dim < 0 ? dim + n : dim;
}

Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op) {
  if (a == b) return a;
  size_t n = std::max(a.size(), b.size());
  Dims out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      fail<ShapeError>(op, ": shapes ", a, " and ", b, " cannot be broadcast (dim ", i, ": ", da,
                       " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace cajal
