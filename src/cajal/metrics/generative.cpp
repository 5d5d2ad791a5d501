#include "cajal/metrics/generative.h"

#include <cmath>
#include <vector>

#include "cajal/core/error.h"
#include "cajal/ops/creation.h"

namespace cajal::metrics {

namespace {

// A [rows, cols] matrix in float64, row-major.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<size_t>(r * c), 0.0) {}
  double& operator()(int64_t i, int64_t j) { return v[static_cast<size_t>(i * cols + j)]; }
  double operator()(int64_t i, int64_t j) const { return v[static_cast<size_t>(i * cols + j)]; }
};

Matrix from_tensor(const Tensor& t, const char* what) {
  if (t.dim() != 2) fail<ShapeError>(what, ": expected a matrix, got shape ", t.sizes());
  Tensor d = t.to(DType::f64).contiguous();
  Matrix m(t.size(0), t.size(1));
  const double* p = d.data_ptr<double>();
  m.v.assign(p, p + m.v.size());
  return m;
}

Matrix product(const Matrix& a, const Matrix& b) {
  Matrix c(a.rows, b.cols);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t k = 0; k < a.cols; ++k)
      for (int64_t j = 0; j < b.cols; ++j) c(i, j) += a(i, k) * b(k, j);
  return c;
}

// The square root of a symmetric PSD matrix: V diag(sqrt(max(l, 0))) V^T with a = V diag(l) V^T
// from cyclic Jacobi rotations (each zeroes one off-diagonal pair; sweeps until the
// off-diagonal part is negligible).
Matrix symmetric_sqrt(Matrix a) {
  const int64_t n = a.rows;
  Matrix vectors(n, n);
  for (int64_t i = 0; i < n; ++i) vectors(i, i) = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, total = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) (i == j ? total : off) += a(i, j) * a(i, j);
    if (off <= 1e-30 * (total + off) || off == 0) break;
    for (int64_t p = 0; p < n - 1; ++p) {
      for (int64_t q = p + 1; q < n; ++q) {
        if (a(p, q) == 0) continue;
        const double theta = (a(q, q) - a(p, p)) / (2 * a(p, q));
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // a <- a J (columns p and q)
          const double akp = a(k, p), akq = a(k, q);
          a(k, p) = c * akp - s * akq;
          a(k, q) = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // a <- J^T a (rows p and q)
          const double apk = a(p, k), aqk = a(q, k);
          a(p, k) = c * apk - s * aqk;
          a(q, k) = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {  // vectors <- vectors J
          const double vkp = vectors(k, p), vkq = vectors(k, q);
          vectors(k, p) = c * vkp - s * vkq;
          vectors(k, q) = s * vkp + c * vkq;
        }
      }
    }
  }
  Matrix root(n, n);
  for (int64_t k = 0; k < n; ++k) {
    const double r = std::sqrt(std::max(a(k, k), 0.0));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) root(i, j) += vectors(i, k) * r * vectors(j, k);
  }
  return root;
}

void check_symmetric(const Matrix& a, const char* what) {
  if (a.rows != a.cols) fail<ShapeError>(what, ": expected a square matrix, got ", a.rows, "x", a.cols);
  double scale = 0;
  for (double x : a.v) scale = std::max(scale, std::abs(x));
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t j = 0; j < i; ++j)
      if (std::abs(a(i, j) - a(j, i)) > 1e-9 * scale) fail<ValueError>(what, ": the matrix is not symmetric at [", i, ", ", j, "]");
}

struct Moments {
  std::vector<double> mean;
  Matrix covariance{0, 0};
};

Moments moments(const Tensor& features, const char* what) {
  Matrix x = from_tensor(features, what);
  if (x.rows < 2) fail<ValueError>(what, ": needs at least 2 feature vectors, got ", x.rows);
  Moments m{std::vector<double>(static_cast<size_t>(x.cols), 0.0), Matrix(x.cols, x.cols)};
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t j = 0; j < x.cols; ++j) m.mean[static_cast<size_t>(j)] += x(i, j) / static_cast<double>(x.rows);
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t j = 0; j < x.cols; ++j) x(i, j) -= m.mean[static_cast<size_t>(j)];
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t j = 0; j < x.cols; ++j)
      for (int64_t k = j; k < x.cols; ++k) m.covariance(j, k) += x(i, j) * x(i, k);
  for (int64_t j = 0; j < x.cols; ++j)
    for (int64_t k = j; k < x.cols; ++k) m.covariance(k, j) = m.covariance(j, k) /= static_cast<double>(x.rows - 1);
  return m;
}

}  // namespace

Tensor sqrtm_psd(const Tensor& a) {
  Matrix m = from_tensor(a, "sqrtm_psd");
  check_symmetric(m, "sqrtm_psd");
  Matrix root = symmetric_sqrt(m);
  Tensor out = make_tensor({m.rows, m.rows}, DType::f64);
  std::copy(root.v.begin(), root.v.end(), out.data_ptr<double>());
  return out;
}

double frechet_distance(const Tensor& features_a, const Tensor& features_b) {
  Moments a = moments(features_a, "frechet_distance"), b = moments(features_b, "frechet_distance");
  if (a.mean.size() != b.mean.size())
    fail<ShapeError>("frechet_distance: the two sets have ", a.mean.size(), " and ", b.mean.size(), " features");
  const int64_t d = static_cast<int64_t>(a.mean.size());
  double distance = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double diff = a.mean[static_cast<size_t>(j)] - b.mean[static_cast<size_t>(j)];
    distance += diff * diff + a.covariance(j, j) + b.covariance(j, j);
  }
  Matrix root_a = symmetric_sqrt(a.covariance);
  Matrix inner = product(product(root_a, b.covariance), root_a);
  for (int64_t i = 0; i < d; ++i)  // symmetric up to rounding: make it exactly so
    for (int64_t j = 0; j < i; ++j) inner(i, j) = inner(j, i) = 0.5 * (inner(i, j) + inner(j, i));
  Matrix root = symmetric_sqrt(inner);
  for (int64_t j = 0; j < d; ++j) distance -= 2 * root(j, j);
  return distance;
}

double class_entropy(const Tensor& predicted, int64_t num_classes) {
  if (num_classes < 1) fail<ValueError>("class_entropy: num_classes must be at least 1, got ", num_classes);
  if (predicted.dim() != 1 || predicted.numel() == 0) fail<ShapeError>("class_entropy: expected labels [N], N > 0, got shape ", predicted.sizes());
  std::vector<double> counts(static_cast<size_t>(num_classes), 0.0);
  for (int64_t label : predicted.to(DType::i64).to_vector<int64_t>()) {
    if (label < 0 || label >= num_classes) fail<IndexError>("class_entropy: label ", label, " is outside [0, ", num_classes, ")");
    counts[static_cast<size_t>(label)] += 1;
  }
  double entropy = 0;
  for (double c : counts)
    if (c > 0) entropy -= c / static_cast<double>(predicted.numel()) * std::log(c / static_cast<double>(predicted.numel()));
  return entropy;
}

}  // namespace cajal::metrics
