#pragma once
// Weight penalties as loss terms, differentiable like any op:
//   Tensor loss = cross_entropy(model->forward(x), y) + 1e-4 * optim::l2_penalty(model->parameters());
// (For plain L2, SGD's weight_decay does the same without building the term: weight_decay = 2 * lambda.)
#include "cajal/core/tensor.h"

namespace cajal::optim {

// The sum of |p| over every element of every parameter (a 0-d tensor; 0 for no parameters).
Tensor l1_penalty(const TensorList& params);
// The sum of p^2 over every element of every parameter (no factor 1/2).
Tensor l2_penalty(const TensorList& params);

}  // namespace cajal::optim
