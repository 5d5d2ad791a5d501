// Loss functions: every loss and option combination against torch.nn.functional
// (tests/reference/loss_reference.py writes inputs, outputs and gradients; float32 to 1e-5
// and float64 to 1e-10 relative), float64 gradient checks (second order for cross_entropy
// and mse), the fused cross-entropy backward against its differentiable formula, extreme
// logits, and error messages.
#include <cmath>
#include <fstream>
#include <functional>
#include <map>

#include "cajal/nn/loss.h"
#include "support/test_support.h"

using namespace cajal;

namespace {

using LossFn = std::function<Tensor(const TensorList&)>;

constexpr Reduction kReductions[] = {Reduction::Mean, Reduction::Sum, Reduction::None};
const char* reduction_suffix(Reduction r) {
  return r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : r == Reduction::None ? "none" : "batchmean";
}

// The C++ side of every case in loss_reference.py: the same loss with the same options.
// Weights and pos_weight arrive as inputs.
std::map<std::string, LossFn> make_registry() {
  std::map<std::string, LossFn> ops;
  auto add = [&](const std::string& name, LossFn fn) { ops.emplace(name, std::move(fn)); };
  for (Reduction r : kReductions) {
    std::string s = reduction_suffix(r);
    add("mse_" + s, [r](const TensorList& x) { return mse_loss(x[0], x[1], {.reduction = r}); });
    add("l1_" + s, [r](const TensorList& x) { return l1_loss(x[0], x[1], {.reduction = r}); });
    add("ce_" + s, [r](const TensorList& x) { return cross_entropy(x[0], x[1], {.reduction = r}); });
    add("ce_weight_" + s, [r](const TensorList& x) { return cross_entropy(x[0], x[1], {.weight = x[2], .reduction = r}); });
    add("ce_weight_ignore_" + s,
        [r](const TensorList& x) { return cross_entropy(x[0], x[1], {.weight = x[2], .reduction = r}); });
    add("ce_smooth_weight_ignore_" + s, [r](const TensorList& x) {
      return cross_entropy(x[0], x[1], {.weight = x[2], .reduction = r, .label_smoothing = 0.2});
    });
    add("nll_" + s, [r](const TensorList& x) { return nll_loss(x[0], x[1], {.reduction = r}); });
    add("nll_weight_ignore_" + s, [r](const TensorList& x) { return nll_loss(x[0], x[1], {.weight = x[2], .reduction = r}); });
    add("ce_probs_" + s, [r](const TensorList& x) { return cross_entropy(x[0], x[1], {.reduction = r}); });
    add("ce_probs_weight_smooth_" + s, [r](const TensorList& x) {
      return cross_entropy(x[0], x[1], {.weight = x[2], .reduction = r, .label_smoothing = 0.3});
    });
    add("bce_" + s, [r](const TensorList& x) { return binary_cross_entropy(x[0], x[1], {.reduction = r}); });
    add("bce_weight_" + s,
        [r](const TensorList& x) { return binary_cross_entropy(x[0], x[1], {.weight = x[2], .reduction = r}); });
    add("bce_logits_" + s,
        [r](const TensorList& x) { return binary_cross_entropy_with_logits(x[0], x[1], {.reduction = r}); });
    add("bce_logits_weight_pos_" + s, [r](const TensorList& x) {
      return binary_cross_entropy_with_logits(x[0], x[1], {.weight = x[2], .pos_weight = x[3], .reduction = r});
    });
    add("cosine_" + s, [r](const TensorList& x) { return cosine_embedding_loss(x[0], x[1], x[2], {.reduction = r}); });
    add("ranking_" + s, [r](const TensorList& x) { return margin_ranking_loss(x[0], x[1], x[2], {.reduction = r}); });
    add("triplet_" + s, [r](const TensorList& x) { return triplet_margin_loss(x[0], x[1], x[2], {.reduction = r}); });
  }
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None, Reduction::BatchMean}) {
    std::string s = reduction_suffix(r);
    add("kl_" + s, [r](const TensorList& x) { return kl_div(x[0], x[1], {.reduction = r}); });
    add("kl_log_target_" + s, [r](const TensorList& x) { return kl_div(x[0], x[1], {.reduction = r, .log_target = true}); });
  }
  add("mse_target_broadcast", [](const TensorList& x) { return mse_loss(x[0], x[1]); });
  add("l1_scalar_target_sum", [](const TensorList& x) { return l1_loss(x[0], x[1], {.reduction = Reduction::Sum}); });
  add("smooth_l1_mean", [](const TensorList& x) { return smooth_l1_loss(x[0], x[1]); });
  add("smooth_l1_beta05_none",
      [](const TensorList& x) { return smooth_l1_loss(x[0], x[1], {.reduction = Reduction::None, .beta = 0.5}); });
  add("smooth_l1_beta0_sum",
      [](const TensorList& x) { return smooth_l1_loss(x[0], x[1], {.reduction = Reduction::Sum, .beta = 0.0}); });
  add("smooth_l1_beta3_mean", [](const TensorList& x) { return smooth_l1_loss(x[0], x[1], {.beta = 3.0}); });
  add("huber_mean", [](const TensorList& x) { return huber_loss(x[0], x[1]); });
  add("huber_delta07_none",
      [](const TensorList& x) { return huber_loss(x[0], x[1], {.reduction = Reduction::None, .delta = 0.7}); });
  add("huber_delta2_sum",
      [](const TensorList& x) { return huber_loss(x[0], x[1], {.reduction = Reduction::Sum, .delta = 2.0}); });
  add("ce_ignore_mean", [](const TensorList& x) { return cross_entropy(x[0], x[1]); });
  add("ce_ignore_index2_mean", [](const TensorList& x) { return cross_entropy(x[0], x[1], {.ignore_index = 2}); });
  add("ce_smooth_mean", [](const TensorList& x) { return cross_entropy(x[0], x[1], {.label_smoothing = 0.1}); });
  add("ce_smooth_ignore_sum", [](const TensorList& x) {
    return cross_entropy(x[0], x[1], {.reduction = Reduction::Sum, .label_smoothing = 0.1});
  });
  add("ce_smooth1_mean", [](const TensorList& x) { return cross_entropy(x[0], x[1], {.label_smoothing = 1.0}); });
  add("ce_spatial_mean", [](const TensorList& x) { return cross_entropy(x[0], x[1]); });
  add("ce_spatial_weight_ignore_smooth_mean",
      [](const TensorList& x) { return cross_entropy(x[0], x[1], {.weight = x[2], .label_smoothing = 0.15}); });
  add("ce_spatial_weight_none",
      [](const TensorList& x) { return cross_entropy(x[0], x[1], {.weight = x[2], .reduction = Reduction::None}); });
  add("nll_spatial_weight_ignore_mean", [](const TensorList& x) { return nll_loss(x[0], x[1], {.weight = x[2]}); });
  add("ce_probs_spatial_sum", [](const TensorList& x) { return cross_entropy(x[0], x[1], {.reduction = Reduction::Sum}); });
  add("ce_unbatched_mean", [](const TensorList& x) { return cross_entropy(x[0], x[1]); });
  add("ce_unbatched_none", [](const TensorList& x) { return cross_entropy(x[0], x[1], {.reduction = Reduction::None}); });
  add("ce_probs_unbatched_mean", [](const TensorList& x) { return cross_entropy(x[0], x[1]); });
  add("nll_unbatched_none", [](const TensorList& x) { return nll_loss(x[0], x[1], {.reduction = Reduction::None}); });
  add("ce_many_classes_smooth_mean", [](const TensorList& x) { return cross_entropy(x[0], x[1], {.label_smoothing = 0.05}); });
  add("ce_extreme_mean", [](const TensorList& x) { return cross_entropy(x[0], x[1]); });
  add("bce_logits_pos_mean", [](const TensorList& x) { return binary_cross_entropy_with_logits(x[0], x[1], {.pos_weight = x[2]}); });
  add("bce_logits_pos_spatial_mean",
      [](const TensorList& x) { return binary_cross_entropy_with_logits(x[0], x[1], {.pos_weight = x[2]}); });
  add("bce_saturated_none",
      [](const TensorList& x) { return binary_cross_entropy(x[0], x[1], {.reduction = Reduction::None}); });
  add("bce_logits_extreme_none", [](const TensorList& x) {
    return binary_cross_entropy_with_logits(x[0], x[1], {.pos_weight = x[2], .reduction = Reduction::None});
  });
  add("kl_zero_target_sum", [](const TensorList& x) { return kl_div(x[0], x[1], {.reduction = Reduction::Sum}); });
  add("cosine_margin03_mean", [](const TensorList& x) { return cosine_embedding_loss(x[0], x[1], x[2], {.margin = 0.3}); });
  add("cosine_int_target_sum", [](const TensorList& x) {
    return cosine_embedding_loss(x[0], x[1], x[2], {.margin = -0.2, .reduction = Reduction::Sum});
  });
  add("cosine_unbatched_none",
      [](const TensorList& x) { return cosine_embedding_loss(x[0], x[1], x[2], {.reduction = Reduction::None}); });
  add("ranking_margin05_mean", [](const TensorList& x) { return margin_ranking_loss(x[0], x[1], x[2], {.margin = 0.5}); });
  add("triplet_margin05_p1_mean",
      [](const TensorList& x) { return triplet_margin_loss(x[0], x[1], x[2], {.margin = 0.5, .p = 1}); });
  add("triplet_p3_eps_swap_sum", [](const TensorList& x) {
    return triplet_margin_loss(x[0], x[1], x[2], {.margin = 2.0, .p = 3, .eps = 1e-3, .swap = true, .reduction = Reduction::Sum});
  });
  add("triplet_swap_none",
      [](const TensorList& x) { return triplet_margin_loss(x[0], x[1], x[2], {.swap = true, .reduction = Reduction::None}); });
  return ops;
}

