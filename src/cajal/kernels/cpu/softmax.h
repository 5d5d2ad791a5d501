#pragma once
// Softmax and log-softmax along one dim, forward and first-order backward.
#include "cajal/core/tensor.h"

namespace cajal::kernels {

// out = softmax(in) along `dim`, or log_softmax when `log`. in and out are contiguous with
// one shape and dtype (float32 or float64). Each slice's max is subtracted before exp, so
// large inputs never overflow.
void softmax(const Tensor& in, const Tensor& out, int64_t dim, bool log);

// The input gradient from the output y and its gradient g (all contiguous, one shape):
//   softmax:      grad_in = y * (g - sum(g * y))
//   log_softmax:  grad_in = g - exp(y) * sum(g)
// with the sums taken along `dim`.
void softmax_backward(const Tensor& g, const Tensor& y, const Tensor& grad_in, int64_t dim, bool log);

}  // namespace cajal::kernels
