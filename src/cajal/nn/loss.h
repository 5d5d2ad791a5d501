#pragma once
// Loss modules, as torch.nn's: each keeps its options and calls the functional loss of
// ops/loss.h with them.
//   nn::CrossEntropyLoss criterion({.label_smoothing = 0.1});
//   Tensor loss = criterion(logits, labels);   // or criterion->forward(logits, labels)
// Class weights (weight, pos_weight) are buffers, so they appear in state_dict as in PyTorch.
#include <type_traits>

#include "cajal/nn/module.h"
#include "cajal/ops/loss.h"

namespace cajal::nn {

// The shared body of the loss modules: `Fn` is the functional loss, called as
// Fn(input, target, options) or, for the three-input losses, Fn(input1, input2, target, options).
template <typename LossOptions, auto Fn>
class LossModule : public Module {
 public:
  using Options = LossOptions;
  std::string name() const override { return name_; }
  using Module::forward;
  Tensor forward(const Tensor& input, const Tensor& target)
    requires std::is_invocable_v<decltype(Fn), const Tensor&, const Tensor&, const Options&>
  {
    return Fn(input, target, options_);
  }
  Tensor forward(const Tensor& input1, const Tensor& input2, const Tensor& target)
    requires std::is_invocable_v<decltype(Fn), const Tensor&, const Tensor&, const Tensor&, const Options&>
  {
    return Fn(input1, input2, target, options_);
  }
  const Options& options() const { return options_; }

 protected:
  LossModule(const char* name, Options options) : name_(name), options_(std::move(options)) {
    if constexpr (requires { options_.weight; }) register_weight("weight", options_.weight);
    if constexpr (requires { options_.pos_weight; }) register_weight("pos_weight", options_.pos_weight);
  }

 private:
  // The buffer shares the options' tensor, so loading a state_dict updates what forward uses.
  void register_weight(const char* buffer_name, const Tensor& weight) {
    if (weight.defined()) register_buffer(buffer_name, weight);
  }
  const char* name_;
  Options options_;
};

// Declares XImpl (a LossModule around `fn`, printed as PyTorch's class name) and its holder X.
#define CAJAL_LOSS_MODULE(X, OptionsType, fn)                                              \
  struct X##Impl : LossModule<OptionsType, fn> {                                          \
    explicit X##Impl(OptionsType options = {}) : LossModule(#X, std::move(options)) {}   \
  };                                                                                      \
  CAJAL_MODULE(X)

CAJAL_LOSS_MODULE(MSELoss, MSELossOptions, mse_loss);
CAJAL_LOSS_MODULE(L1Loss, L1LossOptions, l1_loss);
CAJAL_LOSS_MODULE(SmoothL1Loss, SmoothL1LossOptions, smooth_l1_loss);
CAJAL_LOSS_MODULE(HuberLoss, HuberLossOptions, huber_loss);
CAJAL_LOSS_MODULE(CrossEntropyLoss, CrossEntropyLossOptions, cross_entropy);
CAJAL_LOSS_MODULE(NLLLoss, NLLLossOptions, nll_loss);
CAJAL_LOSS_MODULE(BCELoss, BCELossOptions, binary_cross_entropy);
CAJAL_LOSS_MODULE(BCEWithLogitsLoss, BCEWithLogitsLossOptions, binary_cross_entropy_with_logits);
CAJAL_LOSS_MODULE(KLDivLoss, KLDivLossOptions, kl_div);
CAJAL_LOSS_MODULE(CosineEmbeddingLoss, CosineEmbeddingLossOptions, cosine_embedding_loss);
CAJAL_LOSS_MODULE(MarginRankingLoss, MarginRankingLossOptions, margin_ranking_loss);
CAJAL_LOSS_MODULE(TripletMarginLoss, TripletMarginLossOptions, triplet_margin_loss);

#undef CAJAL_LOSS_MODULE

}  // namespace cajal::nn
