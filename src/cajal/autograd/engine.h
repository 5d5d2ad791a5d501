#pragma once
// The backward engine: runs the recorded graph from some outputs back to the leaves.
#include "cajal/core/tensor.h"

namespace cajal::autograd {

// Backpropagates from `outputs`, seeded with `grad_outputs` (ones for one-element outputs
// when empty), accumulating into the .grad() of leaves that require grad.
// With create_graph a leaf's .grad() carries history, and that graph usually saved the leaf
// itself (x * x saves x): leaf -> grad -> graph -> leaf is a reference cycle, as in PyTorch.
// It lasts until the gradient is cleared (zero_grad(), set_grad(Tensor()), an optimizer's
// zero_grad, which also detaches); clear it before dropping the leaf, or use grad() below,
// which stores nothing.
void backward(const TensorList& outputs, const TensorList& grad_outputs = {}, bool retain_graph = false,
              bool create_graph = false);

// Returns d(outputs)/d(inputs) without touching any .grad() (torch.autograd.grad).
// With create_graph the results carry history, for higher-order gradients.
// retain_graph defaults to create_graph. An input the outputs do not depend on gives an
// error unless allow_unused, in which case its gradient is an undefined Tensor.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                bool allow_unused = false);

}  // namespace cajal::autograd
