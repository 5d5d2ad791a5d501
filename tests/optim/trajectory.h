#pragma once
// Shared by the optimizer and scheduler tests: a tiny model, and trajectory cases compared
// step by step with PyTorch (tests/reference/optim_reference.py).
//
// A case names a PyTorch optimizer (and scheduler) as a Python expression beside the cajal
// code that builds the same thing; both train the same two-layer tanh MLP from the same
// initial weights, and every parameter value, learning rate and momentum is compared after
// every step.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cajal/optim/optim.h"
#include "support/test_support.h"

namespace cajal::test {

// Builds the optimizer for the parameters {w1, b1, w2, b2}.
using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(const TensorList& params)>;
// Builds the scheduler and returns what steps it once per training step (given the step
// index) and returns get_last_lr().
using SchedulerStep = std::function<std::vector<double>(int step)>;
using MakeScheduler = std::function<SchedulerStep(optim::Optimizer& opt)>;

struct TrajectoryCase {
  std::string id;
  DType dtype;
  std::string torch_optimizer;  // Python, with params, g0 = (w1, b1), g1 = (w2, b2) in scope
  MakeOptimizer make_optimizer;
  std::string torch_scheduler = "";  // Python, with opt in scope; empty for none
  MakeScheduler make_scheduler = nullptr;
  int64_t hidden = 8;  // hidden units (8200 puts w1 above the parallel grain)
  int steps = 50;
};

inline std::string dtype_tag(DType d) { return d == DType::f32 ? "float32" : "float64"; }

// The metric ReduceLROnPlateau cases step with: falls, then wanders.
inline double plateau_metric(int step) { return 1.0 / (1.0 + 0.3 * step) + 0.05 * std::sin(1.7 * step); }

// The fixed data and initial weights, float64 (cast for float32 cases).
struct ModelData {
  Tensor x, t;
  TensorList init;  // w1, b1, w2, b2
};

inline const ModelData& model_data(int64_t hidden) {
  static std::map<int64_t, ModelData> cache;
  auto it = cache.find(hidden);
  if (it != cache.end()) return it->second;
  NormalSampler normal(20240605 + static_cast<unsigned>(hidden));
  TensorOptions f64{.dtype = DType::f64};
  ModelData d;
  d.x = normal({16, 4}, f64);
  d.t = normal({16, 3}, f64) * 0.5;
  double scale = 1.0 / std::sqrt(static_cast<double>(hidden));
  d.init = {normal({4, hidden}, f64) * 0.5, normal({hidden}, f64) * 0.1, normal({hidden, 3}, f64) * scale,
            normal({3}, f64) * 0.1};
  return cache.emplace(hidden, d).first->second;
}

// The loss of the test model.
inline Tensor mlp_loss(const TensorList& p, const Tensor& x, const Tensor& t) {
  Tensor y = matmul(tanh(matmul(x, p[0]) + p[1]), p[2]) + p[3];
  return mean(square(y - t));
}

// Fresh leaf parameters holding the initial weights in `dtype`.
inline TensorList initial_params(int64_t hidden, DType dtype) {
  TensorList params;
  for (const Tensor& w : model_data(hidden).init) params.push_back(w.to(dtype).clone().requires_grad_());
  return params;
}

// Writes the inputs and the case list, runs PyTorch once for all cases, returns the directory.
inline std::string run_torch(const std::vector<TrajectoryCase>& cases) {
  std::string dir = temp_dir();
  std::ofstream list(dir + "/cases.txt");
  std::vector<double> metric;
  for (int i = 0; i < 200; ++i) metric.push_back(plateau_metric(i));
  save_npy(from_vector(metric), dir + "/metric.npy");
  for (DType dtype : {DType::f32, DType::f64}) {
    std::string tag = dtype_tag(dtype);
    save_npy(model_data(8).x.to(dtype), dir + "/x_" + tag + ".npy");
    save_npy(model_data(8).t.to(dtype), dir + "/t_" + tag + ".npy");
  }
  for (const TrajectoryCase& c : cases) {
    const ModelData& data = model_data(c.hidden);
    for (size_t k = 0; k < 4; ++k)
      save_npy(data.init[k].to(c.dtype),
               dir + "/init_" + dtype_tag(c.dtype) + "_" + std::to_string(c.hidden) + "_" + std::to_string(k) + ".npy");
    list << c.id << '|' << dtype_tag(c.dtype) << '|' << c.hidden << '|' << c.steps << '|' << c.torch_optimizer << '|'
         << c.torch_scheduler << '\n';
  }
  list.close();
  run_reference("optim_reference.py", dir);
  return dir;
}

// The momentum-like coefficient of each group (NaN where the optimizer has none).
inline std::vector<double> momenta(optim::Optimizer& opt) {
  std::vector<double> out;
  for (size_t g = 0; g < opt.num_param_groups(); ++g) {
    double* m = opt.param_group(g).momentum;
    out.push_back(m ? *m : std::nan(""));
  }
  return out;
}

// One row of a [steps, n] reference array as a tensor.
inline Tensor row(const Tensor& table, int step) { return table.select(0, step); }

// Trains with cajal and compares every step with PyTorch's recorded trajectory.
inline void expect_trajectory(const TrajectoryCase& c, const std::string& torch_dir) {
  Tensor ref_params = load_npy(torch_dir + "/" + c.id + "_params.npy");
  Tensor ref_lr = load_npy(torch_dir + "/" + c.id + "_lr.npy");
  Tensor ref_momentum = load_npy(torch_dir + "/" + c.id + "_momentum.npy");
  Tensor x = model_data(8).x.to(c.dtype), t = model_data(8).t.to(c.dtype);
  TensorList params = initial_params(c.hidden, c.dtype);
  std::unique_ptr<optim::Optimizer> opt = c.make_optimizer(params);
  SchedulerStep scheduler_step = c.make_scheduler ? c.make_scheduler(*opt) : nullptr;

  bool f32 = c.dtype == DType::f32;
  double rtol = f32 ? 1e-5 : 1e-10, atol = f32 ? 1e-6 : 1e-12;  // atol: elements passing near zero
  for (int step = 0; step < c.steps; ++step) {
    auto closure = [&] {
      opt->zero_grad();
      Tensor loss = mlp_loss(params, x, t);
      loss.backward();
      return loss;
    };
    if (opt->name() == "LBFGS") {
      opt->step(closure);
    } else {
      closure();
      opt->step();
    }
    std::vector<double> last_lr;
    if (scheduler_step) last_lr = scheduler_step(step);

    TensorList flat;
    for (const Tensor& p : params) flat.push_back(p.detach().reshape({-1}));
    ASSERT_TRUE(all_close(cat(flat), row(ref_params, step), rtol, atol)) << c.id << ": parameters after step " << step + 1;
    std::vector<double> lrs;
    for (size_t g = 0; g < opt->num_param_groups(); ++g) lrs.push_back(opt->param_group(g).lr);
    ASSERT_TRUE(all_close(from_vector(lrs), row(ref_lr, step), 1e-12, 0)) << c.id << ": lr after step " << step + 1;
    if (scheduler_step) {
      ASSERT_TRUE(all_close(from_vector(last_lr), row(ref_lr, step), 1e-12, 0)) << c.id << ": get_last_lr after step " << step + 1;
    }
    ASSERT_TRUE(all_close(from_vector(momenta(*opt)), row(ref_momentum, step), 1e-12, 0))
        << c.id << ": momentum after step " << step + 1;
  }
}

}  // namespace cajal::test