struct Case {
  std::string id, op, grads;
  int n_inputs = 0;
};

std::vector<Case> read_manifest(const std::string& dir) {
  std::ifstream in(dir + "/manifest.txt");
  std::vector<Case> cases;
  Case c;
  while (in >> c.id >> c.op >> c.n_inputs >> c.grads) cases.push_back(c);
  return cases;
}

double rtol_for(DType t) { return t == DType::f64 ? 1e-10 : 1e-5; }
double atol_for(DType t) { return t == DType::f64 ? 1e-12 : 1e-6; }

class LossParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::temp_dir();
    ok_ = test::run_reference("loss_reference.py", dir_);
  }
  static std::string dir_;
  static bool ok_;
};
std::string LossParity::dir_;
bool LossParity::ok_ = false;

test::NormalSampler normal(4321);

Tensor f64_leaf(const Dims& shape, double scale = 1.0) {
  return (normal(shape, {.dtype = DType::f64}) * scale).requires_grad_();
}

}  // namespace

// ------------------------------------------------------------------ PyTorch parity

TEST_F(LossParity, EveryLossMatchesPyTorch) {
  ASSERT_TRUE(ok_) << "reference script failed";
  const std::map<std::string, LossFn> registry = make_registry();
  std::vector<Case> cases = read_manifest(dir_);
  ASSERT_GT(cases.size(), 180u);
  std::set<std::string> used;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.id);
    auto it = registry.find(c.op);
    ASSERT_NE(it, registry.end()) << "loss case " << c.op << " is not in the C++ registry";
    used.insert(c.op);
    std::string prefix = dir_ + "/" + c.id;
    TensorList inputs;
    for (int k = 0; k < c.n_inputs; ++k) {
      Tensor t = load_npy(prefix + "_in" + std::to_string(k) + ".npy");
      if (c.grads[k] == '1') t.requires_grad_();
      inputs.push_back(t);
    }
    Tensor out;
    try {
      out = it->second(inputs);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "threw: " << e.what();
      continue;
    }
    Tensor expected = load_npy(prefix + "_out.npy");
    DType dt = expected.dtype();
    EXPECT_EQ(out.dtype(), dt);
    EXPECT_TRUE(test::all_close(out, expected, rtol_for(dt), atol_for(dt))) << "output";
    TensorList wrt;
    std::vector<int> which;
    for (int k = 0; k < c.n_inputs; ++k)
      if (c.grads[k] == '1') {
        wrt.push_back(inputs[k]);
        which.push_back(k);
      }
    TensorList grads = autograd::grad({out}, wrt, {load_npy(prefix + "_gout.npy")}, std::nullopt, false, true);
    for (size_t i = 0; i < wrt.size(); ++i) {
      Tensor expected_grad = load_npy(prefix + "_grad" + std::to_string(which[i]) + ".npy");
      ASSERT_TRUE(grads[i].defined()) << "no gradient for input " << which[i];
      EXPECT_TRUE(test::all_close(grads[i], expected_grad, rtol_for(dt), atol_for(dt))) << "gradient of input " << which[i];
    }
  }
  EXPECT_EQ(used.size(), registry.size()) << "every registered case is run";
}

