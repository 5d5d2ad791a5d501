#pragma once
// User-defined differentiable functions, in the style of torch::autograd::Function:
//
//   struct Cube : autograd::Function<Cube> {
//     static constexpr const char* name = "Cube";
//     static Tensor forward(autograd::FunctionCtx& ctx, const Tensor& x) {
//       ctx.save_for_backward({x});
//       return x * x * x;
//     }
//     static TensorList backward(autograd::FunctionCtx& ctx, const Tensor& grad) {
//       Tensor x = ctx.saved()[0];
//       return {grad * 3 * x * x};   // one entry per Tensor argument of forward
//     }
//   };
//   Tensor y = Cube::apply(x);
//
// forward runs without recording; backward may use any differentiable op, so custom
// functions support create_graph too.
#include <map>
#include <string>
#include <type_traits>

#include "cajal/autograd/node.h"

namespace cajal::autograd {

struct FunctionCtx {
  void save_for_backward(TensorList tensors) {
    saved_ = std::move(tensors);
    versions_.clear();
    for (const Tensor& t : saved_) versions_.push_back({t, t.defined() ? t.version() : 0u});
  }
  const TensorList& saved() const { return saved_; }
  // The saved tensors with their versions at save_for_backward, for backward's in-place check.
  std::span<const SavedTensor> versions() const { return versions_; }
  std::map<std::string, double> values;  // non-tensor state for backward
 private:
  TensorList saved_;
  std::vector<SavedTensor> versions_;
};

// The node of a custom function: its context (the tensors forward saved, with their
// versions then) is stored inside, as a recorded op's saved tensors are.
template <typename Derived>
struct FunctionNode final : Node {
  FunctionNode(FunctionCtx&& ctx, size_t n_inputs) : ctx(std::move(ctx)), n_inputs(n_inputs) {}
  const char* name() const override { return Derived::name; }
  TensorList apply(const Tensor& grad) override {
    TensorList grads = Derived::backward(*ctx, grad);
    if (grads.size() != n_inputs)
      fail<AutogradError>(Derived::name, ": backward returned ", grads.size(), " gradients, expected ", n_inputs,
                          " (one per tensor argument of forward)");
    return grads;
  }
  std::span<const SavedTensor> saved() const override { return ctx->versions(); }
  void release() override { ctx.reset(); }
  bool released() const override { return !ctx.has_value(); }
  std::optional<FunctionCtx> ctx;
  size_t n_inputs;
};

template <typename Derived>
struct Function {
  template <typename... Args>
  static Tensor apply(const Args&... args) {
    FunctionCtx ctx;
    Tensor out;
    {
      NoGradGuard no_grad;
      out = Derived::forward(ctx, args...);
    }
    if (out.is_leaf() && out.requires_grad())
      fail<AutogradError>(Derived::name, ": forward returned a leaf that requires grad; return a new tensor");
    std::vector<const Tensor*> inputs;
    (collect(inputs, args), ...);
    bool any = false;
    for (const Tensor* t : inputs) any = any || t->requires_grad();
    if (!GradMode::enabled() || !any) return out;
    Tensor result = out.detach();  // `out` may alias an input's history-free view
    auto node = std::make_shared<FunctionNode<Derived>>(std::move(ctx), inputs.size());
    attach(node, result, inputs.data(), inputs.size());
    return result;
  }

 private:
  template <typename A>
  static void collect(std::vector<const Tensor*>& out, const A& arg) {
    if constexpr (std::is_same_v<A, Tensor>) out.push_back(&arg);
  }
};

}  // namespace cajal::autograd
