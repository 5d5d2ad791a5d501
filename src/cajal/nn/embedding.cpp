// Embedding and its max_norm renormalization.
#include "cajal/nn/embedding.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cajal/autograd/grad_mode.h"
#include "cajal/nn/init.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/shape.h"

namespace cajal::nn {

namespace {

// Scales row `row` of the 2-D weight (any strides) to norm max_norm if its norm exceeds it.
template <typename T>
void renorm_row(T* base, int64_t row, int64_t cols, int64_t row_stride, int64_t col_stride, double max_norm,
                double norm_type) {
  T* r = base + row * row_stride;
  double norm = 0;
  if (std::isinf(norm_type)) {
    for (int64_t j = 0; j < cols; ++j) norm = std::max(norm, std::fabs(static_cast<double>(r[j * col_stride])));
  } else {
    for (int64_t j = 0; j < cols; ++j) norm += std::pow(std::fabs(static_cast<double>(r[j * col_stride])), norm_type);
    norm = std::pow(norm, 1 / norm_type);
  }
  if (norm <= max_norm) return;
  const double scale = max_norm / (norm + 1e-7);
  for (int64_t j = 0; j < cols; ++j) r[j * col_stride] = static_cast<T>(r[j * col_stride] * scale);
}

}  // namespace

void embedding_renorm_(const Tensor& weight, const Tensor& indices, double max_norm, double norm_type) {
  if (weight.dim() != 2) fail<ShapeError>("embedding_renorm_: weight must be 2-D, got shape ", weight.sizes());
  if (weight.dtype() != DType::f32 && weight.dtype() != DType::f64)
    fail<DTypeError>("embedding_renorm_: weight must be float32 or float64, got ", dtype_name(weight.dtype()));
  if (indices.dtype() != DType::i64)
    fail<DTypeError>("embedding_renorm_: indices must be int64, got ", dtype_name(indices.dtype()));
  if (!(max_norm >= 0)) fail<ValueError>("embedding_renorm_: max_norm must be non-negative, got ", max_norm);
  const int64_t rows = weight.size(0);
  std::vector<int64_t> unique = indices.to_vector<int64_t>();
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  // Checked before any write, so a bad index leaves the weight untouched.
  if (!unique.empty() && (unique.front() < 0 || unique.back() >= rows))
    fail<IndexError>("embedding_renorm_: index ", unique.front() < 0 ? unique.front() : unique.back(),
                     " is out of range for ", rows, " rows");
  NoGradGuard no_grad;
  auto rescale = [&]<typename T>() {
    for (int64_t row : unique)
      renorm_row(weight.data_ptr<T>(), row, weight.size(1), weight.stride(0), weight.stride(1), max_norm, norm_type);
  };
  if (weight.dtype() == DType::f32) rescale.operator()<float>();
  else rescale.operator()<double>();
  weight.bump_version();  // history that saved the old values must notice the change
}

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim, EmbeddingOptions options)
    : num_embeddings_(num_embeddings),
      embedding_dim_(embedding_dim),
      max_norm_(options.max_norm),
      norm_type_(options.norm_type) {
  if (num_embeddings < 0 || embedding_dim < 0)
    fail<ValueError>("Embedding: sizes must be non-negative, got ", num_embeddings, " and ", embedding_dim);
  if (options.padding_idx) {
    int64_t p = *options.padding_idx;
    if (p < -num_embeddings || p >= num_embeddings)
      fail<ValueError>("Embedding: padding_idx ", p, " must be within num_embeddings (", num_embeddings, ")");
    padding_idx_ = p < 0 ? p + num_embeddings : p;
  }
  register_parameter("weight", weight_, empty({num_embeddings, embedding_dim}));
  reset_parameters();
}

void EmbeddingImpl::reset_parameters(Generator* gen) {
  init::normal_(weight_, 0, 1, gen);
  if (padding_idx_) init::zeros_(weight_.select(0, *padding_idx_));
}

std::string EmbeddingImpl::extra_repr() const {
  std::string s = std::to_string(num_embeddings_) + ", " + std::to_string(embedding_dim_);
  if (padding_idx_) s += ", padding_idx=" + std::to_string(*padding_idx_);
  if (max_norm_) s += ", max_norm=" + repr_float(*max_norm_);
  if (norm_type_ != 2) s += ", norm_type=" + repr_float(norm_type_);
  return s;
}

Tensor EmbeddingImpl::forward(const Tensor& indices) {
  if (max_norm_) embedding_renorm_(weight_, indices, *max_norm_, norm_type_);
  return embedding(weight_, indices, padding_idx_);
}

}  // namespace cajal::nn
