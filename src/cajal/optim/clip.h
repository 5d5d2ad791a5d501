#pragma once
// Gradient clipping, as torch.nn.utils has it. Call between backward() and step():
//   loss.backward();
//   double norm = optim::clip_grad_norm_(model->parameters(), 1.0);
//   opt.step();
#include <limits>

#include "cajal/core/tensor.h"

namespace cajal::optim {

// Scales all gradients together so that their total norm (the norm of the concatenated
// gradients) is at most max_norm: each is multiplied by min(1, max_norm / (total + 1e-6)).
// norm_type is p > 0 or infinity. Returns the total norm before clipping (0 when no parameter
// has a gradient). A non-finite total norm fails when error_if_nonfinite; otherwise the
// gradients are scaled by it anyway, as in PyTorch.
double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const TensorList& params, double clip_value);

constexpr double kInfNorm = std::numeric_limits<double>::infinity();

}  // namespace cajal::optim
