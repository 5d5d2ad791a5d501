#include "cajal/optim/regularization.h"

#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"

namespace cajal::optim {

namespace {

// The sum over parameters of sum(term(p)).
template <typename F>
Tensor penalty(const TensorList& params, F&& term) {
  Tensor total;
  for (const Tensor& p : params) {
    Tensor part = sum(term(p));
    total = total.defined() ? total + part : part;
  }
  return total.defined() ? total : scalar_tensor(0.0);
}

}  // namespace

Tensor l1_penalty(const TensorList& params) {
  return penalty(params, [](const Tensor& p) { return abs(p); });
}

Tensor l2_penalty(const TensorList& params) {
  return penalty(params, [](const Tensor& p) { return square(p); });
}

}  // namespace cajal::optim
