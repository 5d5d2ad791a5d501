// Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_, and the L1/L2
// penalty terms against direct sums and finite differences.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "cajal/optim/clip.h"
#include "cajal/optim/regularization.h"
#include "support/test_support.h"

namespace cajal {
namespace {

struct ClipCase {
  std::string id;
  DType dtype;
  bool norm;         // clip_grad_norm_ (else clip_grad_value_)
  double value;      // max_norm or clip_value
  double norm_type;  // for norm cases
};

std::string tag(DType d) { return d == DType::f32 ? "float32" : "float64"; }

// Three gradients of different shapes; the total 2-norm is about 4.6.
TensorList sample_grads(DType dtype) {
  static test::NormalSampler normal(31);
  static const TensorList grads = {normal({3, 4}, {.dtype = DType::f64}), normal({5}, {.dtype = DType::f64}) * 0.3,
                                   normal({2, 2, 3}, {.dtype = DType::f64})};
  TensorList out;
  for (const Tensor& g : grads) out.push_back(g.to(dtype));
  return out;
}

std::vector<ClipCase> clip_cases() {
  std::vector<ClipCase> cases;
  for (DType dtype : {DType::f32, DType::f64}) {
    std::string t = dtype == DType::f32 ? "_f32" : "_f64";
    cases.push_back({"norm2" + t, dtype, true, 1.0, 2});
    cases.push_back({"norm2_unclipped" + t, dtype, true, 100.0, 2});
    cases.push_back({"norm1" + t, dtype, true, 2.5, 1});
    cases.push_back({"norm3" + t, dtype, true, 0.5, 3});
    cases.push_back({"norm_inf" + t, dtype, true, 0.7, optim::kInfNorm});
    cases.push_back({"value" + t, dtype, false, 0.4, 0});
  }
  return cases;
}

const std::string& torch_dir() {
  static const std::string dir = [] {
    std::string d = test::temp_dir();
    for (DType dtype : {DType::f32, DType::f64}) {
      TensorList grads = sample_grads(dtype);
      for (size_t k = 0; k < grads.size(); ++k) save_npy(grads[k], d + "/grad_" + tag(dtype) + "_" + std::to_string(k) + ".npy");
    }
    std::ofstream list(d + "/cases.txt");
    for (const ClipCase& c : clip_cases()) {
      list << c.id << ' ' << tag(c.dtype) << ' ' << (c.norm ? "norm" : "value") << ' ' << c.value << ' ';
      if (c.norm) list << (std::isinf(c.norm_type) ? std::string("inf") : std::to_string(c.norm_type)) << '\n';
      else list << "-\n";
    }
    list.close();
    test::run_reference("clip_reference.py", d);
    return d;
  }();
  return dir;
}

TEST(Clip, MatchesTorch) {
  for (const ClipCase& c : clip_cases()) {
    SCOPED_TRACE(c.id);
    TensorList params;
    for (const Tensor& g : sample_grads(c.dtype)) {
      Tensor p = zeros_like(g).requires_grad_();
      p.set_grad(g.clone());
      params.push_back(p);
    }
    double rtol = c.dtype == DType::f32 ? 1e-5 : 1e-12;
    if (c.norm) {
      double total = optim::clip_grad_norm_(params, c.value, c.norm_type);
      double expected = load_npy(torch_dir() + "/" + c.id + "_norm.npy").item<double>();
      EXPECT_NEAR(total, expected, rtol * expected);
    } else {
      optim::clip_grad_value_(params, c.value);
    }
    for (size_t k = 0; k < params.size(); ++k) {
      Tensor expected = load_npy(torch_dir() + "/" + c.id + "_grad_" + std::to_string(k) + ".npy");
      EXPECT_TRUE(test::all_close(params[k].grad(), expected, rtol, 1e-7)) << "gradient " << k;
    }
  }
}

TEST(Clip, CasesClipOrNot) {
  // The cases test something: the norm cases (but one) scale the gradients, the value case clamps.
  TensorList grads = sample_grads(DType::f64);
  double norm2 = 0;
  for (const Tensor& g : grads) norm2 += sum(g * g).item<double>();
  EXPECT_GT(std::sqrt(norm2), 2.0);
  EXPECT_LT(std::sqrt(norm2), 100.0);
  EXPECT_GT(max(abs(grads[0])).item<double>(), 0.4);
}

TEST(Clip, NoGradientsAndNonFinite) {
  Tensor p = zeros({3}).requires_grad_();
  EXPECT_EQ(optim::clip_grad_norm_({p}, 1.0), 0.0);
  p.set_grad(tensor({1.f, std::nanf(""), 2.f}));
  test::expect_error<ValueError>([&] { optim::clip_grad_norm_({p}, 1.0, 2.0, /*error_if_nonfinite=*/true); },
                                 {"clip_grad_norm_", "non-finite"});
  test::expect_error<ValueError>([&] { optim::clip_grad_norm_({p}, 1.0, -1.0); }, {"clip_grad_norm_", "norm_type"});
}

TEST(Regularization, PenaltiesAreSumsAndDifferentiable) {
  Tensor a = test::gradcheck_leaf({3, 4}), b = test::gradcheck_leaf({5}, 1.1);
  double l1 = 0, l2 = 0;
  for (const Tensor& p : {a, b})
    for (double v : p.to_vector<double>()) {
      l1 += std::fabs(v);
      l2 += v * v;
    }
  EXPECT_NEAR(optim::l1_penalty({a, b}).item<double>(), l1, 1e-12);
  EXPECT_NEAR(optim::l2_penalty({a, b}).item<double>(), l2, 1e-12);
  EXPECT_EQ(optim::l2_penalty({}).item<double>(), 0.0);
  test::expect_gradcheck([](const TensorList& in) { return optim::l1_penalty(in); }, {a, b});
  test::expect_gradcheck([](const TensorList& in) { return optim::l2_penalty(in); }, {a, b}, /*second_order=*/true);

  // As a loss term: d/dp (lambda * l2) = 2 lambda p.
  Tensor p = tensor({1.0, -2.0}).requires_grad_();
  (optim::l2_penalty({p}) * 0.5).backward();
  EXPECT_TRUE(test::all_close(p.grad(), tensor({1.0, -2.0}), 1e-15));
}

}  // namespace
}  // namespace cajal
