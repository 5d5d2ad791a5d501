#pragma once
// Embedding: a lookup table of num_embeddings vectors of size embedding_dim, as
// torch.nn.Embedding (weight initialized from N(0, 1), the padding row zeroed).
#include <optional>

#include "cajal/core/generator.h"
#include "cajal/nn/module.h"

namespace cajal::nn {

struct EmbeddingOptions {
  // This row starts at zero and receives no gradient (negative counts from the end).
  std::optional<int64_t> padding_idx = std::nullopt;
  // Rows looked up are first rescaled in place so their norm_type-norm is at most max_norm.
  std::optional<double> max_norm = std::nullopt;
  double norm_type = 2.0;
};

class EmbeddingImpl : public Module {
 public:
  using Options = EmbeddingOptions;
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim, EmbeddingOptions options = {});
  std::string name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  // indices: int64 of any shape; the result has indices' shape + [embedding_dim].
  Tensor forward(const Tensor& indices) override;
  void reset_parameters(Generator* gen = nullptr);

  const Tensor& weight() const { return weight_; }
  // The padding row, made non-negative.
  std::optional<int64_t> padding_idx() const { return padding_idx_; }
  std::optional<double> max_norm() const { return max_norm_; }

 private:
  int64_t num_embeddings_, embedding_dim_;
  std::optional<int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_;
  Tensor weight_;
};
CAJAL_MODULE(Embedding);

// Rescales, in place and without recording history, each row of weight that indices refer
// to whose norm_type-norm exceeds max_norm, to norm max_norm (torch.embedding_renorm_:
// scale max_norm / (norm + 1e-7)). Every index must be a valid row.
void embedding_renorm_(const Tensor& weight, const Tensor& indices, double max_norm, double norm_type = 2.0);

}  // namespace cajal::nn
