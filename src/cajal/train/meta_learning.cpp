// MAML, first-order MAML and Reptile: the inner loop (adapt) and the meta-gradient.
#include "cajal/train/meta_learning.h"

#include "cajal/autograd/engine.h"
#include "cajal/autograd/grad_mode.h"
#include "cajal/nn/functional_call.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"

namespace cajal::train {

using nn::Named;

MetaMethod parse_meta_method(const std::string& name) {
  if (name == "maml") return MetaMethod::Maml;
  if (name == "fomaml") return MetaMethod::FirstOrderMaml;
  if (name == "reptile") return MetaMethod::Reptile;
  fail<ValueError>("unknown meta-learning method \"", name, "\" (expected maml, fomaml or reptile)");
}

const char* meta_method_name(MetaMethod method) {
  switch (method) {
    case MetaMethod::Maml: return "maml";
    case MetaMethod::FirstOrderMaml: return "fomaml";
    case MetaMethod::Reptile: return "reptile";
  }
  return "?";
}

namespace {

Named<Tensor> trainable_parameters(const nn::Module& model) {
  Named<Tensor> out;
  for (const auto& entry : model.named_parameters())
    if (entry.second.requires_grad()) out.push_back(entry);
  return out;
}

TensorList values(const Named<Tensor>& named) {
  TensorList out;
  for (const auto& entry : named) out.push_back(entry.second);
  return out;
}

void add_into(TensorList& sums, const TensorList& terms) {
  if (sums.empty()) {
    for (const Tensor& t : terms) sums.push_back(t.detach().clone());
    return;
  }
  for (size_t i = 0; i < sums.size(); ++i) sums[i].add_(terms[i].detach());
}

// adapt() from the given trainable weights (so meta_gradient lists them once per meta-batch).
Named<Tensor> adapt_from(nn::Module& model, Named<Tensor> weights, const LossFn& loss, const Tensor& input,
                         const Tensor& target, int64_t steps, double lr, bool create_graph) {
  if (steps < 0) fail<ValueError>("adapt: inner steps must be >= 0, got ", steps);
  if (!create_graph)  // fresh leaves: the steps below record nothing that reaches the model
    for (auto& entry : weights) entry.second = entry.second.detach().requires_grad_(true);
  for (int64_t step = 0; step < steps; ++step) {
    const Tensor value = loss(nn::functional_call(model, weights, input), target);
    const TensorList grads = autograd::grad({value}, values(weights), {}, std::nullopt, create_graph);
    for (size_t i = 0; i < weights.size(); ++i) {
      Tensor& w = weights[i].second;
      if (create_graph) {
        w = w - grads[i] * lr;
      } else {
        NoGradGuard no_grad;
        w = (w - grads[i] * lr).requires_grad_(true);
      }
    }
  }
  return weights;
}

}  // namespace

Named<Tensor> adapt(nn::Module& model, const LossFn& loss, const Tensor& input, const Tensor& target, int64_t steps,
                    double lr, bool create_graph) {
  return adapt_from(model, trainable_parameters(model), loss, input, target, steps, lr, create_graph);
}

double meta_gradient(nn::Module& model, const LossFn& loss, const std::vector<data::Episode>& tasks,
                     const MetaOptions& options) {
  if (tasks.empty()) fail<ValueError>("meta_gradient: no tasks in the meta-batch");
  const Named<Tensor> weights = trainable_parameters(model);
  TensorList sums;
  double loss_sum = 0;
  for (const data::Episode& task : tasks) {
    const bool second_order = options.method == MetaMethod::Maml;
    Named<Tensor> adapted = adapt_from(model, weights, loss, task.support_input, task.support_target, options.inner_steps,
                                       options.inner_lr, second_order);
    if (options.method == MetaMethod::Reptile) {
      NoGradGuard no_grad;
      TensorList moves;
      for (size_t i = 0; i < weights.size(); ++i) moves.push_back(weights[i].second - adapted[i].second);
      add_into(sums, moves);
      loss_sum += loss(nn::functional_call(model, adapted, task.support_input), task.support_target).item<double>();
      continue;
    }
    const Tensor query_loss = loss(nn::functional_call(model, adapted, task.query_input), task.query_target);
    // Second order: differentiate through the inner steps back to the model's weights.
    // First order: the adapted weights are leaves; their gradient stands in for the weights'.
    add_into(sums, autograd::grad({query_loss}, second_order ? values(weights) : values(adapted)));
    loss_sum += query_loss.item<double>();
  }
  const auto n = static_cast<double>(tasks.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    Tensor p = weights[i].second;
    p.set_grad(sums[i].div_(n));
  }
  return loss_sum / n;
}

double adapted_query_loss(nn::Module& model, const LossFn& loss, const data::Episode& task, int64_t steps, double lr) {
  const Named<Tensor> adapted = adapt(model, loss, task.support_input, task.support_target, steps, lr);
  NoGradGuard no_grad;
  return loss(nn::functional_call(model, adapted, task.query_input), task.query_target).item<double>();
}

}  // namespace cajal::train
