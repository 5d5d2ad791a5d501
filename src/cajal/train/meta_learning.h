#pragma once
// Meta-learning: learning an initialization that adapts to a new task in a few gradient
// steps.
//
//   MAML (Finn et al. 2017): adapt the weights on a task's support set with `inner_steps`
//     of SGD, w' = w - inner_lr * dL_support(w)/dw, keeping the graph of those steps; the
//     meta-gradient is d L_query(w') / d w, second derivatives included.
//   First-order MAML: the same, with the inner gradients treated as constants, so the
//     meta-gradient is d L_query / d w' applied to w.
//   Reptile (Nichol et al. 2018): adapt without any graph and move w towards the adapted
//     weights: the "gradient" is w - w'.
//
// meta_gradient leaves the mean over the tasks in each parameter's .grad(), so any
// optimizer takes the outer step (Adam with lr 0.001 in the MAML paper):
//   for (...) {
//     std::vector<data::Episode> tasks = ...;
//     opt.zero_grad();
//     train::meta_gradient(*model, loss, tasks, options);
//     opt.step();
//   }
// The inner loop runs the module through nn::functional_call, so any module whose
// parameters are registered with member slots works.
#include <functional>
#include <vector>

#include "cajal/data/episodes.h"
#include "cajal/nn/module.h"

namespace cajal::train {

enum class MetaMethod { Maml, FirstOrderMaml, Reptile };
// "maml", "fomaml", "reptile"; ValueError naming the accepted names otherwise.
MetaMethod parse_meta_method(const std::string& name);
const char* meta_method_name(MetaMethod method);

struct MetaOptions {
  MetaMethod method = MetaMethod::Maml;
  int64_t inner_steps = 1;
  double inner_lr = 0.01;
};

// loss(output, target): a scalar tensor (mean squared error for the sinusoids).
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;

// `steps` of plain SGD on (input, target) from the module's own parameters, returned by
// name; the module is left unchanged. With create_graph the result is a differentiable
// function of the module's parameters (MAML); without, each result is a new leaf.
nn::Named<Tensor> adapt(nn::Module& model, const LossFn& loss, const Tensor& input, const Tensor& target, int64_t steps,
                    double lr, bool create_graph = false);

// Sets .grad() of every trainable parameter to the meta-gradient averaged over `tasks`
// and returns the mean query loss after adaptation (Reptile: on the support set, which is
// all it trains on; the query set is unused). ValueError if `tasks` is empty.
double meta_gradient(nn::Module& model, const LossFn& loss, const std::vector<data::Episode>& tasks,
                     const MetaOptions& options);

// The loss on the task's query set after adapting on its support set for `steps` steps of
// SGD at `lr` (0 steps: the model as it is). What meta-learning is judged by.
double adapted_query_loss(nn::Module& model, const LossFn& loss, const data::Episode& task, int64_t steps, double lr);

}  // namespace cajal::train