// ------------------------------------------------------------------ gradient checks

TEST(LossGradcheck, Regression) {
  Tensor x = f64_leaf({3, 4}, 1.5), t = f64_leaf({3, 4}, 1.5);
  for (Reduction r : kReductions) {
    SCOPED_TRACE(reduction_suffix(r));
    test::expect_gradcheck([r](const TensorList& in) { return mse_loss(in[0], in[1], {.reduction = r}); }, {x, t});
    test::expect_gradcheck([r](const TensorList& in) { return l1_loss(in[0], in[1], {.reduction = r}); }, {x, t});
    test::expect_gradcheck(
        [r](const TensorList& in) { return smooth_l1_loss(in[0], in[1], {.reduction = r, .beta = 0.8}); }, {x, t});
    test::expect_gradcheck([r](const TensorList& in) { return huber_loss(in[0], in[1], {.reduction = r, .delta = 1.3}); },
                           {x, t});
  }
  // A transposed input and a broadcast target.
  test::expect_gradcheck([](const TensorList& in) { return mse_loss(in[0].t(), in[1]); }, {f64_leaf({4, 3}), f64_leaf({4})});
}

TEST(LossGradcheck, SecondOrderMse) {
  test::expect_gradcheck([](const TensorList& in) { return mse_loss(in[0], in[1]); }, {f64_leaf({3, 4}), f64_leaf({3, 4})},
                         true);
  test::expect_gradcheck([](const TensorList& in) { return mse_loss(in[0], in[1], {.reduction = Reduction::None}); },
                         {f64_leaf({2, 3}), f64_leaf({3})}, true);
}

