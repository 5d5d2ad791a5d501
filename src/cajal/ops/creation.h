#pragma once
// Creating tensors: filled, ranges, identity, from C++ data and from external buffers.
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal {

Tensor empty(const Dims& shape, TensorOptions opts = {});
Tensor zeros(const Dims& shape, TensorOptions opts = {});
Tensor ones(const Dims& shape, TensorOptions opts = {});
Tensor full(const Dims& shape, Scalar value, TensorOptions opts = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, Scalar value);
// Values start, start+step, ... below end (like torch.arange); integral arguments give
// int64 unless a dtype is given.
Tensor arange(Scalar end);
Tensor arange(Scalar start, Scalar end, Scalar step = 1, std::optional<DType> dtype = std::nullopt);
Tensor linspace(double start, double end, int64_t steps, TensorOptions opts = {});
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt, TensorOptions opts = {});
// A 0-d tensor.
Tensor scalar_tensor(Scalar value, DType dtype = DType::f32);

// Copies C++ data: tensor({1.f, 2.f}) is float32, tensor({1, 2}) int64, with an optional shape.
Tensor tensor(std::initializer_list<float> values, const Dims& shape = {}, TensorOptions opts = {});
Tensor tensor(std::initializer_list<double> values, const Dims& shape = {}, TensorOptions opts = {.dtype = DType::f64});
Tensor tensor(std::initializer_list<int64_t> values, const Dims& shape = {}, TensorOptions opts = {.dtype = DType::i64});
Tensor tensor(std::initializer_list<int> values, const Dims& shape = {}, TensorOptions opts = {.dtype = DType::i64});
Tensor tensor(std::initializer_list<bool> values, const Dims& shape = {}, TensorOptions opts = {.dtype = DType::boolean});
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Dims& shape = {}, std::optional<TensorOptions> opts = std::nullopt);

// Wraps memory the caller owns, without copying. `deleter` (optional) runs when the last
// tensor using the memory is destroyed; otherwise the caller keeps the memory alive.
Tensor from_blob(void* data, const Dims& shape, DType dtype, std::function<void(void*)> deleter = {});
Tensor from_blob(void* data, const Dims& shape, const Dims& strides, DType dtype,
                 std::function<void(void*)> deleter = {});

}  // namespace cajal
