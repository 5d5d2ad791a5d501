#include "cajal/compress/distillation.h"

#include "cajal/ops/elementwise.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/reduce.h"

namespace cajal::compress {

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, const Tensor& target,
                         const DistillationOptions& options) {
  const double t = options.temperature;
  if (!(t > 0)) fail<ValueError>("distillation: temperature must be positive, got ", t);
  if (!(options.alpha >= 0 && options.alpha <= 1)) fail<ValueError>("distillation: alpha must be in [0, 1], got ", options.alpha);
  if (student_logits.sizes() != teacher_logits.sizes()) {
    fail<ShapeError>("distillation: the student's outputs ", student_logits.sizes(), " and the teacher's ",
                     teacher_logits.sizes(), " differ in shape");
  }
  Tensor soft_targets = softmax(teacher_logits.detach() / t, -1);
  Tensor soft = kl_div(log_softmax(student_logits / t, -1), soft_targets, {.reduction = Reduction::BatchMean}) * (t * t);
  if (options.alpha == 1) return soft;
  Tensor hard = cross_entropy(student_logits, target);
  return soft * options.alpha + hard * (1 - options.alpha);
}

}  // namespace cajal::compress
