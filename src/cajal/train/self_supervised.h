#pragma once
// Self-supervised learning: SimCLR's contrastive loss (Chen et al. 2020).
//
// NT-Xent, the normalized temperature-scaled cross-entropy: the projections of two augmented
// views of N images, z1 and z2 [N, D], are L2-normalized; every one of the 2N vectors is a
// query whose positive is the other view of its image and whose negatives are the other
// 2N - 2 vectors; its logits are cosine similarities / temperature (itself left out), and the
// loss is the mean cross-entropy of picking the positive.
#include "cajal/core/tensor.h"

namespace cajal::train {

// ShapeError unless z1 and z2 are both [N, D] with N >= 2; ValueError for a temperature <= 0.
Tensor nt_xent_loss(const Tensor& z1, const Tensor& z2, double temperature = 0.5);

}  // namespace cajal::train
