// Parity with PyTorch: tests/reference/op_parity.py writes random inputs, PyTorch's outputs
// and gradients as .npy files; here each op runs by name on the same inputs and must agree
// (float32 to 1e-5 relative, float64 to 1e-10).
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include "support/test_support.h"

using namespace cajal;

namespace {

using OpFn = std::function<Tensor(const TensorList&)>;

const std::map<std::string, OpFn>& registry() {
  static const std::map<std::string, OpFn> ops = {
      // unary
      {"neg", [](const TensorList& x) { return neg(x[0]); }},
      {"abs", [](const TensorList& x) { return abs(x[0]); }},
      {"exp", [](const TensorList& x) { return exp(x[0]); }},
      {"expm1", [](const TensorList& x) { return expm1(x[0]); }},
      {"log", [](const TensorList& x) { return log(x[0]); }},
      {"log1p", [](const TensorList& x) { return log1p(x[0]); }},
      {"sqrt", [](const TensorList& x) { return sqrt(x[0]); }},
      {"rsqrt", [](const TensorList& x) { return rsqrt(x[0]); }},
      {"sin", [](const TensorList& x) { return sin(x[0]); }},
      {"cos", [](const TensorList& x) { return cos(x[0]); }},
      {"tanh", [](const TensorList& x) { return tanh(x[0]); }},
      {"sigmoid", [](const TensorList& x) { return sigmoid(x[0]); }},
      {"relu", [](const TensorList& x) { return relu(x[0]); }},
      {"square", [](const TensorList& x) { return square(x[0]); }},
      {"erf", [](const TensorList& x) { return erf(x[0]); }},
      {"leaky_relu", [](const TensorList& x) { return leaky_relu(x[0], 0.1); }},
      {"elu", [](const TensorList& x) { return elu(x[0], 0.7); }},
      {"selu", [](const TensorList& x) { return selu(x[0]); }},
      {"gelu", [](const TensorList& x) { return gelu(x[0]); }},
      {"gelu_tanh", [](const TensorList& x) { return gelu(x[0], GeluApprox::Tanh); }},
      {"silu", [](const TensorList& x) { return silu(x[0]); }},
      {"softplus", [](const TensorList& x) { return softplus(x[0], 2.0, 3.0); }},
      {"sign", [](const TensorList& x) { return sign(x[0]); }},
      {"floor", [](const TensorList& x) { return floor(x[0]); }},
      {"ceil", [](const TensorList& x) { return ceil(x[0]); }},
      {"round", [](const TensorList& x) { return round(x[0]); }},
      {"clamp", [](const TensorList& x) { return clamp(x[0], -0.5, 0.7); }},
      {"clamp_min", [](const TensorList& x) { return clamp(x[0], -0.2, std::nullopt); }},
      {"pow_scalar", [](const TensorList& x) { return pow(x[0], 3); }},
      {"pow_frac", [](const TensorList& x) { return pow(x[0], 1.7); }},
      {"reciprocal", [](const TensorList& x) { return reciprocal(x[0]); }},
      // binary
      {"add", [](const TensorList& x) { return add(x[0], x[1]); }},
      {"add_alpha", [](const TensorList& x) { return add(x[0], x[1], 2.5); }},
      {"sub", [](const TensorList& x) { return sub(x[0], x[1]); }},
      {"mul", [](const TensorList& x) { return mul(x[0], x[1]); }},
      {"div", [](const TensorList& x) { return div(x[0], x[1]); }},
      {"pow", [](const TensorList& x) { return pow(x[0], x[1]); }},
      {"maximum", [](const TensorList& x) { return maximum(x[0], x[1]); }},
      {"minimum", [](const TensorList& x) { return minimum(x[0], x[1]); }},
      {"atan2", [](const TensorList& x) { return atan2(x[0], x[1]); }},
      {"eq", [](const TensorList& x) { return eq(x[0], x[1]); }},
      {"ne", [](const TensorList& x) { return ne(x[0], x[1]); }},
      {"lt", [](const TensorList& x) { return lt(x[0], x[1]); }},
      {"le", [](const TensorList& x) { return le(x[0], x[1]); }},
      {"gt", [](const TensorList& x) { return gt(x[0], x[1]); }},
      {"ge", [](const TensorList& x) { return ge(x[0], x[1]); }},
      {"where", [](const TensorList& x) { return where(x[0], x[1], x[2]); }},
      // reductions
      {"sum_all", [](const TensorList& x) { return sum(x[0]); }},
      {"sum_dim0", [](const TensorList& x) { return sum(x[0], {0}); }},
      {"sum_dim1_keep", [](const TensorList& x) { return sum(x[0], {1}, true); }},
      {"sum_dims02", [](const TensorList& x) { return x[0].dim() == 3 ? sum(x[0], {0, 2}) : sum(x[0], {0}); }},
      {"mean_all", [](const TensorList& x) { return mean(x[0]); }},
      {"mean_dim_last", [](const TensorList& x) { return mean(x[0], {-1}); }},
      {"var_dim0", [](const TensorList& x) { return var(x[0], {0}); }},
      {"var_all_biased", [](const TensorList& x) { return var(x[0], {}, false); }},
      {"std_dim_last_keep", [](const TensorList& x) { return cajal::std(x[0], {-1}, true, true); }},
      {"prod_dim1", [](const TensorList& x) { return prod(x[0], 1); }},
      {"logsumexp_dim_last", [](const TensorList& x) { return logsumexp(x[0], {-1}); }},
      {"norm2_all", [](const TensorList& x) { return norm(x[0], 2); }},
      {"norm1_dim0", [](const TensorList& x) { return norm(x[0], 1, {0}); }},
      {"norminf_dim_last", [](const TensorList& x) { return norm(x[0], std::numeric_limits<double>::infinity(), {-1}); }},
      {"cumsum_dim1", [](const TensorList& x) { return cumsum(x[0], 1); }},
      {"softmax_last", [](const TensorList& x) { return softmax(x[0], -1); }},
      {"softmax_dim0", [](const TensorList& x) { return softmax(x[0], 0); }},
      {"log_softmax_last", [](const TensorList& x) { return log_softmax(x[0], -1); }},
      {"log_softmax_dim1", [](const TensorList& x) { return log_softmax(x[0], 1); }},
      {"max_all", [](const TensorList& x) { return max(x[0]); }},
      {"min_all", [](const TensorList& x) { return min(x[0]); }},
      {"max_dim1_values", [](const TensorList& x) { return max(x[0], 1).values; }},
      {"min_dim0_values", [](const TensorList& x) { return min(x[0], 0).values; }},
      {"max_dim1_indices", [](const TensorList& x) { return max(x[0], 1).indices; }},
      {"argmax_dim1", [](const TensorList& x) { return argmax(x[0], 1); }},
      {"argmin_dim0", [](const TensorList& x) { return argmin(x[0], 0); }},
      {"argmax_all", [](const TensorList& x) { return argmax(x[0]); }},
      // linear algebra
      {"matmul", [](const TensorList& x) { return matmul(x[0], x[1]); }},
      {"mm", [](const TensorList& x) { return mm(x[0], x[1]); }},
      {"bmm", [](const TensorList& x) { return bmm(x[0], x[1]); }},
      {"addmm", [](const TensorList& x) { return addmm(x[0], x[1], x[2], 0.5, 2.0); }},
      {"outer", [](const TensorList& x) { return outer(x[0], x[1]); }},
      {"dot", [](const TensorList& x) { return dot(x[0], x[1]); }},
      {"linear", [](const TensorList& x) { return linear(x[0], x[1], x[2]); }},
      // shape and indexing
      {"cat_dim0", [](const TensorList& x) { return cat({x[0], x[1]}, 0); }},
      {"cat_dim1", [](const TensorList& x) { return cat({x[0], x[1]}, 1); }},
      {"stack_dim1", [](const TensorList& x) { return stack({x[0], x[1]}, 1); }},
      {"split2_dim1_piece1", [](const TensorList& x) { return split(x[0], 2, 1)[1]; }},
      {"chunk3_dim0_piece2", [](const TensorList& x) { return chunk(x[0], 3, 0)[2]; }},
      {"flip_dims01", [](const TensorList& x) { return flip(x[0], {0, 1}); }},
      {"repeat_2_1_3", [](const TensorList& x) { return repeat(x[0], {2, 1, 3}); }},
      {"tile_2_2", [](const TensorList& x) { return tile(x[0], {2, 2}); }},
      {"pad_constant", [](const TensorList& x) { return pad(x[0], {1, 2, 0, 1}, PadMode::Constant, 0.5); }},
      {"pad_reflect", [](const TensorList& x) { return pad(x[0], {2, 1}, PadMode::Reflect); }},
      {"pad_replicate", [](const TensorList& x) { return pad(x[0], {2, 1, 1, 2}, PadMode::Replicate); }},
      {"index_select_dim1", [](const TensorList& x) { return index_select(x[0], 1, x[1]); }},
      {"gather_dim1", [](const TensorList& x) { return gather(x[0], 1, x[1]); }},
      {"scatter_add_dim0", [](const TensorList& x) { return scatter_add(x[0], 0, x[1], x[2]); }},
      {"index_add_dim0", [](const TensorList& x) { return index_add(x[0], 0, x[1], x[2], 1.5); }},
      {"masked_fill", [](const TensorList& x) { return masked_fill(x[0], x[1], -2.0); }},
      {"masked_select", [](const TensorList& x) { return masked_select(x[0], x[1]); }},
      {"sort_dim1_values", [](const TensorList& x) { return sort(x[0], 1).values; }},
      {"sort_desc_indices", [](const TensorList& x) { return sort(x[0], 0, true).indices; }},
      {"topk3_values", [](const TensorList& x) { return topk(x[0], 3).values; }},
      {"topk2_smallest_indices", [](const TensorList& x) { return topk(x[0], 2, 0, false).indices; }},
      {"argsort_last", [](const TensorList& x) { return argsort(x[0]); }},
      {"embedding_pad1", [](const TensorList& x) { return embedding(x[0], x[1], 1); }},
      {"nonzero", [](const TensorList& x) { return nonzero(x[0]); }},
      {"one_hot", [](const TensorList& x) { return one_hot(x[0], 5); }},
      {"scatter_dim1", [](const TensorList& x) { return scatter(x[0], 1, x[1], x[2]); }},
      {"prod_all", [](const TensorList& x) { return prod(x[0]); }},
      {"isnan", [](const TensorList& x) { return isnan(x[0]); }},
      {"isfinite", [](const TensorList& x) { return isfinite(x[0]); }},
      {"logical_and", [](const TensorList& x) { return logical_and(x[0], x[1]); }},
      {"logical_or", [](const TensorList& x) { return logical_or(x[0], x[1]); }},
      {"logical_xor", [](const TensorList& x) { return logical_xor(x[0], x[1]); }},
      {"logical_not", [](const TensorList& x) { return logical_not(x[0]); }},
      {"all_dim1", [](const TensorList& x) { return all(x[0], {1}); }},
      {"any_dim0", [](const TensorList& x) { return any(x[0], {0}); }},
      {"add_inplace", [](const TensorList& x) { Tensor y = x[0] * 1; return add_(y, x[1], 0.5); }},
      {"mul_inplace", [](const TensorList& x) { Tensor y = x[0] * 1; return mul_(y, x[1]); }},
      {"clamp_inplace", [](const TensorList& x) { Tensor y = x[0] * 1; return clamp_(y, -0.3, 0.4); }},
  };
  return ops;
}

struct Case {
  std::string id, op;
  int n_inputs = 0;
  bool grads = false;
};

class Parity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::temp_dir();
    ok_ = test::run_reference("op_parity.py", dir_);
  }
  static std::string dir_;
  static bool ok_;
};
std::string Parity::dir_;
bool Parity::ok_ = false;

