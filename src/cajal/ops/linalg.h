#pragma once
// Linear algebra through CBLAS (OpenBLAS).
#include <optional>

#include "cajal/core/tensor.h"

namespace cajal {

// NumPy matmul rules: 1-D x 1-D is a dot product, 1-D operands gain and lose a dim,
// batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);    // [n,k] x [k,m]
Tensor bmm(const Tensor& a, const Tensor& b);   // [b,n,k] x [b,k,m]
// beta * input + alpha * (a @ b), input broadcast to [n, m].
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta = 1, double alpha = 1);
Tensor outer(const Tensor& a, const Tensor& b);
Tensor dot(const Tensor& a, const Tensor& b);
// x @ weight^T + bias, with x [..., in], weight [out, in], bias [out] (optional).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace cajal
