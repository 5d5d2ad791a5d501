// Creating tensors.
#include "cajal/ops/creation.h"

#include <cmath>

#include "cajal/kernels/cpu/elementwise.h"

namespace cajal {

namespace {
Tensor with_options(Tensor t, const TensorOptions& opts) {
  if (opts.device != Device{}) fail<Error>("tensor creation: device ", opts.device, " has no backend in this build");
  if (opts.requires_grad) t.requires_grad_(true);
  return t;
}
}  // namespace

Tensor empty(const Dims& shape, TensorOptions opts) { return with_options(make_tensor(shape, opts.dtype), opts); }

Tensor full(const Dims& shape, Scalar value, TensorOptions opts) {
  Tensor t = make_tensor(shape, opts.dtype);
  kernels::fill(t, value.value);
  return with_options(t, opts);
}
Tensor zeros(const Dims& shape, TensorOptions opts) { return full(shape, 0, opts); }
Tensor ones(const Dims& shape, TensorOptions opts) { return full(shape, 1, opts); }
Tensor empty_like(const Tensor& t) {
  check_defined("empty_like", t);
  return make_tensor(t.sizes(), t.dtype());
}
Tensor zeros_like(const Tensor& t) {
  check_defined("zeros_like", t);
  return full(t.sizes(), 0, {.dtype = t.dtype()});
}
Tensor ones_like(const Tensor& t) {
  check_defined("ones_like", t);
  return full(t.sizes(), 1, {.dtype = t.dtype()});
}
Tensor full_like(const Tensor& t, Scalar value) {
  check_defined("full_like", t);
  return full(t.sizes(), value, {.dtype = t.dtype()});
}

Tensor scalar_tensor(Scalar value, DType dtype) {
  Tensor t = make_tensor({}, dtype);
  kernels::fill(t, value.value);
  return t;
}

Tensor arange(Scalar end) { return arange(0, end, 1); }

Tensor arange(Scalar start, Scalar end, Scalar step, std::optional<DType> dtype) {
  if (step.value == 0) fail<ValueError>("arange: step must be nonzero");
  if ((end.value - start.value) * step.value < 0)
    fail<ValueError>("arange: upper bound ", end.value, " and lower bound ", start.value, " inconsistent with step sign ", step.value);
  DType dt = dtype.value_or(start.integral && end.integral && step.integral ? DType::i64 : DType::f32);
  auto n = static_cast<int64_t>(std::ceil((end.value - start.value) / step.value));
  Tensor t = make_tensor({n}, dt);
  dispatch(dt, [&]<typename T>() {
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < n; ++i) {
      double v = start.value + static_cast<double>(i) * step.value;
      if constexpr (std::is_same_v<T, bf16>) p[i] = bf16(static_cast<float>(v));
      else p[i] = static_cast<T>(v);
    }
  });
  return t;
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions opts) {
  if (steps < 0) fail<ValueError>("linspace: number of steps must be non-negative, got ", steps);
  Tensor t = make_tensor({steps}, DType::f64);
  double* p = t.data_ptr<double>();
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0;
  // Symmetric from both ends, as PyTorch computes it, so the last value is exactly `end`;
  // a single step is `start`.
  int64_t half = steps == 1 ? 1 : steps / 2;
  for (int64_t i = 0; i < steps; ++i)
    p[i] = i < half ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - 1 - i);
  Tensor out = opts.dtype == DType::f64 ? t : make_tensor({steps}, opts.dtype);
  if (opts.dtype != DType::f64) kernels::copy(t, out);
  return with_options(out, opts);
}

Tensor eye(int64_t n, std::optional<int64_t> m, TensorOptions opts) {
  int64_t cols = m.value_or(n);
  if (n < 0 || cols < 0) fail<ValueError>("eye: sizes must be non-negative, got ", n, " and ", cols);
  Tensor t = zeros({n, cols}, {.dtype = opts.dtype});
  Tensor diag = t.as_strided({std::min(n, cols)}, {cols + 1}, 0);
  kernels::fill(diag, 1);
  return with_options(t, opts);
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Dims& shape, std::optional<TensorOptions> opts) {
  Dims s = shape.empty() ? Dims{static_cast<int64_t>(values.size())} : shape;
  if (numel_of(s) != static_cast<int64_t>(values.size()))
    fail<ShapeError>("tensor: ", values.size(), " values do not fill shape ", s);
  TensorOptions o = opts.value_or(TensorOptions{.dtype = dtype_v<T>});
  Tensor src = make_tensor(s, dtype_v<T>);
  std::copy(values.begin(), values.end(), src.data_ptr<T>());
  Tensor out = src;
  if (o.dtype != dtype_v<T>) {
    out = make_tensor(s, o.dtype);
    kernels::copy(src, out);
  }
  return with_options(out, o);
}

// std::vector<bool> is packed, so bools go through uint8.
template <>
Tensor from_vector<bool>(const std::vector<bool>& values, const Dims& shape, std::optional<TensorOptions> opts) {
  std::vector<uint8_t> bytes(values.begin(), values.end());
  return from_vector(bytes, shape, opts.value_or(TensorOptions{.dtype = DType::boolean}));
}

template Tensor from_vector<float>(const std::vector<float>&, const Dims&, std::optional<TensorOptions>);
template Tensor from_vector<double>(const std::vector<double>&, const Dims&, std::optional<TensorOptions>);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Dims&, std::optional<TensorOptions>);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Dims&, std::optional<TensorOptions>);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Dims&, std::optional<TensorOptions>);

Tensor tensor(std::initializer_list<float> v, const Dims& shape, TensorOptions opts) { return from_vector(std::vector<float>(v), shape, opts); }
Tensor tensor(std::initializer_list<double> v, const Dims& shape, TensorOptions opts) { return from_vector(std::vector<double>(v), shape, opts); }
Tensor tensor(std::initializer_list<int64_t> v, const Dims& shape, TensorOptions opts) { return from_vector(std::vector<int64_t>(v), shape, opts); }
Tensor tensor(std::initializer_list<int> v, const Dims& shape, TensorOptions opts) {
  return from_vector(std::vector<int64_t>(v.begin(), v.end()), shape, opts);
}
Tensor tensor(std::initializer_list<bool> v, const Dims& shape, TensorOptions opts) { return from_vector(std::vector<bool>(v), shape, opts); }

Tensor from_blob(void* data, const Dims& shape, DType dtype, std::function<void(void*)> deleter) {
  return from_blob(data, shape, contiguous_strides(shape), dtype, std::move(deleter));
}

Tensor from_blob(void* data, const Dims& shape, const Dims& strides, DType dtype, std::function<void(void*)> deleter) {
  if (!data && numel_of(shape) > 0) fail<ValueError>("from_blob: null data pointer for shape ", shape);
  if (shape.size() != strides.size()) fail<ShapeError>("from_blob: shape ", shape, " and strides ", strides, " differ in rank");
  int64_t extent = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0 || strides[i] < 0) fail<ShapeError>("from_blob: negative size or stride in ", shape, " / ", strides);
    if (shape[i] > 0) extent += (shape[i] - 1) * strides[i];
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::wrap(data, static_cast<size_t>(extent) * dtype_size(dtype), std::move(deleter));
  impl->sizes = shape;
  impl->strides = strides;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

}  // namespace cajal
