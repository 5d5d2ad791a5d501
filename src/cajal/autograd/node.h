#pragma once
// A Node is one recorded op in the backward graph. It maps the gradient of its output to
// the gradients of its inputs, and points to the nodes that produced those inputs.
//
// Ops record themselves with autograd::record(...). The backward formula is a lambda
// stored inside the node (one allocation per recorded op), written with differentiable
// tensor ops so that backward itself can be recorded (create_graph=true).
#include <atomic>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "cajal/autograd/grad_mode.h"
#include "cajal/core/tensor.h"

namespace cajal::autograd {

// A tensor's storage version at the moment backward saved it.
struct SavedVersion {
  std::shared_ptr<Storage> storage;
  uint32_t version;
};

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
  // Frees what the formula captured once backward no longer needs it.
  virtual void release() {}
  virtual bool released() const { return false; }
  // Hooks on the output's gradient, run before apply().
  virtual Tensor run_pre_hooks(Tensor grad);

  std::vector<std::shared_ptr<Node>> next;  // producer of each input; null if no grad needed
  std::vector<InputMeta> inputs;
  std::vector<SavedVersion> saved;
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

template <typename F>
struct LambdaNode final : Node {
  LambdaNode(const char* op, F&& f) : op(op), formula(std::move(f)) {}
  const char* name() const override { return op; }
  TensorList apply(const Tensor& grad) override { return (*formula)(grad); }
  void release() override { formula.reset(); }
  bool released() const override { return !formula.has_value(); }
  const char* op;
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
void attach(const std::shared_ptr<Node>& node, Tensor& out, const Tensor* const* inputs, size_t n,
            const Tensor* const* saved, size_t n_saved);

// In-place ops call this before writing into `self`. While grad mode is on it refuses to
// overwrite a leaf that requires grad (backward would see the new values), and a view
// when history is involved (`records`: the op's result has history), since the base's
// history would not see the change.
void check_inplace(const Tensor& self, bool records, const char* op);
// After an in-place op wrote `result`'s values into `self`: self takes result's history.
void take_history(Tensor& self, const Tensor& result);

// Records `formula` (grad_output -> {grad of each input}) as the backward of `out`.
// `saved` lists the tensors the formula reads, so in-place changes to them are caught.
// Does nothing when grad mode is off or no input requires grad.
template <typename F>
void record(const char* op, Tensor& out, std::initializer_list<const Tensor*> inputs, F&& formula,
            std::initializer_list<const Tensor*> saved = {}) {
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<LambdaNode<std::decay_t<F>>>(op, std::forward<F>(formula));
  attach(node, out, inputs.begin(), inputs.size(), saved.begin(), saved.size());
}

// The same, for ops with a variable number of inputs (cat, stack).
template <typename F>
void record_list(const char* op, Tensor& out, const TensorList& inputs, F&& formula) {
  std::vector<const Tensor*> ptrs;
  ptrs.reserve(inputs.size());
  bool any = false;
  for (const Tensor& t : inputs) {
    ptrs.push_back(&t);
    any = any || t.requires_grad();
  }
  if (!GradMode::enabled() || !any) return;
  auto node = std::make_shared<LambdaNode<std::decay_t<F>>>(op, std::forward<F>(formula));
  attach(node, out, ptrs.data(), ptrs.size(), nullptr, 0);
}

}  // namespace cajal::autograd
