// NT-Xent (SimCLR): cosine similarities of both views, the self-pairs masked out.
#include "cajal/train/self_supervised.h"

#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace cajal::train {

Tensor nt_xent_loss(const Tensor& z1, const Tensor& z2, double temperature) {
  if (z1.dim() != 2 || z1.sizes() != z2.sizes() || z1.size(0) < 2)
    fail<ShapeError>("nt_xent_loss: expected two [N, D] projections with N >= 2, got ", z1.sizes(), " and ", z2.sizes());
  if (!(temperature > 0)) fail<ValueError>("nt_xent_loss: temperature must be positive, got ", temperature);
  const int64_t n = z1.size(0);
  const Tensor z = cat({z1, z2});
  // As torch.nn.functional.normalize: z / max(||z||, 1e-12).
  const Tensor unit = z / clamp(sqrt(sum(z * z, {1}, true)), 1e-12, std::nullopt);
  const Tensor self = eye(2 * n, std::nullopt, {.dtype = DType::boolean});
  const Tensor logits = masked_fill(matmul(unit, unit.transpose(0, 1)) / temperature, self, -1e9);
  // Row i's positive is the other view: i + n for the first half, i - n for the second.
  const Tensor positives = cat({arange(n, 2 * n), arange(0, n)});
  return cross_entropy(logits, positives);
}

}  // namespace cajal::train
