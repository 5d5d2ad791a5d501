// functional_call: swapping the tensors in a module's registered slots for one call.
#include "cajal/nn/functional_call.h"

#include <unordered_map>

namespace cajal::nn {

SubstitutedTensors::SubstitutedTensors(Module& module, const Named<Tensor>& tensors) {
  // Every slot by its dotted name, and the module that owns it (for the error messages).
  struct Found {
    const Module::Slot* slot;
    const Module* owner;
  };
  std::unordered_map<std::string, Found> slots;
  for (const auto& [path, m] : module.named_modules())
    for (const Named<Module::Slot>* list : {&m->params_, &m->buffers_})
      for (const auto& [name, slot] : *list) slots.emplace(path.empty() ? name : path + "." + name, Found{&slot, m.get()});

  std::vector<std::pair<Tensor*, Tensor>> plan;
  for (const auto& [name, value] : tensors) {
    auto it = slots.find(name);
    if (it == slots.end()) fail<ValueError>("functional_call: the module has no parameter or buffer named \"", name, "\"");
    const Module::Slot& slot = *it->second.slot;
    if (!slot.read_by_forward)
      fail<ValueError>("functional_call: \"", name, "\" of ", it->second.owner->name(),
                       " is kept without a member slot, so its forward would not see a substitute");
    const Tensor& own = *slot.tensor;
    if (!value.defined() || !own.defined())
      fail<ValueError>("functional_call: \"", name, "\" is absent in the module or in the given tensors");
    if (value.sizes() != own.sizes())
      fail<ValueError>("functional_call: \"", name, "\" has shape ", value.sizes(), ", the module's has ",
                       own.sizes());
    plan.emplace_back(slot.tensor, value);
  }
  // Checked in full before anything changes: a refused call leaves the module as it was.
  saved_.reserve(plan.size());
  for (auto& [slot, value] : plan) {
    saved_.emplace_back(slot, *slot);
    *slot = value;
  }
}

SubstitutedTensors::~SubstitutedTensors() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) *it->first = it->second;
}

Tensor functional_call(Module& module, const Named<Tensor>& tensors, const Tensor& input) {
  SubstitutedTensors swap(module, tensors);
  return module.forward(input);
}

}  // namespace cajal::nn
