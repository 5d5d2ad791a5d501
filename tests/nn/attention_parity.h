#pragma once
// Attention and Transformer parity with PyTorch: each case gives the cajal module (or none,
// for a function), its inputs, the cajal call, and the torch module and call expressions
// that compute the same thing (tests/reference/attention_reference.py). The harness saves the
// module's state_dict, the inputs and an upstream gradient as .npy; the script loads the state
// into the torch module strictly (names must equal torch's), runs forward and backward, and
// writes the output and the gradients of every floating input and parameter, compared here.
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cajal/nn/module.h"
#include "support/test_support.h"

namespace cajal::test {

struct AttentionCase {
  std::string torch_module;  // e.g. "nn.MultiheadAttention(8, 2)", or "-" for a function case
  std::string torch_call;    // e.g. "m(i0, i0, i0)[0]", with the module `m` and inputs i0, i1, ...
  nn::ModulePtr module;      // null for a function case
  TensorList inputs;         // floating inputs get gradients; bool ones (masks) do not
  std::function<Tensor(const TensorList&)> call;  // the cajal side, given the inputs as leaves
  bool train = false;
};

namespace detail {

inline std::string attention_case_id(size_t i) {
  std::string id = "c";
  return id.append(std::to_string(i));
}

// The largest finite |value|, the scale of the comparison's absolute tolerance.
inline double finite_scale(const Tensor& t) {
  double scale = 0;
  for (double v : t.to(DType::f64).contiguous().to_vector<double>())
    if (std::isfinite(v)) scale = std::max(scale, std::abs(v));
  return scale;
}

// |actual - expected| <= rtol * (|expected| + the largest |expected|): relative to each
// tensor's scale, so that elements near zero (sums of terms that cancel) are held to the same
// absolute accuracy as the rest. NaNs must match.
inline ::testing::AssertionResult close_to_torch(const Tensor& actual, const Tensor& expected, double rtol) {
  return all_close(actual, expected, rtol, rtol * finite_scale(expected));
}

}  // namespace detail

inline void expect_attention_cases_match_torch(const std::vector<AttentionCase>& cases, double rtol = 1e-5) {
  const std::string dir = temp_dir();
  std::ofstream manifest(dir + "/manifest.txt");
  NormalSampler upstream(4242);
  struct Result {
    Tensor out;
    TensorList input_grads;
    nn::Named<Tensor> param_grads;
  };
  std::vector<Result> results;
  for (size_t i = 0; i < cases.size(); ++i) {
    const AttentionCase& c = cases[i];
    const std::string id = detail::attention_case_id(i);
    if (c.module) {
      c.module->train(c.train);
      c.module->zero_grad();
      for (const auto& [name, t] : c.module->state_dict()) save_npy(t, dir + "/" + id + "_param_" + name + ".npy");
    }
    TensorList leaves;
    for (size_t k = 0; k < c.inputs.size(); ++k) {
      save_npy(c.inputs[k], dir + "/" + id + "_in" + std::to_string(k) + ".npy");
      Tensor leaf = c.inputs[k].detach().clone();
      if (leaf.is_floating_point()) leaf.requires_grad_();
      leaves.push_back(leaf);
    }
    Tensor out = c.call(leaves);
    Tensor g = upstream(out.sizes(), {.dtype = out.dtype()});
    save_npy(g, dir + "/" + id + "_gout.npy");
    out.backward(g);
    Result r{out.detach(), {}, {}};
    for (const Tensor& leaf : leaves) r.input_grads.push_back(leaf.grad());
    if (c.module)
      for (const auto& [name, p] : c.module->named_parameters()) r.param_grads.emplace_back(name, p.grad());
    results.push_back(r);
    manifest << id << ' ' << (c.train ? "train" : "eval") << ' ' << c.inputs.size() << ' ' << c.torch_module << " ;; "
             << c.torch_call << '\n';
  }
  manifest.close();
  ASSERT_TRUE(run_reference("attention_reference.py", dir));

  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string id = detail::attention_case_id(i);
    auto reference = [&](const std::string& what) { return load_npy(dir + "/" + id + "_" + what + ".npy"); };
    const Result& r = results[i];
    SCOPED_TRACE(cases[i].torch_module + " ;; " + cases[i].torch_call);
    EXPECT_TRUE(detail::close_to_torch(r.out, reference("out"), rtol)) << "output";
    for (size_t k = 0; k < r.input_grads.size(); ++k) {
      if (!cases[i].inputs[k].is_floating_point()) continue;
      ASSERT_TRUE(r.input_grads[k].defined()) << "input " << k << " got no gradient";
      EXPECT_TRUE(detail::close_to_torch(r.input_grads[k], reference("gin" + std::to_string(k)), rtol))
          << "gradient of input " << k;
    }
    for (const auto& [name, grad] : r.param_grads) {
      const bool torch_has = std::filesystem::exists(dir + "/" + id + "_grad_" + name + ".npy");
      ASSERT_EQ(grad.defined(), torch_has) << "gradient of " << name << " present in only one of cajal and torch";
      if (torch_has) {
        EXPECT_TRUE(detail::close_to_torch(grad, reference("grad_" + name), rtol)) << "gradient of " << name;
      }
    }
  }
}

}  // namespace cajal::test
