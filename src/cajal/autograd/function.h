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
  void save_for_backward(TensorList tensors) { saved_ = std::move(tensors); }
  const TensorList& saved() const { return saved_; }
  std::map<std::string, double> values;  // non-tensor state for backward
 private:
  TensorList saved_;
};

template <typename Derived>
struct Function {
  template <typename... Args>
  static Tensor apply(const Args&... args) {
    auto ctx = std::make_shared<FunctionCtx>();
    Tensor out;
    {
      NoGradGuard no_grad;
      out = Derived::forward(*ctx, args...);
    }
    if (out.is_leaf() && out.requires_grad())
      fail<AutogradError>(Derived::name, ": forward returned a leaf that requires grad; return a new tensor");
    std::vector<const Tensor*> inputs;
    (collect(inputs, args), ...);
    bool any = false;
    for (const Tensor* t : inputs) any = any || t->requires_grad();
    if (!GradMode::enabled() || !any) return out;
    std::vector<const Tensor*> saved;
    for (const Tensor& t : ctx->saved()) saved.push_back(&t);
    size_t n_inputs = inputs.size();
    auto formula = [ctx, n_inputs](const Tensor& g) {
      TensorList grads = Derived::backward(*ctx, g);
      if (grads.size() != n_inputs)
        fail<AutogradError>(Derived::name, ": backward returned ", grads.size(), " gradients, expected ",
                            n_inputs, " (one per tensor argument of forward)");
      return grads;
    };
    Tensor result = out.detach();  // `out` may alias an input's history-free view
    auto node = std::make_shared<LambdaNode<decltype(formula)>>(Derived::name, std::move(formula));
    attach(node, result, inputs.data(), inputs.size(), saved.data(), saved.size());
    return result;
  }

 private:
  template <typename A>
  static void collect(std::vector<const Tensor*>& out, const A& arg) {
    if constexpr (std::is_same_v<A, Tensor>) out.push_back(&arg);
  }
};

}  // namespace cajal::autograd
