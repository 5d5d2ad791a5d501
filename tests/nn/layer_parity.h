#pragma once
// Layer parity with PyTorch: each case names a cajal module and the Python expression that
// builds the same torch.nn module. The harness saves the module's state_dict, inputs and an
// upstream gradient as .npy; tests/reference/nn_layers_reference.py loads that state into the
// torch module (strictly: the names must match), runs forward and backward in the case's
// mode, and writes the output, the input and parameter gradients and the state afterwards,
// which are compared here with the cajal module's.
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cajal/nn/module.h"
#include "support/test_support.h"

namespace cajal::test {

struct LayerCase {
  std::string torch;       // e.g. "nn.Linear(4, 3)"; `nn` and `torch` are in scope
  nn::ModulePtr module;
  TensorList inputs;       // floating inputs get gradients; integer ones (indices) do not
  bool train = true;
  // How to call the module; by default module.forward(inputs[0]).
  std::function<Tensor(nn::Module&, const TensorList&)> call = {};
};

namespace detail {

struct LayerResult {
  Tensor out;
  TensorList input_grads;
  nn::Named<Tensor> param_grads;  // undefined where no gradient reached the parameter
  nn::Named<Tensor> state_after;
};

// "c<i>", built by appending (GCC 12 warns falsely on "c" + std::string).
inline std::string case_id(size_t i) {
  std::string id = "c";
  return id.append(std::to_string(i));
}

inline Tensor load_reference(const std::string& dir, const std::string& id, const std::string& what) {
  return load_npy(dir + "/" + id + "_" + what + ".npy");
}

}  // namespace detail

// Runs every case in cajal and in PyTorch and compares at rtol (atol = rtol / 10).
inline void expect_layers_match_torch(const std::vector<LayerCase>& cases, double rtol = 1e-5) {
  const std::string dir = temp_dir();
  std::ofstream manifest(dir + "/manifest.txt");
  NormalSampler upstream(97);
  std::vector<detail::LayerResult> results;
  for (size_t i = 0; i < cases.size(); ++i) {
    const LayerCase& c = cases[i];
    const std::string id = detail::case_id(i);
    c.module->train(c.train);
    for (const auto& [name, t] : c.module->state_dict()) save_npy(t, dir + "/" + id + "_param_" + name + ".npy");
    TensorList leaves;
    for (size_t k = 0; k < c.inputs.size(); ++k) {
      save_npy(c.inputs[k], dir + "/" + id + "_in" + std::to_string(k) + ".npy");
      Tensor leaf = c.inputs[k].detach().clone();
      if (leaf.is_floating_point()) leaf.requires_grad_();
      leaves.push_back(leaf);
    }
    c.module->zero_grad();
    Tensor out = c.call ? c.call(*c.module, leaves) : c.module->forward(leaves.at(0));
    Tensor g = upstream(out.sizes(), {.dtype = out.dtype()});
    save_npy(g, dir + "/" + id + "_gout.npy");
    out.backward(g);
    detail::LayerResult r{out.detach(), {}, {}, c.module->state_dict()};
    for (const Tensor& leaf : leaves) r.input_grads.push_back(leaf.grad());
    for (const auto& [name, p] : c.module->named_parameters()) r.param_grads.emplace_back(name, p.grad());
    results.push_back(r);
    manifest << id << ' ' << (c.train ? "train" : "eval") << ' ' << c.inputs.size() << ' ' << c.torch << '\n';
  }
  manifest.close();
  ASSERT_TRUE(run_reference("nn_layers_reference.py", dir));

  const double atol = rtol / 10;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string id = detail::case_id(i);
    const detail::LayerResult& r = results[i];
    SCOPED_TRACE(cases[i].torch + (cases[i].train ? " (train)" : " (eval)"));
    EXPECT_TRUE(all_close(r.out, detail::load_reference(dir, id, "out"), rtol, atol)) << "output";
    for (size_t k = 0; k < r.input_grads.size(); ++k) {
      if (!cases[i].inputs[k].is_floating_point()) continue;
      ASSERT_TRUE(r.input_grads[k].defined()) << "input " << k << " got no gradient";
      EXPECT_TRUE(all_close(r.input_grads[k], detail::load_reference(dir, id, "gin" + std::to_string(k)), rtol, atol))
          << "gradient of input " << k;
    }
    for (const auto& [name, grad] : r.param_grads) {
      const bool torch_has = std::filesystem::exists(dir + "/" + id + "_grad_" + name + ".npy");
      ASSERT_EQ(grad.defined(), torch_has) << "gradient of " << name << " present in only one of cajal and torch";
      if (torch_has) {
        EXPECT_TRUE(all_close(grad, detail::load_reference(dir, id, "grad_" + name), rtol, atol)) << "gradient of " << name;
      }
    }
    for (const auto& [name, t] : r.state_after)
      EXPECT_TRUE(all_close(t, detail::load_reference(dir, id, "after_" + name), rtol, atol)) << "state " << name;
  }
}

}  // namespace cajal::test
