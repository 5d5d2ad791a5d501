#pragma once
// Containers: Sequential (a chain of modules), ModuleList (an indexed list), ModuleDict
// (modules by name, in insertion order). Their children are registered under the names
// PyTorch gives them ("0", "1", ... or the dict keys), so parameter names match torch's.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cajal/nn/module.h"

namespace cajal::nn {

namespace detail {
// The module at `index` (negative counts from the end), or an IndexError naming `owner`.
const ModulePtr& checked_index(const std::vector<ModulePtr>& modules, int64_t index, const std::string& owner);
// `module` as a T, or a ValueError naming `owner` and `what` (an index or a key).
template <typename T>
std::shared_ptr<T> checked_cast(const ModulePtr& module, const std::string& owner, const std::string& what) {
  auto typed = std::dynamic_pointer_cast<T>(module);
  if (!typed) fail<ValueError>(owner, ": module ", what, " is a ", module->name(), ", not the requested type");
  return typed;
}
}  // namespace detail

// Modules indexed 0, 1, ...; the base of Sequential.
class ModuleListImpl : public Module {
 public:
  ModuleListImpl() = default;
  // nn::ModuleList(nn::Linear(2, 3), nn::ReLU(), ...): holders or ModulePtrs.
  template <typename... Ms>
    requires(sizeof...(Ms) > 0 && (std::is_convertible_v<Ms, ModulePtr> && ...))
  explicit ModuleListImpl(Ms&&... modules) {
    (push_back(ModulePtr(std::forward<Ms>(modules))), ...);
  }
  std::string name() const override { return "ModuleList"; }

  // Appends under the next index as name.
  void push_back(ModulePtr module);
  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  // The module at index (negative counts from the end, as in Python); IndexError if out of range.
  const ModulePtr& operator[](int64_t index) const { return at(index); }
  const ModulePtr& at(int64_t index) const { return detail::checked_index(modules_, index, name()); }
  // The module at index as its layer type: seq->at<LinearImpl>(0)->weight().
  template <typename T>
  std::shared_ptr<T> at(int64_t index) const {
    return detail::checked_cast<T>(at(index), name(), std::to_string(index));
  }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 protected:
  void push_back(const std::string& name, ModulePtr module);
  void rebind_child(const std::string& name, const ModulePtr& module) override;

 private:
  std::vector<ModulePtr> modules_;  // the children in order, for indexing without a search
};
CAJAL_MODULE(ModuleList);

// Runs its modules in order, each one's output feeding the next.
class SequentialImpl : public ModuleListImpl {
 public:
  using ModuleListImpl::ModuleListImpl;
  using ModuleListImpl::push_back;
  std::string name() const override { return "Sequential"; }
  // Appends under a chosen name (torch's Sequential(OrderedDict(...))).
  void push_back(const std::string& name, ModulePtr module) { ModuleListImpl::push_back(name, std::move(module)); }
  // The input passes through every module; an empty Sequential returns its input.
  Tensor forward(const Tensor& input) override;
};
CAJAL_MODULE(Sequential);

// Modules by key, kept in insertion order.
class ModuleDictImpl : public Module {
 public:
  ModuleDictImpl() = default;
  explicit ModuleDictImpl(const Named<ModulePtr>& items);
  std::string name() const override { return "ModuleDict"; }

  // Adds a module under a new key (ValueError if the key is taken or not a valid name).
  void insert(const std::string& key, ModulePtr module);
  size_t size() const { return named_children().size(); }
  bool contains(const std::string& key) const;
  // The module under key; IndexError naming the key if absent.
  ModulePtr operator[](const std::string& key) const { return at(key); }
  ModulePtr at(const std::string& key) const;
  template <typename T>
  std::shared_ptr<T> at(const std::string& key) const {
    return detail::checked_cast<T>(at(key), name(), "\"" + key + "\"");
  }
  std::vector<std::string> keys() const;

 protected:
  void rebind_child(const std::string&, const ModulePtr&) override {}  // looks children up by key: nothing to update
};

// Holder with a constructor from a braced list: nn::ModuleDict({{"fc", nn::Linear(2, 3)}}).
class ModuleDict : public ModuleHolder<ModuleDictImpl> {
 public:
  using ModuleHolder<ModuleDictImpl>::ModuleHolder;
  ModuleDict(std::initializer_list<std::pair<std::string, ModulePtr>> items)
      : ModuleHolder(std::make_shared<ModuleDictImpl>(Named<ModulePtr>(items))) {}
};

}  // namespace cajal::nn