TEST(LossGradcheck, CrossEntropyClassIndices) {
  Tensor target = tensor({1, -100, 4, 0, 2, 4}, {6});
  Tensor weight = tensor({0.5, 1.5, 1.0, 2.0, 0.7});
  for (Reduction r : kReductions) {
    for (double s : {0.0, 0.25}) {
      SCOPED_TRACE(std::string(reduction_suffix(r)) + " smoothing " + std::to_string(s));
      test::expect_gradcheck([&](const TensorList& in) {
        return cross_entropy(in[0], target, {.weight = weight, .reduction = r, .label_smoothing = s});
      }, {f64_leaf({6, 5}, 2.0)});
    }
  }
  // Class dim 1 of [N, C, d]; a transposed (non-contiguous) input.
  Tensor spatial_target = tensor({0, 2, 1, -100, 2, 0}, {2, 3});
  test::expect_gradcheck([&](const TensorList& in) { return cross_entropy(in[0], spatial_target, {.label_smoothing = 0.1}); },
                         {f64_leaf({2, 3, 3})});
  test::expect_gradcheck([&](const TensorList& in) { return cross_entropy(in[0].t(), tensor({2, 0, 1, 1})); },
                         {f64_leaf({3, 4})});
}

TEST(LossGradcheck, SecondOrderCrossEntropy) {
  Tensor target = tensor({1, -100, 4, 0}, {4});
  Tensor weight = tensor({0.5, 1.5, 1.0, 2.0, 0.7});
  for (Reduction r : kReductions) {
    SCOPED_TRACE(reduction_suffix(r));
    test::expect_gradcheck([&](const TensorList& in) {
      return cross_entropy(in[0], target, {.weight = weight, .reduction = r, .label_smoothing = 0.2});
    }, {f64_leaf({4, 5})}, true);
  }
  test::expect_gradcheck([](const TensorList& in) { return cross_entropy(in[0], tensor({0, 2, 1, 1}, {2, 2})); },
                         {f64_leaf({2, 3, 2})}, true);
  // Class probabilities: both the logits and the target are differentiable.
  test::expect_gradcheck([](const TensorList& in) { return cross_entropy(in[0], softmax(in[1], 1), {.label_smoothing = 0.1}); },
                         {f64_leaf({3, 4}), f64_leaf({3, 4})}, true);
}

TEST(LossGradcheck, NllAndProbabilities) {
  Tensor target = tensor({1, -100, 3, 0}, {4});
  test::expect_gradcheck([&](const TensorList& in) {
    return nll_loss(in[0], target, {.weight = tensor({1.0, 2.0, 0.5, 3.0})});
  }, {f64_leaf({4, 4})}, true);
  test::expect_gradcheck([](const TensorList& in) {
    return cross_entropy(in[0], softmax(in[1], 1), {.weight = tensor({1.0, 2.0, 0.5}), .reduction = Reduction::Sum});
  }, {f64_leaf({4, 3}), f64_leaf({4, 3})});
}

