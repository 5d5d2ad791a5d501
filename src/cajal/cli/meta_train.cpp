// `cajal train` of a `task: maml` config (cli/meta_config.h): meta-training on drawn
// sinusoid tasks, then the evaluation on new tasks the method is judged by.
//
// The run folder holds model.safetensors (the learned initialization, a regression MLP from
// x to y that `cajal predict` runs), metrics.csv (mean meta-loss per log_every iterations),
// evaluation.csv (mean squared error on the new tasks after each number of adaptation
// steps, with its 95% confidence interval) and config.yaml. The run is short (minutes);
// it writes no checkpoints.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cajal/cli/meta_run.h"
#include "cajal/metrics/confidence.h"
#include "cajal/cli/model_file.h"
#include "cajal/io/atomic_file.h"
#include "cajal/io/csv_log.h"
#include "cajal/ops/shape.h"
#include "cajal/ops/loss.h"
#include "cajal/optim/optimizer.h"

namespace cajal::cli {

namespace {

Tensor mse(const Tensor& output, const Tensor& target) { return mse_loss(output, target); }

// The baseline of Finn et al.: one regression step on the points of meta_batch tasks at once.
double pretrain_step(nn::Module& model, optim::Optimizer& optimizer, const std::vector<data::Episode>& tasks) {
  TensorList inputs, targets;
  for (const auto& t : tasks) {
    inputs.insert(inputs.end(), {t.support_input, t.query_input});
    targets.insert(targets.end(), {t.support_target, t.query_target});
  }
  optimizer.zero_grad();
  Tensor loss = mse(model.forward(cat(inputs)), cat(targets));
  loss.backward();
  optimizer.step();
  return loss.item<double>();
}

}  // namespace

int train_meta(const RunConfig& config) {
  const MetaConfig& cfg = config.meta;
  const std::string& out = config.output;
  prepare_run_folder(out);
  manual_seed(config.seed);
  nn::ModulePtr model = models::mlp(1, 1, cfg.model).ptr();
  std::unique_ptr<optim::Optimizer> optimizer = config.optimizer.make(model->parameters());
  const data::SinusoidTasks tasks(cfg.tasks);
  Generator draw(config.seed);
  write_file_atomically(out + "/config.yaml", {config.text}, "cajal train");
  std::cout << "cajal train: " << cfg.method_name() << " on sinusoid tasks, " << cfg.shots << "-shot, MLP "
            << model->num_parameters() << " parameters, " << cfg.iterations << " iterations of " << cfg.meta_batch
            << " tasks; run folder " << out << std::endl;

  CsvLog csv(out + "/metrics.csv");
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0;
  for (int64_t iteration = 1; iteration <= cfg.iterations; ++iteration) {
    std::vector<data::Episode> batch;
    for (int64_t i = 0; i < cfg.meta_batch; ++i) batch.push_back(tasks.draw_episode(cfg.shots, cfg.query, draw));
    double loss;
    if (cfg.pretrain) {
      loss = pretrain_step(*model, *optimizer, batch);
    } else {
      optimizer->zero_grad();
      loss = train::meta_gradient(*model, mse, batch, cfg.meta);
      optimizer->step();
    }
    if (!std::isfinite(loss)) fail<ValueError>("iteration ", iteration, ": the meta-loss is not finite; training diverged");
    loss_sum += loss;
    if (iteration % cfg.log_every == 0 || iteration == cfg.iterations) {
      const int64_t rows = (iteration - 1) % cfg.log_every + 1;
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      csv.log({{"iteration", static_cast<double>(iteration)}, {"meta_loss", loss_sum / static_cast<double>(rows)},
               {"seconds", seconds}});
      std::printf("iteration %lld/%lld: meta_loss %.4f (%.1f s)\n", static_cast<long long>(iteration),
                  static_cast<long long>(cfg.iterations), loss_sum / static_cast<double>(rows), seconds);
      std::fflush(stdout);
      loss_sum = 0;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // New tasks from a stream of their own: adapt on `shots` points, judge on `points` others.
  Generator eval_draw(config.seed + 1000003);
  std::vector<data::Episode> eval_tasks;
  for (int64_t i = 0; i < cfg.eval_tasks; ++i) eval_tasks.push_back(tasks.draw_episode(cfg.shots, cfg.eval_points, eval_draw));
  CsvLog evaluation(out + "/evaluation.csv");
  std::vector<std::pair<std::string, std::string>> recorded{
      {"iterations", std::to_string(cfg.iterations)},
      {"meta_iterations_per_second", format_number(static_cast<double>(cfg.iterations) / seconds)}};
  std::printf("trained %lld iterations in %.1f s (%.1f per second)\n", static_cast<long long>(cfg.iterations), seconds,
              static_cast<double>(cfg.iterations) / seconds);
  for (int64_t steps : cfg.eval_steps) {
    std::vector<double> errors;
    for (const auto& task : eval_tasks) errors.push_back(train::adapted_query_loss(*model, mse, task, steps, cfg.meta.inner_lr));
    const metrics::MeanEstimate e = metrics::mean_with_ci95(errors);
    evaluation.log({{"steps", static_cast<double>(steps)}, {"mse", e.mean}, {"ci95", e.ci95}});
    recorded.emplace_back("test_mse_" + std::to_string(steps) + "_steps", format_number(e.mean));
    std::printf("%lld new tasks, %lld-shot, after %lld steps: mse %.4f +- %.4f (95%% CI)\n",
                static_cast<long long>(cfg.eval_tasks), static_cast<long long>(cfg.shots), static_cast<long long>(steps), e.mean,
                e.ci95);
  }
  ModelInfo info;
  info.model_yaml = "{preset: mlp, options: {hidden: [" ;
  for (size_t i = 0; i < cfg.model.hidden.size(); ++i) info.model_yaml += (i ? ", " : "") + std::to_string(cfg.model.hidden[i]);
  info.model_yaml += "], activation: " + cfg.model.activation + "}}";
  info.input = {.shape = {1}, .num_classes = 1};
  info.classification = false;
  info.metrics = recorded;
  save_model(*model, info, out + "/model.safetensors");
  std::printf("wrote %s/{model.safetensors, metrics.csv, evaluation.csv, config.yaml}\n", out.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace cajal::cli
