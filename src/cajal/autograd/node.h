#pragma once
// A Node is one recorded op in the backward graph. It maps the gradient of its output to
// the gradients of its inputs, and points to the nodes that produced those inputs.
//
// Ops record themselves with autograd::record(...). The backward formula is a lambda
// stored inside the node together with the tensors it reads (one allocation per recorded
// op), written with differentiable tensor ops so that backward itself can be recorded
// (create_graph=true).
#include <array>
#include <atomic>
#include <concepts>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "cajal/autograd/grad_mode.h"
#include "cajal/core/tensor.h"

namespace cajal::autograd {

// A tensor a backward formula reads, and its storage version when it was saved. Backward
// refuses to run when the version has changed: the formula would read the new values.
struct SavedTensor {
  Tensor tensor;
  uint32_t version = 0;
};

// The tensors one formula reads, in the order it takes them as arguments.
template <size_t N>
using Saved = std::array<SavedTensor, N>;

// Saves the tensors a formula reads (undefined ones are allowed and never checked):
//   record("mul", out, {&a, &b}, save(a, b), [](const Tensor& g, const Tensor& a, const Tensor& b) {...})
// Save an op's own output as out.detach(): the same storage, so the same version counter,
// without the grad_fn that would make the node hold itself.
template <typename... T>
  requires(std::same_as<T, Tensor> && ...)
Saved<sizeof...(T)> save(const T&... tensors) {
  return {SavedTensor{tensors, tensors.defined() ? tensors.version() : 0u}...};
}

// What backward must produce for one input: its shape and dtype.
struct InputMeta {
  Dims sizes;
  DType dtype;
};

struct Node {
  virtual ~Node() = default;
  virtual const char* name() const = 0;
  // Gradients of every input (an undefined Tensor where an input needs none).
  virtual TensorList apply(const Tensor& grad_output) = 0;
  // The tensors the formula reads, checked for in-place changes before apply().
  virtual std::span<const SavedTensor> saved() const { return {}; }
  // Frees the formula and its saved tensors once backward no longer needs them.
  virtual void release() {}
  virtual bool released() const { return false; }
  // Hooks on the output's gradient, run before apply().
  virtual Tensor run_pre_hooks(Tensor grad);

  std::vector<std::shared_ptr<Node>> next;  // producer of each input; null if no grad needed
  std::vector<InputMeta> inputs;
  std::vector<TensorHook> pre_hooks;
  uint64_t sequence_nr = 0;  // creation order; later ops run first in backward
};

// The node at a leaf that requires grad: adds the incoming gradient to leaf.grad().
struct AccumulateGrad final : Node {
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf(std::move(leaf)) {}
  const char* name() const override { return "AccumulateGrad"; }
  TensorList apply(const Tensor& grad) override;
  Tensor run_pre_hooks(Tensor grad) override;
  std::shared_ptr<TensorImpl> leaf;
  bool create_graph = false;  // set by the engine for each run
};

// A recorded op: the formula and its N saved tensors, stored inline. apply() calls
// formula(grad, saved tensor 0, ..., saved tensor N-1).
template <typename F, size_t N>
struct LambdaNode final : Node {
  LambdaNode(const char* op, Saved<N>&& saved, F&& f) : op(op), tensors(std::move(saved)), formula(std::move(f)) {}
  const char* name() const override { return op; }
  TensorList apply(const Tensor& grad) override {
    return [&]<size_t... I>(std::index_sequence<I...>) -> TensorList {
      return (*formula)(grad, tensors[I].tensor...);
    }(std::make_index_sequence<N>());
  }
  std::span<const SavedTensor> saved() const override { return tensors; }
  void release() override {
    formula.reset();
    tensors = {};
  }
  bool released() const override { return !formula.has_value(); }
  const char* op;
  Saved<N> tensors;
  std::optional<F> formula;
};

// True when an op on these inputs must record history.
inline bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

uint64_t next_sequence_nr();
// The node a gradient for `t` flows into: its grad_fn, its leaf accumulator, or null.
std::shared_ptr<Node> gradient_edge(const Tensor& t);
// Fills a fresh node's edges and metadata and makes it `out`'s grad_fn.
void attach(const std::shared_ptr<Node>& node, Tensor& out, const Tensor* const* inputs, size_t n);

// In-place ops call this before writing into `self`. While grad mode is on it refuses to
// overwrite a leaf that requires grad (backward would see the new values), and a view
// when history is involved (`records`: the op's result has history), since the base's
// history would not see the change.
void check_inplace(const Tensor& self, bool records, const char* op);
// After an in-place op wrote `result`'s values into `self`: self takes result's history.
void take_history(Tensor& self, const Tensor& result);

// Records `formula` as the backward of `out`: formula(grad_output, saved tensors...) returns
// the gradient of each input (an undefined Tensor where none is needed). Every tensor the
// formula reads comes through `saved` (see save()), never through the lambda's captures,
// which hold plain values only (dims, scalars, flags): so the node checks the version of
// exactly what the formula reads. Does nothing when grad mode is off or no input requires grad.
template <size_t N, typename F>
void record(const char* op, Tensor& out, std::initializer_list<const Tensor*> inputs, Saved<N> saved, F&& formula) {
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<LambdaNode<std::decay_t<F>, N>>(op, std::move(saved), std::forward<F>(formula));
  attach(node, out, inputs.begin(), inputs.size());
}

// The same, for a formula that reads no tensor: formula(grad_output).
template <typename F>
void record(const char* op, Tensor& out, std::initializer_list<const Tensor*> inputs, F&& formula) {
  record(op, out, inputs, Saved<0>{}, std::forward<F>(formula));
}

// The same, for ops with a variable number of inputs (cat, stack, attention).
template <size_t N, typename F>
void record_list(const char* op, Tensor& out, const TensorList& inputs, Saved<N> saved, F&& formula) {
  std::vector<const Tensor*> ptrs;
  ptrs.reserve(inputs.size());
  bool any = false;
  for (const Tensor& t : inputs) {
    ptrs.push_back(&t);
    any = any || t.requires_grad();
  }
  if (!GradMode::enabled() || !any) return;
  auto node = std::make_shared<LambdaNode<std::decay_t<F>, N>>(op, std::move(saved), std::forward<F>(formula));
  attach(node, out, ptrs.data(), ptrs.size());
}

template <typename F>
void record_list(const char* op, Tensor& out, const TensorList& inputs, F&& formula) {
  record_list(op, out, inputs, Saved<0>{}, std::forward<F>(formula));
}

}  // namespace cajal::autograd