TEST(LossGradcheck, Binary) {
  Tensor p = sigmoid(normal({3, 4}, {.dtype = DType::f64})).requires_grad_();
  Tensor t = sigmoid(normal({3, 4}, {.dtype = DType::f64})).requires_grad_();
  Tensor w = tensor({0.5, 1.0, 2.0, 1.5});
  for (Reduction r : kReductions) {
    SCOPED_TRACE(reduction_suffix(r));
    test::expect_gradcheck(
        [&](const TensorList& in) { return binary_cross_entropy(in[0], in[1], {.weight = w, .reduction = r}); }, {p, t}, true);
    test::expect_gradcheck([&](const TensorList& in) {
      return binary_cross_entropy_with_logits(in[0], in[1], {.weight = w, .pos_weight = w * 2, .reduction = r});
    }, {f64_leaf({3, 4}, 3.0), t}, true);
  }
}

TEST(LossGradcheck, KLDivergence) {
  // Targets built inside the function (softmax, log_softmax) stay valid distributions.
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None, Reduction::BatchMean}) {
    SCOPED_TRACE(reduction_suffix(r));
    test::expect_gradcheck([r](const TensorList& in) {
      return kl_div(log_softmax(in[0], 1), softmax(in[1], 1), {.reduction = r});
    }, {f64_leaf({3, 4}), f64_leaf({3, 4})}, true);
    test::expect_gradcheck([r](const TensorList& in) {
      return kl_div(log_softmax(in[0], 1), log_softmax(in[1], 1), {.reduction = r, .log_target = true});
    }, {f64_leaf({3, 4}), f64_leaf({3, 4})}, true);
  }
}

TEST(LossGradcheck, EmbeddingAndRanking) {
  Tensor y = tensor({1.0, -1.0, -1.0, 1.0, -1.0});
  for (Reduction r : kReductions) {
    SCOPED_TRACE(reduction_suffix(r));
    test::expect_gradcheck([&](const TensorList& in) {
      return cosine_embedding_loss(in[0], in[1], y, {.margin = -0.5, .reduction = r});
    }, {f64_leaf({5, 3}), f64_leaf({5, 3})});
    test::expect_gradcheck([&](const TensorList& in) {
      return margin_ranking_loss(in[0], in[1], y, {.margin = 0.3, .reduction = r});
    }, {f64_leaf({5}), f64_leaf({5})});
    for (double p : {1.0, 2.0, 3.0}) {
      test::expect_gradcheck([&](const TensorList& in) {
        return triplet_margin_loss(in[0], in[1], in[2], {.margin = 3.0, .p = p, .swap = true, .reduction = r});
      }, {f64_leaf({4, 3}), f64_leaf({4, 3}), f64_leaf({4, 3})});
    }
  }
}

// ------------------------------------------------------------------ cross entropy details

TEST(CrossEntropy, FusedBackwardMatchesDifferentiableFormula) {
  // create_graph=false takes the fused kernel; create_graph=true the differentiable formula.
  Tensor weight = tensor({0.5f, 1.5f, 1.0f, 2.0f, 0.7f});
  Tensor target = tensor({1, -100, 4, 0, 2, 4, 3, -100}, {8});
  Tensor spatial_target = tensor({1, -100, 4, 0, 2, 4}, {2, 3});
  for (Reduction r : kReductions) {
    for (double s : {0.0, 0.3}) {
      SCOPED_TRACE(std::string(reduction_suffix(r)) + " smoothing " + std::to_string(s));
      CrossEntropyLossOptions o{.weight = weight, .reduction = r, .label_smoothing = s};
      for (auto [x, t] : {std::pair{normal({8, 5}).requires_grad_(), target},
                          std::pair{normal({2, 5, 3}).requires_grad_(), spatial_target}}) {
        Tensor out = cross_entropy(x, t, o);
        Tensor g = normal(out.sizes()).reshape(out.sizes());
        Tensor fused = autograd::grad({out}, {x}, {g}, true, false)[0];
        Tensor composed = autograd::grad({out}, {x}, {g}, std::nullopt, true)[0];
        EXPECT_TRUE(composed.requires_grad());
        EXPECT_TRUE(test::all_close(fused, composed.detach(), 1e-5, 1e-6));
      }
    }
  }
}