std::vector<Case> read_manifest(const std::string& dir) {
  std::ifstream in(dir + "/manifest.txt");
  std::vector<Case> cases;
  Case c;
  int grads = 0;
  while (in >> c.id >> c.op >> c.n_inputs >> grads) {
    c.grads = grads != 0;
    cases.push_back(c);
  }
  return cases;
}

double rtol_for(DType t) { return t == DType::f64 ? 1e-10 : 1e-5; }
double atol_for(DType t) { return t == DType::f64 ? 1e-12 : 1e-6; }

}  // namespace

TEST_F(Parity, EveryOpMatchesPyTorch) {
  ASSERT_TRUE(ok_) << "reference script failed";
  std::vector<Case> cases = read_manifest(dir_);
  ASSERT_GT(cases.size(), 400u);
  int checked = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.id + " " + c.op);
    auto it = registry().find(c.op);
    ASSERT_NE(it, registry().end()) << "op " << c.op << " is not in the C++ registry";
    std::string prefix = dir_ + "/" + c.id;
    TensorList inputs;
    for (int i = 0; i < c.n_inputs; ++i) {
      Tensor t = load_npy(prefix + "_in" + std::to_string(i) + ".npy");
      if (c.grads && t.is_floating_point()) t.requires_grad_();
      inputs.push_back(t);
    }
    Tensor expected = load_npy(prefix + "_out.npy");
    Tensor out;
    try {
      out = it->second(inputs);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "threw: " << e.what();
      continue;
    }
    EXPECT_EQ(out.dtype(), expected.dtype());
    DType tol_type = expected.dtype() == DType::f64 ? DType::f64 : DType::f32;
    EXPECT_TRUE(test::all_close(out, expected, rtol_for(tol_type), atol_for(tol_type)));
    if (c.grads) {
      Tensor g = load_npy(prefix + "_gout.npy");
      TensorList wrt;
      std::vector<int> which;
      for (int i = 0; i < c.n_inputs; ++i)
        if (inputs[i].requires_grad()) {
          wrt.push_back(inputs[i]);
          which.push_back(i);
        }
      TensorList grads = autograd::grad({out}, wrt, {g}, std::nullopt, false, true);
      for (size_t k = 0; k < wrt.size(); ++k) {
        Tensor expected_grad = load_npy(prefix + "_grad" + std::to_string(which[k]) + ".npy");
        Tensor got = grads[k].defined() ? grads[k] : zeros_like(wrt[k]);
        EXPECT_TRUE(test::all_close(got, expected_grad, rtol_for(got.dtype()), atol_for(got.dtype())))
            << "gradient of input " << which[k];
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(cases.size()));
}
