#pragma once
// functional_call: run a module with other tensors in place of some of its parameters and
// buffers, as torch.func.functional_call. The substitutes keep their autograd history, so
// the output is differentiable with respect to them: MAML's inner loop computes adapted
// weights w' = w - lr * grad (with create_graph) and runs the same module on w'.
#include <utility>
#include <vector>

#include "cajal/nn/module.h"

namespace cajal::nn {

// Puts `tensors` (dotted names, as named_parameters gives them) into the module's slots for
// the lifetime of this object and restores the module's own tensors after, even when an
// exception leaves the scope. For forward signatures other than one tensor in, one out:
//   { SubstitutedTensors swap(*model, adapted); loss = model->forward(a, b); }
// A ValueError names a tensor the module does not have, one whose shape differs from the
// module's, or one the module keeps without a member slot (its forward would not see it).
// Not thread-safe: the module is changed while the object lives.
class SubstitutedTensors {
 public:
  SubstitutedTensors(Module& module, const Named<Tensor>& tensors);
  ~SubstitutedTensors();
  SubstitutedTensors(const SubstitutedTensors&) = delete;
  SubstitutedTensors& operator=(const SubstitutedTensors&) = delete;

 private:
  std::vector<std::pair<Tensor*, Tensor>> saved_;  // each substituted slot and the tensor it held
};

// module.forward(input) with `tensors` substituted for the module's own.
Tensor functional_call(Module& module, const Named<Tensor>& tensors, const Tensor& input);
inline Tensor functional_call(const ModulePtr& module, const Named<Tensor>& tensors, const Tensor& input) {
  return functional_call(*module, tensors, input);
}

}  // namespace cajal::nn