TEST(CrossEntropy, ExtremeLogitsStayFinite) {
  for (DType dt : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(dt));
    // Row 0 is certain and right (loss 0), row 1 splits between classes 1 and 2 (log 2),
    // row 2 is certain and wrong (2e4).
    Tensor x = tensor({1e4, -1e4, 0.0, -1e4, 1e4, 1e4, 1e4, -1e4, -1e4}, {3, 3}).to(dt).requires_grad_();
    Tensor target = tensor({0, 2, 1});
    // float32 holds 1e4 + log(2) to about 1e-3: errors of that size are its rounding.
    double atol = dt == DType::f32 ? 1e-3 : 1e-12;
    Tensor loss = cross_entropy(x, target, {.reduction = Reduction::None});
    EXPECT_TRUE(test::all_close(loss, tensor({0.0, std::log(2.0), 2e4}).to(dt), 1e-10, atol));
    cross_entropy(x, target).backward();
    EXPECT_TRUE(test::all_close(x.grad(), tensor({0.0, 0.0, 0.0, 0.0, 0.5, -0.5, 1.0, -1.0, 0.0}, {3, 3}).to(dt) / 3, 1e-10, atol));
    // Label smoothing sums every log-probability, -2e4 ones included: large but finite.
    x.zero_grad();
    Tensor smoothed = cross_entropy(x, target, {.label_smoothing = 0.1});
    smoothed.backward();
    EXPECT_TRUE(std::isfinite(smoothed.item()));
    EXPECT_TRUE(all(isfinite(x.grad())).item<bool>());
    Tensor logits_loss = binary_cross_entropy_with_logits(x, ones_like(x).detach(), {.reduction = Reduction::Sum});
    EXPECT_TRUE(std::isfinite(logits_loss.item()));
    // softplus(-x) summed: four logits of -1e4 cost 1e4 each, the 0 costs log(2).
    EXPECT_NEAR(logits_loss.item(), 4e4 + std::log(2.0), 4e4 * 1e-7 + atol);
  }
}

TEST(CrossEntropy, AllTargetsIgnoredGivesNanMeanAndZeroGradient) {
  // As PyTorch: the mean over no targets is 0/0, and no position receives a gradient.
  Tensor x = normal({3, 4}).requires_grad_();
  Tensor target = full({3}, -100, {.dtype = DType::i64});
  for (double s : {0.0, 0.2}) {
    Tensor loss = cross_entropy(x, target, {.label_smoothing = s});
    EXPECT_TRUE(std::isnan(loss.item()));
    loss.backward();
    EXPECT_TRUE(test::all_close(x.grad(), zeros({3, 4})));
    x.zero_grad();
  }
  EXPECT_EQ(cross_entropy(x, target, {.reduction = Reduction::Sum}).item(), 0.0);
}

TEST(CrossEntropy, MatchesLogSoftmaxThenNll) {
  // The fused path and the composition it replaces agree (here the oracle is PyTorch's own
  // definition, cross_entropy = nll_loss(log_softmax)), on bfloat16 too.
  Tensor x = normal({7, 6}), target = tensor({0, 5, 3, 3, -100, 1, 2});
  Tensor weight = tensor({1.f, 2.f, 0.5f, 1.f, 3.f, 0.25f});
  EXPECT_TRUE(test::all_close(cross_entropy(x, target, {.weight = weight}),
                              nll_loss(log_softmax(x, 1), target, {.weight = weight}), 1e-6));
  Tensor xb = x.to(DType::bf16);
  Tensor lb = cross_entropy(xb, target);
  EXPECT_EQ(lb.dtype(), DType::bf16);
  EXPECT_TRUE(test::all_close(lb.to(DType::f32), cross_entropy(xb.to(DType::f32), target), 1e-2));
}

// ------------------------------------------------------------------ modules

