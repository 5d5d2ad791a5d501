// Module: registration of parameters, buffers and children, the recursive walks over
// them (named with PyTorch's dotted names), modes, and PyTorch's printed form.
#include "cajal/nn/module.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ostream>
#include <unordered_set>

#include "cajal/autograd/grad_mode.h"

namespace cajal::nn {

namespace {

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// A name that can appear in a dotted path: not empty, no dot.
// What is wrong with a new name ("" if nothing). The owner's name() is only asked for when
// there is an error: registration runs in constructors, where a base class's name() may
// still be pure virtual.
std::string name_problem(const std::string& kind, const std::string& name) {
  if (name.empty()) return kind + " name must not be empty";
  if (name.find('.') != std::string::npos) return kind + " name \"" + name + "\" must not contain \".\"";
  return "";
}

// `text` with every line after the first indented by `spaces` (torch.nn.modules.module._addindent).
std::string add_indent(const std::string& text, int spaces) {
  std::string out;
  const std::string pad(static_cast<size_t>(spaces), ' ');
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

// torch.nn.Module.__repr__: "Name(extra)" on one line when there are no children and the
// extra repr is one line; otherwise one indented line per extra line and per child.
std::string repr(const Module& m) {
  std::vector<std::string> lines;
  const std::string extra = m.extra_repr();
  size_t extra_lines = 0;
  if (!extra.empty()) {
    size_t start = 0;
    while (true) {
      size_t end = extra.find('\n', start);
      lines.push_back(extra.substr(start, end == std::string::npos ? std::string::npos : end - start));
      ++extra_lines;
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  const Named<ModulePtr> children = m.named_children();
  for (const auto& [name, child] : children) lines.push_back("(" + name + "): " + add_indent(repr(*child), 2));

  std::string out = m.name() + "(";
  if (extra_lines == 1 && children.empty()) {
    out += lines[0];
  } else if (!lines.empty()) {
    for (const std::string& line : lines) out += "\n  " + line;
    out += "\n";
  }
  return out + ")";
}

// 1234567 -> "1,234,567".
std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

Tensor Module::forward(const Tensor&) {
  fail<ValueError>(name(), ": forward(Tensor) is not defined for this module");
}

// --- hooks ---

// The hooks of one module, in registration order. Handles and the backward hooks attached to
// outputs hold it weakly: removing a hook or destroying the module ends them.
struct ModuleHooks {
  uint64_t next_id = 1;
  std::vector<std::pair<uint64_t, Module::ForwardHook>> forward;
  std::vector<std::pair<uint64_t, Module::BackwardHook>> backward;
};

Module::HookHandle& Module::HookHandle::operator=(HookHandle&& other) noexcept {
  if (this != &other) {
    remove();
    hooks_ = std::move(other.hooks_);
    id_ = other.id_;
    other.hooks_.reset();
  }
  return *this;
}

void Module::HookHandle::remove() {
  if (std::shared_ptr<ModuleHooks> hooks = hooks_.lock()) {
    std::erase_if(hooks->forward, [&](const auto& entry) { return entry.first == id_; });
    std::erase_if(hooks->backward, [&](const auto& entry) { return entry.first == id_; });
  }
  hooks_.reset();
}

Module::HookHandle Module::register_forward_hook(ForwardHook hook) {
  if (!hook) fail<ValueError>(name(), ".register_forward_hook: the hook is empty");
  if (!hooks_) hooks_ = std::make_shared<ModuleHooks>();
  hooks_->forward.emplace_back(hooks_->next_id, std::move(hook));
  return HookHandle(hooks_, hooks_->next_id++);
}

Module::HookHandle Module::register_backward_hook(BackwardHook hook) {
  if (!hook) fail<ValueError>(name(), ".register_backward_hook: the hook is empty");
  if (!hooks_) hooks_ = std::make_shared<ModuleHooks>();
  hooks_->backward.emplace_back(hooks_->next_id, std::move(hook));
  return HookHandle(hooks_, hooks_->next_id++);
}

Tensor Module::call(const Tensor& input) {
  if (!hooks_ || (hooks_->forward.empty() && hooks_->backward.empty())) return forward(input);
  Tensor output = forward(input);
  // Copies: a hook may remove itself (or others) while running.
  for (const auto& [id, hook] : std::vector(hooks_->forward)) {
    Tensor replaced = hook(*this, input, output);
    if (replaced.defined()) output = replaced;
  }
  if (!hooks_->backward.empty() && output.requires_grad() && !output.is_leaf()) {
    // The module outlives its hooks object, so while the weak pointer locks, `this` is alive.
    output.register_hook([weak = std::weak_ptr<ModuleHooks>(hooks_), module = this](const Tensor& grad) {
      std::shared_ptr<ModuleHooks> hooks = weak.lock();
      if (!hooks) return grad;
      Tensor result = grad;
      for (const auto& [id, hook] : std::vector(hooks->backward)) {
        Tensor replaced = hook(*module, result);
        if (replaced.defined()) result = replaced;
      }
      return result;
    });
  }
  return output;
}

// --- structure ---

namespace {

// The module itself: an owning pointer when it lives in a shared_ptr, otherwise a
// non-owning one (a model built on the stack), valid while the module is.
ModulePtr pointer_to(const Module& m) {
  ModulePtr self = std::const_pointer_cast<Module>(m.weak_from_this().lock());
  return self ? self : ModulePtr(ModulePtr(), const_cast<Module*>(&m));
}

}  // namespace

Named<ModulePtr> Module::named_modules(const std::string& prefix) const {
  const ModulePtr self = pointer_to(*this);

  // Depth first, each module once even when shared (as PyTorch's named_modules).
  Named<ModulePtr> out;
  std::unordered_set<const Module*> seen;
  std::function<void(const ModulePtr&, const std::string&)> visit = [&](const ModulePtr& m, const std::string& path) {
    if (!seen.insert(m.get()).second) return;
    out.emplace_back(path, m);
    for (const auto& [name, child] : m->children_) visit(child, join_name(path, name));
  };
  visit(self, prefix);
  return out;
}

Named<Tensor> Module::collect(bool recurse, Named<Slot> Module::*list) const {
  Named<Tensor> out;
  std::unordered_set<const TensorImpl*> seen;
  auto add_from = [&](const Module& m, const std::string& path) {
    for (const auto& [name, slot] : m.*list) {
      const Tensor& t = *slot.tensor;
      if (t.defined() && seen.insert(t.impl()).second) out.emplace_back(join_name(path, name), t);
    }
  };
  if (!recurse) {
    add_from(*this, "");
    return out;
  }
  for (const auto& [path, m] : named_modules()) add_from(*m, path);
  return out;
}

namespace {

TensorList values_of(const Named<Tensor>& named) {
  TensorList out;
  out.reserve(named.size());
  for (const auto& entry : named) out.push_back(entry.second);
  return out;
}

}  // namespace

Named<Tensor> Module::named_parameters(bool recurse) const { return collect(recurse, &Module::params_); }
TensorList Module::parameters(bool recurse) const { return values_of(named_parameters(recurse)); }
Named<Tensor> Module::named_buffers(bool recurse) const { return collect(recurse, &Module::buffers_); }
TensorList Module::buffers(bool recurse) const { return values_of(named_buffers(recurse)); }

Named<Tensor> Module::state_dict() const {
  // As torch: this module's parameters, then its buffers, then each child's entries under
  // its name. A module reachable under two names is saved under both. The values share
  // data with the module but carry no history.
  Named<Tensor> out;
  std::function<void(const Module&, const std::string&)> save = [&](const Module& m, const std::string& prefix) {
    for (const Named<Slot>* list : {&m.params_, &m.buffers_})
      for (const auto& [name, slot] : *list)
        if (slot.tensor->defined()) out.emplace_back(join_name(prefix, name), slot.tensor->detach());
    for (const auto& [name, child] : m.children_) save(*child, join_name(prefix, name));
  };
  save(*this, "");
  return out;
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (const Tensor& p : parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

// --- modes and bulk operations ---

void Module::train(bool on) {
  training_ = on;
  for (const auto& entry : children_) entry.second->train(on);
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

Module& Module::requires_grad_(bool on) {
  for (Tensor& p : parameters()) p.requires_grad_(on);
  return *this;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  // Children first, then this module, as torch.nn.Module.apply.
  for (const auto& entry : children_) entry.second->apply(fn);
  fn(*this);
}

std::string Module::to_string(bool with_counts) const {
  std::string out = repr(*this);
  if (with_counts)
    out += "\nTotal params: " + with_thousands(num_parameters()) +
           " (trainable: " + with_thousands(num_parameters(true)) + ")";
  return out;
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.to_string(); }

// --- Python's printed values ---

std::string repr_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // The shortest digits that round-trip, as Python's repr, from the scientific form d.ddde+X.
  char buf[64];
  char* end = std::to_chars(buf, buf + sizeof buf, std::fabs(value), std::chars_format::scientific).ptr;
  std::string sci(buf, end);
  const size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  if (e_pos > 1) digits.erase(1, 1);  // drop the decimal point
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  const int point = exponent + 1;  // digits before the decimal point
  const auto n = static_cast<int>(digits.size());
  std::string out = std::signbit(value) ? "-" : "";
  if (point <= -4 || point > 16) {  // Python switches to exponent notation outside 1e-4 <= |x| < 1e16
    out.append(sci, 0, e_pos);
    out += exponent < 0 ? "e-" : "e+";
    if (std::abs(exponent) < 10) out += '0';
    out += std::to_string(std::abs(exponent));
  } else if (point <= 0) {
    out.append("0.").append(static_cast<size_t>(-point), '0').append(digits);
  } else if (point >= n) {
    out.append(digits).append(static_cast<size_t>(point - n), '0').append(".0");
  } else {
    out.append(digits, 0, static_cast<size_t>(point)).append(".").append(digits, static_cast<size_t>(point));
  }
  return out;
}

std::string repr_bool(bool value) { return value ? "True" : "False"; }

std::string repr_tuple(const Dims& values) {
  std::string out = "(";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out + (values.size() == 1 ? ",)" : ")");
}

// --- registration ---

namespace {

template <typename T>
bool has_name(const Named<T>& list, const std::string& name) {
  for (const auto& entry : list)
    if (entry.first == name) return true;
  return false;
}

}  // namespace

void Module::check_new_name(const std::string& kind, const std::string& name) const {
  if (std::string problem = name_problem(kind, name); !problem.empty()) fail<ValueError>(this->name(), ": ", problem);
  if (has_name(params_, name) || has_name(buffers_, name) || has_name(children_, name))
    fail<ValueError>(this->name(), ": cannot register ", kind, " \"", name, "\": the name is already taken");
}

void Module::add_slot(Named<Slot> Module::*list, const std::string& kind, const std::string& name, Tensor* slot,
                      bool read_by_forward) {
  check_new_name(kind, name);
  (this->*list).emplace_back(name, Slot{slot, read_by_forward});
}

namespace {

// A parameter is a leaf, like nn.Parameter(t): history of the value it came from is cut.
Tensor as_parameter(Tensor value, bool requires_grad) {
  if (value.defined()) {
    if (!value.is_leaf()) value = value.detach();
    value.requires_grad_(requires_grad);
  }
  return value;
}

}  // namespace

void Module::register_parameter(const std::string& name, Tensor& slot, Tensor value, bool requires_grad) {
  add_slot(&Module::params_, "parameter", name, &slot, true);
  slot = as_parameter(std::move(value), requires_grad);
}

void Module::register_buffer(const std::string& name, Tensor& slot, Tensor value) {
  add_slot(&Module::buffers_, "buffer", name, &slot, true);
  slot = std::move(value);
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_new_name("parameter", name);
  Tensor& slot = owned_.emplace_back(as_parameter(std::move(value), requires_grad));
  params_.emplace_back(name, Slot{&slot, false});
  return slot;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name("buffer", name);
  Tensor& slot = owned_.emplace_back(std::move(value));
  buffers_.emplace_back(name, Slot{&slot, false});
  return slot;
}

void Module::add_child(const std::string& name, ModulePtr module) {
  check_new_name("module", name);
  if (!module) fail<ValueError>(this->name(), ": cannot register module \"", name, "\": it is null");
  children_.emplace_back(name, std::move(module));
}

void Module::replace_tensor(const std::string& name, const Tensor& value) {
  for (Named<Slot>* list : {&params_, &buffers_}) {
    for (auto& [entry_name, slot] : *list) {
      if (entry_name != name) continue;
      Tensor& t = *slot.tensor;
      if (!t.defined() || !value.defined())
        fail<ValueError>(this->name(), ": replace_tensor(\"", name, "\"): cannot replace an absent tensor or with one");
      // Every handle to the registered tensor (the layer's weight_ member too) shares its
      // TensorImpl, so the new data goes into that impl. The parameter stays a leaf with
      // its own requires_grad; an old gradient no longer fits and is dropped.
      TensorImpl& impl = *t.impl();
      const TensorImpl& src = *value.impl();
      impl.storage = src.storage;
      impl.sizes = src.sizes;
      impl.strides = src.strides;
      impl.offset = src.offset;
      impl.dtype = src.dtype;
      impl.is_view = src.is_view;
      impl.grad.reset();
      impl.grad_accumulator.reset();
      return;
    }
  }
  fail<ValueError>(this->name(), ": replace_tensor: no parameter or buffer named \"", name, "\"");
}

// --- surgery ---

namespace {

std::string child_names(const Named<ModulePtr>& children) {
  if (children.empty()) return "it has no children";
  std::string out = "its children are";
  for (size_t i = 0; i < children.size(); ++i) out += (i ? ", \"" : " \"") + children[i].first + "\"";
  return out;
}

}  // namespace

ModulePtr Module::get_submodule(const std::string& path) const {
  ModulePtr current = pointer_to(*this);
  std::string walked;
  size_t start = 0;
  while (!path.empty() && start <= path.size()) {
    const size_t dot = std::min(path.find('.', start), path.size());
    const std::string part = path.substr(start, dot - start);
    ModulePtr next;
    for (const auto& [name, child] : current->children_)
      if (name == part) next = child;
    if (!next)
      fail<ValueError>("no module \"", path, "\": ", walked.empty() ? name() : walked + " (" + current->name() + ")",
                       " has no child \"", part, "\"; ", child_names(current->children_));
    walked = join_name(walked, part);
    current = next;
    start = dot + 1;
  }
  return current;
}

void Module::replace(const std::string& path, ModulePtr module) {
  if (path.empty()) fail<ValueError>("replace: the path must name a descendant, not the module itself");
  if (!module) fail<ValueError>("replace(\"", path, "\"): the new module is null");
  const size_t dot = path.rfind('.');
  const ModulePtr parent = get_submodule(dot == std::string::npos ? "" : path.substr(0, dot));
  const std::string name = dot == std::string::npos ? path : path.substr(dot + 1);
  get_submodule(path);  // the child must exist: the same error as any missing path
  parent->rebind_child(name, module);
  for (auto& [entry_name, child] : parent->children_)
    if (entry_name == name) child = module;
}

void Module::rebind_child(const std::string& name, const ModulePtr&) {
  fail<ValueError>(this->name(), " cannot replace its child \"", name,
                   "\" in place: it keeps the child in a typed member; rebuild the model with the new part instead");
}

}  // namespace cajal::nn
