#include "cajal/autograd/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "cajal/autograd/node.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"

namespace cajal::autograd {

namespace {
thread_local bool grad_enabled = true;
std::atomic<bool> anomaly_enabled{false};
std::atomic<uint64_t> sequence_counter{0};
}  // namespace

bool GradMode::enabled() { return grad_enabled; }
void GradMode::set_enabled(bool on) { grad_enabled = on; }
bool AnomalyMode::enabled() { return anomaly_enabled.load(std::memory_order_relaxed); }
void AnomalyMode::set_enabled(bool on) { anomaly_enabled = on; }
uint64_t next_sequence_nr() { return sequence_counter.fetch_add(1, std::memory_order_relaxed); }

Tensor Node::run_pre_hooks(Tensor grad) {
  for (auto& hook : pre_hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) grad = replaced;
  }
  return grad;
}

Tensor AccumulateGrad::run_pre_hooks(Tensor grad) {
  for (auto& hook : leaf->hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) grad = replaced;
  }
  return Node::run_pre_hooks(std::move(grad));
}

TensorList AccumulateGrad::apply(const Tensor& grad) {
  if (!leaf->grad) {
    // Take the incoming buffer when nobody else can see it; otherwise copy, so that a later
    // in-place accumulation never writes into a tensor the user or the graph still holds.
    bool sole_owner = grad.impl_ptr().use_count() == 1 && grad.impl()->storage.use_count() == 1 &&
                      grad.is_contiguous();
    leaf->grad = create_graph ? grad.impl_ptr() : (sole_owner ? grad.detach() : grad.detach().clone()).impl_ptr();
  } else if (create_graph || Tensor(leaf->grad).requires_grad()) {
    leaf->grad = add(Tensor(leaf->grad), grad).impl_ptr();
  } else {
    NoGradGuard no_grad;
    Tensor(leaf->grad).add_(grad);
  }
  return {};
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return impl->grad_fn;
  if (!impl->requires_grad) return nullptr;
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl->grad_accumulator = acc;
  }
  return acc;
}

void attach(const std::shared_ptr<Node>& node, Tensor& out, const Tensor* const* inputs, size_t n) {
  node->sequence_nr = next_sequence_nr();
  node->next.reserve(n);
  node->inputs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Tensor& t = *inputs[i];
    node->next.push_back(t.defined() ? gradient_edge(t) : nullptr);
    node->inputs.push_back(t.defined() ? InputMeta{t.sizes(), t.dtype()} : InputMeta{});
  }
  out.impl()->grad_fn = node;
  out.impl()->requires_grad = true;
}

void check_inplace(const Tensor& self, bool records, const char* op) {
  if (!GradMode::enabled()) return;
  if (self.requires_grad() && self.is_leaf())
    fail<AutogradError>(op, ": a leaf tensor that requires grad is used in an in-place operation; "
                        "wrap it in NoGradGuard (optimizer updates) or clone() it");
  if (self.impl()->is_view && (records || self.requires_grad()))
    fail<AutogradError>(op, ": in-place operation on a view (of shape ", self.sizes(),
                        ") while recording history is not supported: the gradient of the tensor it views "
                        "would miss the change; use out-of-place ops, or clone() the view first");
}

void take_history(Tensor& self, const Tensor& result) {
  if (!result.requires_grad()) return;
  self.impl()->grad_fn = result.grad_fn();
  self.impl()->requires_grad = true;
}

