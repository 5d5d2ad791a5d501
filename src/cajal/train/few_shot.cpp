// Prototypical Networks: prototypes, distance logits and one episode's loss and accuracy.
#include "cajal/train/few_shot.h"

#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace cajal::train {

Tensor class_prototypes(const Tensor& support_embeddings, const Tensor& support_labels, int64_t ways) {
  if (support_embeddings.dim() != 2 || support_labels.dim() != 1 || support_labels.size(0) != support_embeddings.size(0))
    fail<ShapeError>("class_prototypes: expected embeddings [S, D] and labels [S], got ", support_embeddings.sizes(), " and ",
                     support_labels.sizes());
  // One-hot [S, ways], normalized by each class's count: prototypes = onehot^T embeddings.
  const Tensor one_hot = (support_labels.reshape({-1, 1}) == arange(ways).reshape({1, -1})).to(support_embeddings.dtype());
  const Tensor counts = sum(one_hot, {0});
  if (min(counts).item<double>() < 1)
    fail<ValueError>("class_prototypes: every class 0..", ways - 1, " needs a support example");
  return matmul(one_hot.transpose(0, 1), support_embeddings) / counts.reshape({-1, 1});
}

Tensor prototype_logits(const Tensor& query_embeddings, const Tensor& prototypes) {
  // ||q - p||^2 = ||q||^2 - 2 q.p + ||p||^2
  const Tensor q2 = sum(query_embeddings * query_embeddings, {1}, true);
  const Tensor p2 = sum(prototypes * prototypes, {1}, true).transpose(0, 1);
  return -(q2 - 2 * matmul(query_embeddings, prototypes.transpose(0, 1)) + p2);
}

EpisodeResult prototypical_episode(nn::Module& embed, const data::Episode& episode, int64_t ways) {
  const int64_t support = episode.support_input.size(0);
  const Tensor embedded = embed.forward(cat({episode.support_input, episode.query_input})).flatten(1);
  const Tensor prototypes = class_prototypes(embedded.narrow(0, 0, support), episode.support_target, ways);
  const Tensor logits = prototype_logits(embedded.narrow(0, support, embedded.size(0) - support), prototypes);
  EpisodeResult result;
  result.loss = cross_entropy(logits, episode.query_target);
  result.accuracy = mean((argmax(logits, 1) == episode.query_target).to(DType::f64)).item<double>();
  return result;
}

}  // namespace cajal::train
