// Parity with PyTorch: tests/reference/op_parity.py writes random inputs, PyTorch's outputs
// and gradients as .npy files; here each op runs by name on the same inputs and must agree
// (float32 to 1e-5 relative, float64 to 1e-10).
#include <fstream>
#include <sstream>

#include "ops/op_registry.h"
#include "support/test_support.h"

using namespace cajal;

namespace {

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
    auto it = test::op_registry().find(c.op);
    ASSERT_NE(it, test::op_registry().end()) << "op " << c.op << " is not in the C++ registry";
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
