#pragma once
// Reductions over any set of dims (empty dims = all), with keepdim.
#include <optional>

#include "cajal/core/tensor.h"

namespace cajal {

Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor prod(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
// Variance and standard deviation; unbiased divides by N-1 (Bessel), as torch.var's default.
Tensor var(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
// Largest / smallest element of the whole tensor.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
// Along one dim: values and the index of each (first occurrence).
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
// p = 1, 2 or infinity (std::numeric_limits<double>::infinity()).
Tensor norm(const Tensor& x, double p = 2, const Dims& dims = {}, bool keepdim = false);
Tensor all(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor any(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor cumsum(const Tensor& x, int64_t dim);

// Sums a broadcast gradient back to `shape` (the adjoint of broadcasting to g's shape).
Tensor sum_to(const Tensor& g, const Dims& shape);

// Numerically stable softmax and log-softmax along `dim`.
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace cajal
