// Sequential, ModuleList and ModuleDict.
#include "cajal/nn/container.h"

namespace cajal::nn {

const ModulePtr& detail::checked_index(const std::vector<ModulePtr>& modules, int64_t index, const std::string& owner) {
  const auto n = static_cast<int64_t>(modules.size());
  if (index < -n || index >= n)
    fail<IndexError>(owner, ": index ", index, " is out of range for ", n, " modules");
  return modules[static_cast<size_t>(index < 0 ? index + n : index)];
}

// --- ModuleList ---

void ModuleListImpl::push_back(ModulePtr module) { push_back(std::to_string(modules_.size()), std::move(module)); }

void ModuleListImpl::push_back(const std::string& name, ModulePtr module) {
  add_child(name, module);
  modules_.push_back(std::move(module));
}

void ModuleListImpl::rebind_child(const std::string& name, const ModulePtr& module) {
  const Named<ModulePtr> children = named_children();
  for (size_t i = 0; i < children.size(); ++i)
    if (children[i].first == name) modules_[i] = module;
}

// --- Sequential ---

Tensor SequentialImpl::forward(const Tensor& input) {
  Tensor x = input;
  for (const ModulePtr& m : *this) x = m->call(x);
  return x;
}

// --- ModuleDict ---

ModuleDictImpl::ModuleDictImpl(const Named<ModulePtr>& items) {
  for (const auto& [key, module] : items) insert(key, module);
}

void ModuleDictImpl::insert(const std::string& key, ModulePtr module) { add_child(key, std::move(module)); }

bool ModuleDictImpl::contains(const std::string& key) const {
  for (const auto& entry : named_children())
    if (entry.first == key) return true;
  return false;
}

ModulePtr ModuleDictImpl::at(const std::string& key) const {
  for (const auto& entry : named_children())
    if (entry.first == key) return entry.second;
  fail<IndexError>("ModuleDict: no module under key \"", key, "\"");
}

std::vector<std::string> ModuleDictImpl::keys() const {
  std::vector<std::string> out;
  for (const auto& entry : named_children()) out.push_back(entry.first);
  return out;
}

}  // namespace cajal::nn