TEST(LossModules, ForwardCallsTheFunctionalLossWithTheOptions) {
  Tensor x = normal({4, 3}), t = tensor({2, 0, 1, -100}), w = tensor({1.f, 2.f, 0.5f});
  nn::CrossEntropyLoss ce({.weight = w, .reduction = Reduction::Sum, .label_smoothing = 0.1});
  EXPECT_TRUE(test::all_close(ce(x, t), cross_entropy(x, t, {.weight = w, .reduction = Reduction::Sum, .label_smoothing = 0.1}), 0, 0));
  EXPECT_TRUE(test::all_close(nn::CrossEntropyLoss()->forward(x, t), cross_entropy(x, t), 0, 0));
  EXPECT_TRUE(test::all_close(nn::NLLLoss({.ignore_index = 1})(x, tensor({2, 0, 1, 1})), nll_loss(x, tensor({2, 0, 1, 1}), {.ignore_index = 1}), 0, 0));
  Tensor y = normal({4, 3});
  EXPECT_TRUE(test::all_close(nn::MSELoss()(x, y), mse_loss(x, y), 0, 0));
  EXPECT_TRUE(test::all_close(nn::L1Loss({.reduction = Reduction::None})(x, y), abs(x - y), 0, 0));
  EXPECT_TRUE(test::all_close(nn::SmoothL1Loss({.beta = 0.5})(x, y), smooth_l1_loss(x, y, {.beta = 0.5}), 0, 0));
  EXPECT_TRUE(test::all_close(nn::HuberLoss({.delta = 0.5})(x, y), huber_loss(x, y, {.delta = 0.5}), 0, 0));
  Tensor p = sigmoid(y);
  EXPECT_TRUE(test::all_close(nn::BCELoss()(sigmoid(x), p), binary_cross_entropy(sigmoid(x), p), 0, 0));
  EXPECT_TRUE(test::all_close(nn::BCEWithLogitsLoss({.pos_weight = w})(x, p),
                              binary_cross_entropy_with_logits(x, p, {.pos_weight = w}), 0, 0));
  EXPECT_TRUE(test::all_close(nn::KLDivLoss({.reduction = Reduction::BatchMean})(log_softmax(x, 1), softmax(y, 1)),
                              kl_div(log_softmax(x, 1), softmax(y, 1), {.reduction = Reduction::BatchMean}), 0, 0));
  Tensor signs = tensor({1.f, -1.f, 1.f, -1.f});
  EXPECT_TRUE(test::all_close(nn::CosineEmbeddingLoss({.margin = 0.2})(x, y, signs),
                              cosine_embedding_loss(x, y, signs, {.margin = 0.2}), 0, 0));
  EXPECT_TRUE(test::all_close(nn::MarginRankingLoss({.margin = 0.2})(x.select(1, 0), y.select(1, 0), signs),
                              margin_ranking_loss(x.select(1, 0), y.select(1, 0), signs, {.margin = 0.2}), 0, 0));
  EXPECT_TRUE(test::all_close(nn::TripletMarginLoss({.swap = true})(x, y, p), triplet_margin_loss(x, y, p, {.swap = true}), 0, 0));
}

TEST(LossModules, WeightsAreBuffersUnderPyTorchsNamesAndPrintLikePyTorch) {
  // torch: CrossEntropyLoss(weight=w).state_dict() has "weight"; BCEWithLogitsLoss has
  // "weight" and "pos_weight"; without weights, nothing. Loss modules print as "Name()".
  Tensor w = tensor({1.f, 2.f, 0.5f});
  nn::CrossEntropyLoss weighted({.weight = w});
  auto names = [](const nn::Module& m) {
    std::vector<std::string> out;
    for (const auto& [name, t] : m.state_dict()) out.push_back(name);
    return out;
  };
  EXPECT_EQ(names(*weighted), std::vector<std::string>{"weight"});
  EXPECT_TRUE(test::all_close(weighted->state_dict()[0].second, w, 0, 0));
  EXPECT_TRUE(names(*nn::CrossEntropyLoss()).empty());
  EXPECT_EQ(names(*nn::BCEWithLogitsLoss({.weight = w, .pos_weight = w * 2})), (std::vector<std::string>{"weight", "pos_weight"}));
  EXPECT_EQ(weighted->num_parameters(), 0);
  EXPECT_EQ(weighted->to_string(), "CrossEntropyLoss()");
  EXPECT_EQ(nn::TripletMarginLoss()->to_string(), "TripletMarginLoss()");
  EXPECT_EQ(nn::BCEWithLogitsLoss()->name(), "BCEWithLogitsLoss");
}

// ------------------------------------------------------------------ errors