namespace {

bool all_finite(const Tensor& t) {
  if (!is_floating(t.dtype())) return true;
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

void accumulate_into(std::unordered_map<Node*, Tensor>& buffers, Node* node, const Tensor& grad) {
  Tensor& slot = buffers[node];
  slot = slot.defined() ? add(slot, grad) : grad;
}

// Checks one gradient a node produced against its input and casts it to the input's dtype.
Tensor validate(Node* node, size_t i, Tensor grad) {
  const InputMeta& meta = node->inputs[i];
  if (grad.sizes() != meta.sizes)
    fail<AutogradError>("backward of '", node->name(), "' returned a gradient of shape ", grad.sizes(),
                        " for input ", i, " of shape ", meta.sizes);
  if (grad.dtype() != meta.dtype) grad = grad.to(meta.dtype);
  if (AnomalyMode::enabled() && !all_finite(grad))
    fail<AutogradError>("anomaly: backward of '", node->name(), "' produced NaN or infinity in the gradient of input ",
                        i, "; the forward op '", node->name(), "' is where to look");
  return grad;
}

struct ByNewest {
  bool operator()(Node* a, Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

// Runs the graph below `roots`. With `captures`, records the gradient arriving at those
// nodes and leaves every .grad() alone (autograd::grad); otherwise accumulates into leaves.
void run_graph(const std::vector<std::shared_ptr<Node>>& roots, const TensorList& seeds, bool retain_graph,
               bool create_graph, const std::vector<Node*>* captures, TensorList* captured) {
  GradModeGuard mode(create_graph);
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> order;  // every reachable node, parents before children
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (auto& r : roots)
    if (seen.insert(r.get()).second) stack.push_back(r.get());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    order.push_back(n);
    for (auto& next : n->next)
      if (next) {
        ++deps[next.get()];
        if (seen.insert(next.get()).second) stack.push_back(next.get());
      }
  }

  // With captures, only nodes on a path to a captured node need to run.
  std::unordered_set<Node*> needed;
  if (captures) {
    std::unordered_map<Node*, int> remaining = deps;
    std::vector<Node*> topo;
    std::vector<Node*> ready;
    for (auto& r : roots)
      if (!remaining.count(r.get())) ready.push_back(r.get());
    std::unordered_set<Node*> queued(ready.begin(), ready.end());
    while (!ready.empty()) {
      Node* n = ready.back();
      ready.pop_back();
      topo.push_back(n);
      for (auto& next : n->next)
        if (next && --remaining[next.get()] == 0 && queued.insert(next.get()).second) ready.push_back(next.get());
    }
    std::unordered_set<Node*> targets(captures->begin(), captures->end());
    for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
      Node* n = *it;
      bool need = targets.count(n) > 0;
      for (auto& next : n->next) need = need || (next && needed.count(next.get()));
      if (need) needed.insert(n);
    }
  }

  std::unordered_map<Node*, Tensor> buffers;
  for (size_t i = 0; i < roots.size(); ++i) accumulate_into(buffers, roots[i].get(), seeds[i]);

  std::priority_queue<Node*, std::vector<Node*>, ByNewest> ready;
  std::unordered_set<Node*> pushed;
  for (auto& r : roots)
    if (!deps.count(r.get()) && pushed.insert(r.get()).second) ready.push(r.get());

  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    Tensor grad;
    if (auto it = buffers.find(node); it != buffers.end()) {
      grad = std::move(it->second);
      buffers.erase(it);
    }
    bool is_leaf_node = dynamic_cast<AccumulateGrad*>(node) != nullptr;
    bool run = grad.defined() && (!captures || needed.count(node));
    if (run) {
      grad = node->run_pre_hooks(std::move(grad));
      if (captures)
        for (size_t c = 0; c < captures->size(); ++c)
          if ((*captures)[c] == node) (*captured)[c] = grad;
      if (captures && is_leaf_node) run = false;
    }
    if (run) {
      if (node->released())
        fail<AutogradError>("backward through '", node->name(),
                            "' a second time: its saved tensors were freed; pass retain_graph=true to the first backward");
      for (const SavedTensor& s : node->saved())
        if (s.tensor.defined() && s.tensor.version() != s.version)
          fail<AutogradError>("backward of '", node->name(),
                              "': a tensor it saved was modified by an in-place operation (version ", s.version,
                              " when saved, now ", s.tensor.version(), "); use an out-of-place op or clone() first");
      if (auto* acc = dynamic_cast<AccumulateGrad*>(node)) acc->create_graph = create_graph;
      TensorList grads = node->apply(grad);
      grad = Tensor();
      // Free what the formula holds; a node that saved no tensors can run again (as in PyTorch).
      if (!retain_graph && !node->saved().empty()) node->release();
      if (!is_leaf_node && grads.size() != node->next.size())
        fail<AutogradError>("backward of '", node->name(), "' returned ", grads.size(), " gradients for ",
                            node->next.size(), " inputs");
      for (size_t i = 0; i < grads.size(); ++i)
        if (node->next[i] && grads[i].defined())
          accumulate_into(buffers, node->next[i].get(), validate(node, i, std::move(grads[i])));
    }
    for (auto& next : node->next)
      if (next && --deps[next.get()] == 0) ready.push(next.get());
  }
}

// The node each output's gradient enters, and its seed gradient.
void prepare_roots(const TensorList& outputs, const TensorList& grad_outputs, const char* op,
                   std::vector<std::shared_ptr<Node>>& roots, TensorList& seeds) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    fail<ValueError>(op, ": got ", outputs.size(), " outputs but ", grad_outputs.size(), " gradients");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    check_defined(op, out);
    std::shared_ptr<Node> node = gradient_edge(out);
    if (!node)
      fail<AutogradError>(op, ": output ", i, " does not require grad and has no grad_fn");
    Tensor seed = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!seed.defined()) {
      if (out.numel() != 1)
        fail<AutogradError>(op, ": a gradient can be created implicitly only for one-element outputs, output ", i,
                            " has shape ", out.sizes(), "; pass a gradient");
      seed = ones_like(out);
    } else if (seed.sizes() != out.sizes()) {
      fail<ShapeError>(op, ": gradient of shape ", seed.sizes(), " given for output ", i, " of shape ", out.sizes());
    }
    roots.push_back(node);
    seeds.push_back(seed);
  }
}

}  // namespace

void backward(const TensorList& outputs, const TensorList& grad_outputs, bool retain_graph, bool create_graph) {
  std::vector<std::shared_ptr<Node>> roots;
  TensorList seeds;
  prepare_roots(outputs, grad_outputs, "backward", roots, seeds);
  run_graph(roots, seeds, retain_graph || create_graph, create_graph, nullptr, nullptr);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                std::optional<bool> retain_graph, bool create_graph, bool allow_unused) {
  std::vector<std::shared_ptr<Node>> roots;
  TensorList seeds;
  prepare_roots(outputs, grad_outputs, "grad", roots, seeds);
  std::vector<std::shared_ptr<Node>> input_nodes;  // keeps accumulators alive for the run
  std::vector<Node*> captures;
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_defined("grad", inputs[i]);
    if (!inputs[i].requires_grad()) fail<AutogradError>("grad: input ", i, " does not require grad");
    input_nodes.push_back(gradient_edge(inputs[i]));
    captures.push_back(input_nodes.back().get());
  }
  TensorList result(inputs.size());
  run_graph(roots, seeds, retain_graph.value_or(create_graph), create_graph, &captures, &result);
  for (size_t i = 0; i < result.size(); ++i)
    if (!result[i].defined() && !allow_unused)
      fail<AutogradError>("grad: input ", i, " was not used to compute the outputs; pass allow_unused=true");
  return result;
}

}  // namespace cajal::autograd
