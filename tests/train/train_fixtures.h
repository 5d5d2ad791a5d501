#pragma once
// Small, fast training setups shared by the train tests: three Gaussian blobs in the plane
// (a classification any MLP learns in a few epochs) and a tiny MLP.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "cajal/data/dataset.h"
#include "cajal/data/loader.h"
#include "cajal/nn/nn.h"
#include "cajal/ops/loss.h"
#include "cajal/ops/random.h"
#include "cajal/train/trainer.h"

namespace cajal::test {

// n points in 3 classes: class k is N(center_k, 0.5^2 I) with centers (2, 0), (-1, 1.7), (-1, -1.7).
// Inputs float32 [n, 2], targets int64 [n]; the same for a seed on every run.
inline data::DatasetPtr blobs(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Tensor labels = randint(0, 3, {n}, {.dtype = DType::i64}, &gen);
  Tensor points = randn({n, 2}, {}, &gen) * 0.5;
  const float centers[3][2] = {{2.0f, 0.0f}, {-1.0f, 1.7f}, {-1.0f, -1.7f}};
  auto* p = points.data_ptr<float>();
  const auto* l = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    p[2 * i] += centers[l[i]][0];
    p[2 * i + 1] += centers[l[i]][1];
  }
  return data::tensor_dataset(points, labels);
}

// 2 -> hidden -> 3, with dropout (so resuming must restore the generator) and batch norm (so
// it must restore buffers), initialized from the default generator.
inline nn::ModulePtr blob_mlp(int64_t hidden = 16, double dropout = 0.2) {
  return nn::Sequential(nn::Linear(2, hidden), nn::BatchNorm1d(hidden), nn::ReLU(), nn::Dropout(dropout),
                        nn::Linear(hidden, 3));
}

inline Tensor cross_entropy_loss(const Tensor& output, const Tensor& target) { return cross_entropy(output, target); }

// Every tensor of the model's state_dict, copied.
inline std::vector<std::pair<std::string, Tensor>> weights_of(const nn::Module& model) {
  std::vector<std::pair<std::string, Tensor>> copies;
  for (const auto& [name, t] : model.state_dict()) copies.emplace_back(name, t.detach().clone());
  return copies;
}

// Whether two state_dicts hold the same names with bit-identical tensors; lists the first difference.
inline ::testing::AssertionResult bit_identical(const std::vector<std::pair<std::string, Tensor>>& a,
                                                const std::vector<std::pair<std::string, Tensor>>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << a.size() << " vs " << b.size() << " tensors";
  for (size_t i = 0; i < a.size(); ++i) {
    const Tensor x = a[i].second.contiguous(), y = b[i].second.contiguous();
    if (a[i].first != b[i].first || x.sizes() != y.sizes() || x.dtype() != y.dtype())
      return ::testing::AssertionFailure() << "entry " << i << ": " << a[i].first << " vs " << b[i].first;
    if (std::memcmp(x.raw_data(), y.raw_data(), static_cast<size_t>(x.numel()) * x.element_size()) != 0)
      return ::testing::AssertionFailure() << a[i].first << " differs: " << x << " vs " << y;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace cajal::test
