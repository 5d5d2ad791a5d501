#pragma once
// Tensor: a cheap handle (one shared pointer) to a TensorImpl, which holds the view
// geometry (sizes, strides, offset), the dtype, a shared Storage, and the autograd
// fields. Copying a Tensor shares data, like torch::Tensor; use clone() for a deep copy.
//
// Member functions are declared here and defined beside the op they call (ops/*.cpp),
// so this header stays light: it includes no kernel and no autograd code.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cajal/core/device.h"
#include "cajal/core/dims.h"
#include "cajal/core/dtype.h"
#include "cajal/core/error.h"
#include "cajal/core/storage.h"

namespace cajal {

namespace autograd {
struct Node;
}

class Tensor;
using TensorList = std::vector<Tensor>;
using TensorHook = std::function<Tensor(const Tensor&)>;  // may return an undefined Tensor to keep the grad

// A number given where a tensor is expected (a * 2.0f). Integral scalars do not promote
// an integral tensor to float; floating scalars turn integral tensors into float32, and
// never change the precision of a floating tensor (PyTorch's "weak" scalar rule).
struct Scalar {
  double value = 0;
  bool integral = false;
  bool boolean = false;  // true and false stay bool next to a bool tensor
  Scalar() = default;
  Scalar(double v) : value(v) {}                                    // NOLINT
  Scalar(float v) : value(v) {}                                     // NOLINT
  Scalar(int v) : value(v), integral(true) {}                       // NOLINT
  Scalar(long v) : value(static_cast<double>(v)), integral(true) {}       // NOLINT
  Scalar(long long v) : value(static_cast<double>(v)), integral(true) {}  // NOLINT
  Scalar(bool v) : value(v), integral(true), boolean(true) {}       // NOLINT
};

struct TensorOptions {
  DType dtype = DType::f32;
  bool requires_grad = false;
  Device device = {};
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Dims sizes;
  Dims strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  bool is_view = false;  // made by a view op: shares storage with the tensor it was made from

  // Autograd. A leaf has no grad_fn; a non-leaf that requires grad has one.
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves: shared by every use in a graph
  std::shared_ptr<TensorImpl> grad;
  std::vector<TensorHook> hooks;  // leaves: run on the gradient before it accumulates
};

// Throws the ValueError for an undefined (default-constructed) tensor given to `op`:
// "op: got an undefined tensor". Every public op and method checks its tensor arguments.
[[noreturn]] void fail_undefined(const char* op);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- handle ---
  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  // --- geometry ---
  const Dims& sizes() const { return checked("sizes").sizes; }
  const Dims& shape() const { return checked("shape").sizes; }
  const Dims& strides() const { return checked("strides").strides; }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const { return static_cast<int64_t>(checked("dim").sizes.size()); }
  int64_t numel() const { return numel_of(checked("numel").sizes); }
  int64_t offset() const { return checked("offset").offset; }
  DType dtype() const { return checked("dtype").dtype; }
  Device device() const { return checked("device").storage->device; }
  size_t element_size() const { return dtype_size(checked("element_size").dtype); }
  bool is_contiguous() const;
  bool is_floating_point() const { return is_floating(checked("is_floating_point").dtype); }

  // --- data access ---
  // Address of the first element of this view.
  void* raw_data() const {
    const TensorImpl& impl = checked("raw_data");
    return static_cast<char*>(impl.storage->data) + impl.offset * static_cast<int64_t>(dtype_size(impl.dtype));
  }
  template <typename T>
  T* data_ptr() const {
    if (dtype_v<T> != checked("data_ptr").dtype) fail<DTypeError>("data_ptr: requested ", dtype_name(dtype_v<T>), " from a ", dtype_name(dtype()), " tensor");
    return static_cast<T*>(raw_data());
  }
  // Reference to one element, indices checked: t.at<float>({1, 2}) = 3;
  template <typename T>
  T& at(std::initializer_list<int64_t> index) const {
    return *reinterpret_cast<T*>(element_address(index, dtype_v<T>));
  }
  // The single value of a one-element tensor, converted to T (default double).
  template <typename T = double>
  T item() const;
  // All elements in row-major order, converted to T.
  template <typename T>
  std::vector<T> to_vector() const;

  // --- autograd ---
  bool requires_grad() const { return checked("requires_grad").requires_grad; }
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return checked("is_leaf").grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return checked("grad_fn").grad_fn; }
  Tensor grad() const { return Tensor(checked("grad").grad); }
  void set_grad(const Tensor& g) { checked("set_grad").grad = g.impl_; }
  void zero_grad() { checked("zero_grad").grad.reset(); }
  void retain_grad();
  uint32_t version() const { return checked("version").storage->version; }
  void bump_version() const { ++checked("bump_version").storage->version; }
  // Runs `hook` on the gradient flowing into this tensor during backward.
  void register_hook(TensorHook hook);
  // Backpropagates from this tensor; `gradient` defaults to 1 for a one-element tensor.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  Tensor detach() const;   // same data, no history
  Tensor& detach_();

  // --- views (never copy) ---
  Tensor view(const Dims& shape) const;
  Tensor reshape(const Dims& shape) const;  // copies only when a view is impossible
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;  // 2-D transpose
  Tensor permute(const Dims& order) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor expand(const Dims& shape) const;
  Tensor expand_as(const Tensor& other) const { return expand(other.sizes()); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor unflatten(int64_t dim, const Dims& sizes) const;
  Tensor as_strided(const Dims& sizes, const Dims& strides, int64_t offset) const;

  // --- copies ---
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;  // differentiable between floating types
  Tensor& copy_(const Tensor& src);  // broadcasting, converting, in place
  Tensor& fill_(Scalar value);
  Tensor& zero_() { return fill_(0); }

  // --- common math as members (same as the free functions in ops/) ---
  Tensor add(const Tensor& o, Scalar alpha = 1) const;
  Tensor sub(const Tensor& o, Scalar alpha = 1) const;
  Tensor mul(const Tensor& o) const;
  Tensor div(const Tensor& o) const;
  Tensor pow(Scalar exponent) const;
  Tensor& add_(const Tensor& o, Scalar alpha = 1);
  Tensor& sub_(const Tensor& o, Scalar alpha = 1);
  Tensor& mul_(const Tensor& o);
  Tensor& div_(const Tensor& o);
  Tensor& add_(Scalar s);
  Tensor& sub_(Scalar s);
  Tensor& mul_(Scalar s);
  Tensor& div_(Scalar s);
  Tensor neg() const;
  Tensor abs() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor square() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor sum() const;
  Tensor sum(const Dims& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Dims& dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  Tensor argmax(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor matmul(const Tensor& o) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

 private:
  // The state behind the handle. An undefined (default-constructed) tensor holds none: every
  // method that needs it throws a ValueError naming the method instead of dereferencing null.
  TensorImpl& checked(const char* method) const {
    if (!impl_) [[unlikely]] fail_undefined(method);
    return *impl_;
  }
  void* element_address(std::initializer_list<int64_t> index, DType expected) const;
  std::shared_ptr<TensorImpl> impl_;
};

// Checks that every tensor given to `op` is defined (fail_undefined otherwise).
template <typename... Tensors>
void check_defined(const char* op, const Tensors&... tensors) {
  if (!(tensors.defined() && ...)) [[unlikely]] fail_undefined(op);
}

// Creates a tensor with fresh contiguous storage (uninitialized).
Tensor make_tensor(const Dims& sizes, DType dtype);
// Printing as PyTorch does: tensor([[1.0000, 2.0000], ...], dtype=float64, requires_grad=True).
std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::string to_string(const Tensor& t);

}  // namespace cajal
