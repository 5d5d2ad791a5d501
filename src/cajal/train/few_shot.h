#pragma once
// Prototypical Networks (Snell et al. 2017): a class is represented by the mean embedding
// of its support examples (its prototype), and a query is scored by the negative squared
// Euclidean distance to each prototype. Training minimizes the cross-entropy of those
// scores on the query set, episode after episode; the embedding network is then used on
// classes it never saw.
#include "cajal/data/episodes.h"
#include "cajal/nn/module.h"

namespace cajal::train {

// Mean support embedding of each episode class: embeddings [S, D], labels [S] in
// 0..ways-1 (every class present) -> [ways, D].
Tensor class_prototypes(const Tensor& support_embeddings, const Tensor& support_labels, int64_t ways);

// -||query - prototype||^2 for every query and prototype: [Q, D], [ways, D] -> [Q, ways].
Tensor prototype_logits(const Tensor& query_embeddings, const Tensor& prototypes);

struct EpisodeResult {
  Tensor loss;  // cross-entropy of the query set (differentiable)
  double accuracy = 0;
};

// Embeds support and query with `embed` (one forward on both, so batch norm sees them
// together), then scores the queries against the prototypes.
EpisodeResult prototypical_episode(nn::Module& embed, const data::Episode& episode, int64_t ways);

}  // namespace cajal::train
