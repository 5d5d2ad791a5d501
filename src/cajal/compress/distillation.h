#pragma once
// Knowledge distillation (Hinton, Vinyals & Dean 2015): a student learns from a teacher's
// softened class probabilities as well as from the labels.
//
//   loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
//        + (1 - alpha) * cross_entropy(student, labels)
//
// with the KL divergence summed over classes and averaged over the batch (PyTorch's
// kl_div(..., reduction="batchmean")). T^2 keeps the soft term's gradients on the scale of
// the hard term's as T grows. The teacher's logits carry no gradient.
#include "cajal/core/tensor.h"

namespace cajal::compress {

struct DistillationOptions {
  double temperature = 4.0;  // > 0
  double alpha = 0.9;        // weight of the soft (teacher) term, in [0, 1]
};

// student_logits, teacher_logits: [N, C]; target: [N] class indices.
Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, const Tensor& target,
                         const DistillationOptions& options = {});

}  // namespace cajal::compress
