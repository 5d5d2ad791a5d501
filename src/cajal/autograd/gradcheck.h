#pragma once
// Gradient checking against central finite differences, like torch.autograd.gradcheck.
#include <functional>
#include <string>

#include "cajal/core/tensor.h"

namespace cajal::autograd {

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // the first mismatch: input, element, analytic and numeric values
};

using TestedFunction = std::function<Tensor(const TensorList&)>;

// Compares the gradient autograd computes for f at `inputs` (float64, requires_grad) with
// central differences of step eps, on a fixed random projection of f's output.
// Inputs may be non-contiguous views: elements are perturbed in place through their strides.
GradcheckResult gradcheck(const TestedFunction& f, const TensorList& inputs, double eps = 1e-6, double atol = 1e-5,
                          double rtol = 1e-3);

// Checks second derivatives: gradcheck of the function inputs -> grad(f)(inputs) built
// with create_graph=true.
GradcheckResult gradgradcheck(const TestedFunction& f, const TensorList& inputs, double eps = 1e-6,
                              double atol = 1e-5, double rtol = 1e-3);

}  // namespace cajal::autograd
