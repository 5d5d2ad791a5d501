#pragma once
// Module: the base of every layer and model, in the spirit of torch.nn.Module.
//
// A module owns named parameters (tensors that require grad), buffers (state that is
// saved but not trained, like batch-norm running means) and child modules. Names join
// with dots the way PyTorch forms them ("features.0.weight"), so weight files move
// between cajal and PyTorch.
//
// Layers are written as `XImpl : Module` and used through a `ModuleHolder`, like
// LibTorch's TORCH_MODULE: `nn::Linear fc(784, 10); fc->forward(x);`. Holders let a
// model be built in one expression:
//   auto model = nn::Sequential(nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), ...);
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cajal/core/tensor.h"

namespace cajal::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;
struct ModuleHooks;
template <typename T>
using Named = std::vector<std::pair<std::string, T>>;

class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  // The class name PyTorch prints ("Linear", "Conv2d").
  virtual std::string name() const = 0;
  // The arguments shown inside the parentheses when printing ("in_features=784, ...").
  virtual std::string extra_repr() const { return ""; }
  // The forward pass of modules with one input and one output. Modules with other
  // signatures (losses, attention) add their own forward overloads.
  virtual Tensor forward(const Tensor& input);

  // --- structure ---
  Named<Tensor> named_parameters(bool recurse = true) const;
  TensorList parameters(bool recurse = true) const;
  Named<Tensor> named_buffers(bool recurse = true) const;
  TensorList buffers(bool recurse = true) const;
  Named<ModulePtr> named_children() const { return children_; }
  // This module ("" name) and every descendant, depth first, in registration order.
  Named<ModulePtr> named_modules(const std::string& prefix = "") const;
  // Parameters and buffers by dotted name: what weight files hold.
  Named<Tensor> state_dict() const;
  // Number of parameter elements (only those that require grad when trainable_only).
  int64_t num_parameters(bool trainable_only = false) const;

  // --- modes and bulk operations ---
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad();
  // Freezes (false) or unfreezes every parameter, e.g. a pretrained backbone.
  Module& requires_grad_(bool on);
  // Calls fn on this module and every descendant (like torch's apply, for custom init).
  void apply(const std::function<void(Module&)>& fn);

  // --- surgery (transfer learning) ---
  // The descendant at a dotted path ("features.3", "" for this module); a ValueError naming
  // the first part that does not exist and the names there are.
  ModulePtr get_submodule(const std::string& path) const;
  // Puts `module` where the descendant at `path` was, as torch's setattr on its parent:
  // model->replace("2", nn::Linear(128, 5)), model->replace("layer4.1.conv2", ...). The
  // parent must accept it (see rebind_child); on refusal nothing changes.
  void replace(const std::string& path, ModulePtr module);

  // PyTorch's printed form, followed by a parameter count line when with_counts.
  std::string to_string(bool with_counts = false) const;

  // --- hooks (what interpretability reads: Grad-CAM needs a layer's output and its gradient) ---
  // A forward hook sees the module, its input and its output after forward; it may return a
  // replacement output (an undefined Tensor keeps the output). A backward hook sees the
  // gradient of the loss with respect to the module's output (torch's grad_output) when
  // backward reaches it; it may return a replacement gradient. Hooks run when the module is
  // called, not when forward is called directly: `module(x)` through its holder, or call(x),
  // which Sequential and the built-in models use for their children. Backward hooks attach
  // to outputs that have a gradient history (not to an output that is a leaf tensor).
  using ForwardHook = std::function<Tensor(Module& module, const Tensor& input, const Tensor& output)>;
  using BackwardHook = std::function<Tensor(Module& module, const Tensor& grad_output)>;
  // Keeps a hook registered for as long as it lives (or until remove()): a hook that outlived
  // the explanation that set it would keep capturing activations on every later call.
  class [[nodiscard]] HookHandle {
   public:
    HookHandle() = default;
    HookHandle(std::weak_ptr<ModuleHooks> hooks, uint64_t id) : hooks_(std::move(hooks)), id_(id) {}
    HookHandle(HookHandle&& other) noexcept : hooks_(std::move(other.hooks_)), id_(other.id_) { other.hooks_.reset(); }
    HookHandle& operator=(HookHandle&& other) noexcept;
    HookHandle(const HookHandle&) = delete;
    HookHandle& operator=(const HookHandle&) = delete;
    ~HookHandle() { remove(); }
    void remove();

   private:
    std::weak_ptr<ModuleHooks> hooks_;
    uint64_t id_ = 0;
  };
  HookHandle register_forward_hook(ForwardHook hook);
  HookHandle register_backward_hook(BackwardHook hook);
  // forward(input) with this module's hooks around it.
  Tensor call(const Tensor& input);

 protected:
  // Registers the member `slot` that forward reads as parameter `name`, holding `value`
  // (requires_grad set): register_parameter("weight", weight_, empty({out, in})). Because
  // the module keeps the slot's address, functional_call can put other tensors in it for one
  // call, and loading replaces what forward reads. An undefined value is an absent
  // parameter (a layer without bias).
  void register_parameter(const std::string& name, Tensor& slot, Tensor value, bool requires_grad = true);
  void register_buffer(const std::string& name, Tensor& slot, Tensor value);
  // A parameter or buffer the module keeps itself (forward does not read it through a
  // member slot, so functional_call refuses to substitute it). Returns a handle to it.
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  void add_child(const std::string& name, ModulePtr module);
  // Replaces a registered parameter or buffer's tensor (for loading), keeping its name.
  void replace_tensor(const std::string& name, const Tensor& value);
  // replace() asks the parent to switch the handle it keeps to its child `name` over to
  // `module`, before the child entry changes. Containers accept; a module that keeps a
  // child in a typed member overrides this for the children it can take; the default
  // refuses with a ValueError (a silently stale handle would keep running the old child).
  virtual void rebind_child(const std::string& name, const ModulePtr& module);

 private:
  friend class SubstitutedTensors;  // functional_call's swap of slot contents
  // A registered parameter or buffer: where it lives, and whether forward reads it there.
  struct Slot {
    Tensor* tensor;
    bool read_by_forward;
  };
  void add_slot(Named<Slot> Module::*list, const std::string& kind, const std::string& name, Tensor* slot, bool read_by_forward);
  // Throws unless `name` is a valid, unused parameter, buffer or child name.
  void check_new_name(const std::string& kind, const std::string& name) const;
  // Named entries of `list` in this module (and every descendant when recurse), each tensor once.
  Named<Tensor> collect(bool recurse, Named<Slot> Module::*list) const;
  Named<Slot> params_;
  Named<Slot> buffers_;
  std::deque<Tensor> owned_;  // tensors registered without a member slot (a deque: stable addresses)
  Named<ModulePtr> children_;
  bool training_ = true;
  std::shared_ptr<ModuleHooks> hooks_;  // created by the first registration
};

