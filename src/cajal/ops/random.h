#pragma once
// Random tensors from a seeded Generator (the default one unless given).
#include "cajal/core/generator.h"
#include "cajal/core/tensor.h"

namespace cajal {

Tensor rand(const Dims& shape, TensorOptions opts = {}, Generator* gen = nullptr);   // U[0, 1)
Tensor randn(const Dims& shape, TensorOptions opts = {}, Generator* gen = nullptr);  // N(0, 1)
// Integers uniform in [low, high); int64 unless a dtype is given.
Tensor randint(int64_t low, int64_t high, const Dims& shape, TensorOptions opts = {.dtype = DType::i64},
               Generator* gen = nullptr);
// 1 with probability p (elementwise from a tensor of probabilities), same dtype as p.
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
Tensor bernoulli(const Dims& shape, double p, TensorOptions opts = {}, Generator* gen = nullptr);
// A random permutation of 0..n-1 (int64).
Tensor randperm(int64_t n, Generator* gen = nullptr);

}  // namespace cajal
