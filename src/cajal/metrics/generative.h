#pragma once
// Metrics of generative models: the Fréchet distance between two sets of features (the
// distance behind FID, here in the feature space of a classifier the caller chooses), the
// symmetric matrix square root it needs, and the entropy of a class histogram (how many
// classes the samples cover). float64 results.
#include <cstdint>

#include "cajal/core/tensor.h"

namespace cajal::metrics {

// The square root of a symmetric positive semi-definite matrix [D, D] (float64 result): the
// symmetric S with S @ S = a, from a's eigendecomposition (cyclic Jacobi rotations),
// eigenvalues below 0 from rounding taken as 0. ValueError for a non-square or asymmetric a.
Tensor sqrtm_psd(const Tensor& a);

// The Fréchet distance between Gaussians fitted to two sets of features [N, D] and [M, D]
// (means and covariances with N - 1 and M - 1 in the denominator, as numpy.cov):
//   |mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr sqrt(C_a^1/2 C_b C_a^1/2).
// (tr sqrt(C_a C_b), the usual form, is the same number: the two products share eigenvalues.)
double frechet_distance(const Tensor& features_a, const Tensor& features_b);

// The entropy in nats of the histogram of predicted class labels [N] (int64 in
// [0, num_classes)): log(num_classes) when every class is predicted equally often, 0 when all
// predictions agree.
double class_entropy(const Tensor& predicted, int64_t num_classes);

}  // namespace cajal::metrics
