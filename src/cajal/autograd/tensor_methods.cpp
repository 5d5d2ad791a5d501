// The autograd members of Tensor: requires_grad_, backward, detach, hooks.
#include "cajal/autograd/engine.h"
#include "cajal/autograd/node.h"
#include "cajal/ops/elementwise.h"

namespace cajal {

Tensor& Tensor::requires_grad_(bool on) {
  checked("requires_grad_");
  if (!is_leaf() && !on)
    fail<AutogradError>("requires_grad_: only leaf tensors can stop requiring grad; use detach() for a non-leaf");
  if (on && !is_floating(dtype()))
    fail<DTypeError>("requires_grad_: only floating point tensors can require gradients, got ", dtype_name(dtype()));
  impl_->requires_grad = on;
  return *this;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  checked("backward");
  autograd::backward({*this}, gradient.defined() ? TensorList{gradient} : TensorList{}, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  const TensorImpl& self = checked("detach");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = self.storage;
  impl->sizes = self.sizes;
  impl->strides = self.strides;
  impl->offset = self.offset;
  impl->dtype = self.dtype;
  return Tensor(std::move(impl));
}

Tensor& Tensor::detach_() {
  checked("detach_");
  impl_->grad_fn.reset();
  impl_->requires_grad = false;
  return *this;
}

void Tensor::register_hook(TensorHook hook) {
  checked("register_hook");
  if (!requires_grad()) fail<AutogradError>("register_hook: the tensor does not require grad, so no gradient will reach it");
  if (is_leaf()) impl_->hooks.push_back(std::move(hook));
  else impl_->grad_fn->pre_hooks.push_back(std::move(hook));
}

void Tensor::retain_grad() {
  checked("retain_grad");
  if (is_leaf()) return;  // leaves keep their grad anyway
  if (impl_->retains_grad) return;
  impl_->retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_;
  impl_->grad_fn->pre_hooks.push_back([weak](const Tensor& g) -> Tensor {
    if (auto impl = weak.lock()) {
      Tensor grad = impl->grad ? Tensor(impl->grad) + g : g.detach().clone();
      impl->grad = grad.impl_ptr();
    }
    return Tensor();
  });
}

}  // namespace cajal