std::ostream& operator<<(std::ostream& os, const Module& m);

// Values as Python prints them, for extra_repr (so printed modules match PyTorch's):
// repr_float(0.01) "0.01", repr_float(1) "1.0", repr_float(1e-5) "1e-05";
// repr_bool(true) "True"; repr_tuple({2, 5}) "(2, 5)", repr_tuple({2}) "(2,)".
std::string repr_float(double value);
std::string repr_bool(bool value);
std::string repr_tuple(const Dims& values);

// --- holders: nn::Linear is a ModuleHolder<LinearImpl> ---

// A layer's options struct, if its Impl declares `using Options = ...`.
struct NoOptions {};
template <typename Impl, typename = void>
struct options_of { using type = NoOptions; };
template <typename Impl>
struct options_of<Impl, std::void_t<typename Impl::Options>> { using type = typename Impl::Options; };

template <typename Impl>
class ModuleHolder {
 public:
  using Options = typename options_of<Impl>::type;
  // Forwards to Impl's constructor. The overloads with a trailing Options parameter exist
  // so designated initializers work: nn::Conv2d(1, 32, 3, {.padding = 1}).
  template <typename... Args>
    requires std::is_constructible_v<Impl, Args...>
  ModuleHolder(Args&&... args) : impl_(std::make_shared<Impl>(std::forward<Args>(args)...)) {}  // NOLINT
  // Options alone, for modules configured by nothing else: nn::CrossEntropyLoss({.label_smoothing = 0.1}).
  ModuleHolder(Options o)  // NOLINT
    requires std::is_constructible_v<Impl, Options>
      : impl_(std::make_shared<Impl>(std::move(o))) {}
  template <typename A1>
    requires std::is_constructible_v<Impl, A1, Options>
  ModuleHolder(A1&& a1, Options o) : impl_(std::make_shared<Impl>(std::forward<A1>(a1), std::move(o))) {}
  template <typename A1, typename A2>
    requires std::is_constructible_v<Impl, A1, A2, Options>
  ModuleHolder(A1&& a1, A2&& a2, Options o)
      : impl_(std::make_shared<Impl>(std::forward<A1>(a1), std::forward<A2>(a2), std::move(o))) {}
  template <typename A1, typename A2, typename A3>
    requires std::is_constructible_v<Impl, A1, A2, A3, Options>
  ModuleHolder(A1&& a1, A2&& a2, A3&& a3, Options o)
      : impl_(std::make_shared<Impl>(std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3), std::move(o))) {}
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}  // NOLINT

  Impl* operator->() const { return impl_.get(); }
  Impl& operator*() const { return *impl_; }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  operator ModulePtr() const { return impl_; }  // NOLINT: a holder is usable wherever a module is
  // Calls forward: model(x), or bilinear(x1, x2) for modules with other forward overloads.
  // A module whose forward is Module's one-tensor forward is called through call(), so its
  // hooks run.
  template <typename... Args>
  decltype(auto) operator()(Args&&... args) const {
    if constexpr (sizeof...(Args) == 1 && (std::is_convertible_v<Args, const Tensor&> && ...) &&
                  requires { static_cast<Tensor (Impl::*)(const Tensor&)>(&Impl::forward); })
      return impl_->call(std::forward<Args>(args)...);
    else
      return impl_->forward(std::forward<Args>(args)...);
  }
  // Indexing forwards to the module (containers): seq[0], dict["fc"].
  template <typename Arg>
  decltype(auto) operator[](Arg&& arg) const { return (*impl_)[std::forward<Arg>(arg)]; }

 private:
  std::shared_ptr<Impl> impl_;
};

// Declares the holder `Name` for `NameImpl`.
#define CAJAL_MODULE(Name)                                   \
  class Name : public ::cajal::nn::ModuleHolder<Name##Impl> { \
   public:                                                   \
    using ::cajal::nn::ModuleHolder<Name##Impl>::ModuleHolder; \
  }

}  // namespace cajal::nn