TEST(LossErrors, ClassTargets) {
  Tensor x = normal({3, 4});
  test::expect_error<IndexError>([&] { cross_entropy(x, tensor({0, 7, 1})); }, {"cross_entropy", "target 7", "4 classes"});
  test::expect_error<IndexError>([&] { nll_loss(x, tensor({0, -1, 1})); }, {"nll_loss", "target -1", "4 classes"});
  test::expect_error<ShapeError>([&] { cross_entropy(x, tensor({0, 1})); }, {"cross_entropy", "[2]", "[3, 4]", "[3]"});
  test::expect_error<ShapeError>([&] { cross_entropy(normal({2, 4, 5}), tensor({0, 1})); }, {"[2]", "[2, 4, 5]", "[2, 5]"});
  test::expect_error<DTypeError>([&] { cross_entropy(x, tensor({0, 1, 2}).to(DType::i32)); }, {"cross_entropy", "int64", "int32"});
  test::expect_error<DTypeError>([&] { nll_loss(x, tensor({0.0f, 1.0f, 2.0f})); }, {"nll_loss", "int64", "float32"});
  test::expect_error<DTypeError>([&] { cross_entropy(tensor({0, 1, 2}), tensor({0, 1, 2})); }, {"cross_entropy", "input", "int64"});
  test::expect_error<ShapeError>([&] { cross_entropy(x, tensor({0, 1, 2}), {.weight = ones({3})}); }, {"weight", "(4)", "[3]"});
  test::expect_error<ShapeError>([&] { cross_entropy(x, normal({3, 5})); }, {"cross_entropy", "[3, 5]", "[3, 4]"});
  test::expect_error<DTypeError>([&] { cross_entropy(x, normal({3, 4}, {.dtype = DType::f64})); }, {"float64", "float32"});
  test::expect_error<ValueError>([&] { cross_entropy(x, tensor({0, 1, 2}), {.label_smoothing = 1.5}); }, {"label_smoothing", "1.5"});
}

TEST(LossErrors, ShapesDtypesAndOptions) {
  Tensor x = normal({4, 1});
  // [4, 1] against [4] would broadcast to [4, 4]: refused, naming both shapes.
  test::expect_error<ShapeError>([&] { mse_loss(x, normal({4})); }, {"mse_loss", "[4]", "[4, 1]"});
  test::expect_error<ShapeError>([&] { l1_loss(normal({3}), normal({2, 3})); }, {"l1_loss", "[2, 3]", "[3]"});
  test::expect_error<DTypeError>([&] { mse_loss(tensor({1, 2}), tensor({1, 2})); }, {"mse_loss", "int64"});
  test::expect_error<ValueError>([&] { mse_loss(x, x, {.reduction = Reduction::BatchMean}); }, {"mse_loss", "BatchMean", "kl_div"});
  test::expect_error<ValueError>([&] { smooth_l1_loss(x, x, {.beta = -1}); }, {"smooth_l1_loss", "beta", "-1"});
  test::expect_error<ValueError>([&] { huber_loss(x, x, {.delta = 0}); }, {"huber_loss", "delta"});
  Tensor p = full({2, 3}, 0.5);
  test::expect_error<ShapeError>([&] { binary_cross_entropy(p, full({3}, 0.5)); }, {"binary_cross_entropy", "[3]", "[2, 3]"});
  test::expect_error<ValueError>([&] { binary_cross_entropy(full({2}, 1.5), full({2}, 0.5)); }, {"binary_cross_entropy", "1.5"});
  test::expect_error<DTypeError>([&] { binary_cross_entropy(p, ones({2, 3}, {.dtype = DType::i64})); }, {"target", "int64"});
  test::expect_error<ShapeError>([&] { binary_cross_entropy_with_logits(p, p, {.pos_weight = ones({2})}); },
                                 {"pos_weight", "[2]", "[2, 3]"});
  test::expect_error<ShapeError>([&] { binary_cross_entropy_with_logits(p, p, {.weight = ones({4})}); }, {"weight", "[4]"});
  test::expect_error<ShapeError>([&] { cosine_embedding_loss(p, p, ones({2, 1})); }, {"cosine_embedding_loss", "[2, 1]"});
  test::expect_error<ShapeError>([&] { cosine_embedding_loss(p, p, ones({3})); }, {"[3]", "[2, 3]"});
  test::expect_error<ShapeError>([&] { cosine_embedding_loss(normal({3}), normal({3}), ones({3})); }, {"2-D", "[3]"});
  test::expect_error<ShapeError>([&] { margin_ranking_loss(normal({3}), normal({3}), ones({3, 1})); },
                                 {"margin_ranking_loss", "[3]", "[3, 1]"});
  test::expect_error<ShapeError>([&] { triplet_margin_loss(p, p, normal({3})); }, {"triplet_margin_loss", "[2, 3]", "[3]"});
  test::expect_error<ValueError>([&] { triplet_margin_loss(p, p, p, {.p = 0}); }, {"triplet_margin_loss", "p must be > 0"});
}
