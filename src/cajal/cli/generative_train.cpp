// `cajal train` of a `task: vae` or `task: gan` config: cli/generative_run.h.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cajal/autograd/grad_mode.h"
#include "cajal/cli/data_config.h"
#include "cajal/cli/generative_eval.h"
#include "cajal/cli/generative_run.h"
#include "cajal/core/error.h"
#include "cajal/core/generator.h"
#include "cajal/data/image.h"
#include "cajal/io/atomic_file.h"
#include "cajal/io/tensorboard.h"
#include "cajal/nn/serialize.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/train/checkpoint.h"
#include "cajal/train/progress.h"

namespace cajal::cli {

namespace {

constexpr int64_t kGridRows = 8;
constexpr int64_t kEntropySamples = 1000;

// The optimizers of a run: one for a VAE; the generator's and the discriminator's for a GAN.
struct Optimizers {
  std::unique_ptr<optim::Optimizer> main, discriminator;

  NamedTensors state_dict() const {
    if (!discriminator) return main->state_dict();
    NamedTensors state;
    for (auto& [name, t] : main->state_dict()) state.emplace_back("generator." + name, t);
    for (auto& [name, t] : discriminator->state_dict()) state.emplace_back("discriminator." + name, t);
    return state;
  }
  void load_state_dict(const NamedTensors& state, const std::string& path) {
    if (!discriminator) return main->load_state_dict(state);
    NamedTensors g, d;
    for (const auto& [name, t] : state) {
      if (name.starts_with("generator.")) g.emplace_back(name.substr(10), t);
      else if (name.starts_with("discriminator.")) d.emplace_back(name.substr(14), t);
      else fail<IOError>(path, ": optimizer state '", name, "' belongs to neither the generator nor the discriminator");
    }
    main->load_state_dict(g);
    discriminator->load_state_dict(d);
  }
};

Optimizers make_optimizers(const RunConfig& config, const GenerativeModel& model) {
  Optimizers optimizers;
  if (model.vae) {
    optimizers.main = config.optimizer.make(model.vae->parameters());
    return optimizers;
  }
  optimizers.main = config.optimizer.make(model.generator->parameters());
  optimizers.discriminator = config.optimizer.make(model.discriminator->parameters());
  if (config.generative.generator_lr > 0) optimizers.main->param_group(0).lr = config.generative.generator_lr;
  if (config.generative.discriminator_lr > 0) optimizers.discriminator->param_group(0).lr = config.generative.discriminator_lr;
  return optimizers;
}

// Sums of per-batch values over an epoch, for its means.
struct EpochSums {
  train::Logs sums;
  int64_t batches = 0;
  void add(const NamedValues& values) {
    for (const auto& [name, value] : values) sums.set(name, (sums.contains(name) ? sums.get(name, "") : 0.0) + value);
    ++batches;
  }
  train::Logs means() const {
    train::Logs out;
    for (const auto& [name, value] : sums) out.set(name, value / static_cast<double>(std::max<int64_t>(batches, 1)));
    return out;
  }
};

NamedValues vae_step(const GenerativeModel& model, optim::Optimizer& optimizer, const data::Batch& batch, double beta) {
  const Tensor labels = model.config.conditional ? batch.target : Tensor();
  models::ElboTerms terms = models::elbo_terms(*model.vae, batch.input, labels);
  Tensor loss = models::vae_loss(terms, beta);
  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  const double reconstruction = terms.reconstruction.mean().item(), kl = terms.kl.mean().item();
  return {{"loss", loss.item()}, {"reconstruction", reconstruction}, {"kl", kl}, {"neg_elbo", reconstruction + kl}};
}

NamedValues gan_step(const GenerativeModel& model, Optimizers& optimizers, const data::Batch& batch) {
  const GenerativeConfig& config = model.config;
  const Tensor labels = config.conditional ? batch.target : Tensor();
  auto discriminate = [&](const Tensor& images) {
    return labels.defined() ? model.discriminator->forward(images, labels) : model.discriminator->forward(images);
  };
  const Tensor real = batch.input * 2.0 - 1.0;  // the generator's range, [-1, 1]
  const Tensor fake = model.generator->sample(real.size(0), labels);
  // D learns to tell real from generated; detach(): the generator gets no gradient from it.
  const Tensor real_logits = discriminate(real), fake_logits = discriminate(fake.detach());
  Tensor d_loss = models::discriminator_loss(real_logits, fake_logits, config.loss, config.label_smoothing);
  optimizers.discriminator->zero_grad();
  d_loss.backward();
  optimizers.discriminator->step();
  // G learns to make D call its images real.
  Tensor g_loss = models::generator_loss(discriminate(fake), config.loss);
  optimizers.main->zero_grad();
  g_loss.backward();
  optimizers.main->step();
  const bool probabilities = config.loss == models::GANLoss::NonSaturating;
  NoGradGuard no_grad;
  auto mean_output = [&](const Tensor& logits) { return (probabilities ? sigmoid(logits) : logits).mean().item(); };
  return {{"d_loss", d_loss.item()}, {"g_loss", g_loss.item()}, {"real_score", mean_output(real_logits)}, {"fake_score", mean_output(fake_logits)}};
}

void save_run_checkpoint(const GenerativeModel& model, const Optimizers& optimizers, int64_t epochs_done, int64_t step,
                         const RunConfig& config) {
  train::Checkpoint checkpoint;
  checkpoint.model = model.module->state_dict();
  checkpoint.optimizer = optimizers.state_dict();
  checkpoint.rng = default_generator().state();
  checkpoint.epochs_done = epochs_done;
  checkpoint.step = step;
  checkpoint.config = config.text;
  train::save_checkpoint(checkpoint, config.output + "/last.ckpt");
}

// The epochs a resumed run has done; the model, optimizers and default generator restored.
int64_t restore(const std::string& path, const GenerativeModel& model, Optimizers& optimizers, int64_t& step) {
  train::Checkpoint checkpoint = train::load_checkpoint(path);
  if (checkpoint.batches_done != 0) fail<IOError>(path, ": written in the middle of an epoch; generative runs resume at epoch ends");
  nn::load_state_dict(*model.module, checkpoint.model, true, path + ": the model");
  optimizers.load_state_dict(checkpoint.optimizer, path);
  default_generator().set_state(checkpoint.rng);
  step = checkpoint.step;
  return checkpoint.epochs_done;
}

// metrics.csv's rows as the report takes them.
std::vector<NamedValues> rows_of(const CsvLog& log) {
  std::vector<NamedValues> rows;
  for (const auto& cells : log.rows()) {
    NamedValues row;
    for (size_t c = 0; c < cells.size(); ++c)
      if (cells[c]) row.emplace_back(log.columns()[c], *cells[c]);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

int train_generative(const RunConfig& config, const std::string& resume) {
  const GenerativeConfig& gen_config = config.generative;
  const std::string& out = config.output;
  Prepared data = prepare_data(config.data, config.seed);
  prepare_run_folder(out, "samples");
  // Before the seed: training a missing classifier first draws from the default generator.
  const std::optional<FeatureClassifier> classifier =
      config.task == "gan" ? resolve_feature_classifier(out, config.evaluation, data.input.shape) : std::nullopt;
  manual_seed(config.seed);
  const int64_t classes = data.classification ? data.input.num_classes : 0;
  GenerativeModel model = build_generative_model(gen_config, data.input.shape, classes, data.class_names);
  Optimizers optimizers = make_optimizers(config, model);
  // Whole batches only: batch norm needs more than one example, and every step sees as many.
  data::DataLoader loader(data.train, {.batch_size = config.batch_size, .shuffle = true, .drop_last = true,
                                       .num_workers = config.num_workers, .seed = config.seed});
  if (loader.num_batches() == 0) {
    fail<ValueError>(config.path, ": the training split has ", data.train->size(), " images, fewer than one batch (batch_size ",
                     config.batch_size, ")");
  }
  const data::Batch reference = whole_dataset(data.test ? *data.test : *data.train);
  if (model.generator && !classifier) {
    std::cout << "note: no evaluation.classifier: the run gets no Fréchet distance, class entropy or collapse check by class"
              << std::endl;
  }

  int64_t first_epoch = 1, step = 0;
  if (!resume.empty()) first_epoch = restore(resume, model, optimizers, step) + 1;
  CsvLog csv = first_epoch > 1 ? CsvLog::resume(out + "/metrics.csv", static_cast<size_t>(first_epoch - 1)) : CsvLog(out + "/metrics.csv");
  SummaryWriter events(out);
  write_file_atomically(out + "/config.yaml", {config.text}, "cajal train");
  std::cout << "cajal train: " << gen_config.describe() << " (" << model.module->num_parameters() << " parameters) on "
            << data.train->size() << " images; run folder " << out << std::endl;

  const int64_t batches = loader.num_batches();
  const double warmup_steps = gen_config.kl_warmup_epochs * static_cast<double>(batches);
  const bool interactive = isatty(STDOUT_FILENO) != 0;
  std::vector<int64_t> collapsed_epochs;
  auto start = std::chrono::steady_clock::now();
  for (int64_t epoch = first_epoch; epoch <= config.epochs; ++epoch) {
    loader.set_epoch(epoch - 1);
    model.module->train();
    EpochSums sums;
    const auto epoch_start = std::chrono::steady_clock::now();
    double beta = gen_config.beta;
    for (const data::Batch& batch : loader) {
      if (model.vae) {
        beta = gen_config.beta * (warmup_steps > 0 ? std::min(1.0, static_cast<double>(step) / warmup_steps) : 1.0);
        sums.add(vae_step(model, *optimizers.main, batch, beta));
      } else {
        sums.add(gan_step(model, optimizers, batch));
      }
      ++step;
      if (interactive) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
        train::BatchProgress progress{.epoch = epoch, .epochs = config.epochs, .batches_done = sums.batches, .batches = batches,
                                      .samples_done = sums.batches * config.batch_size, .seconds = seconds,
                                      .batches_timed = sums.batches};
        std::cout << "\r\033[K" << train::progress_line(progress, sums.means()) << std::flush;
      }
    }
    if (interactive) std::cout << "\r\033[K";
    train::Logs logs = sums.means();
    if (!std::isfinite(logs.begin()->second)) fail<ValueError>("epoch ", epoch, ": the loss is not finite; training diverged");
    std::string collapse;
    if (model.vae) {
      logs.set("beta", beta);
      Generator gen(config.seed);
      logs.set("test_neg_elbo", negative_elbo(*model.vae, reference, gen_config.conditional, gen));
    } else {
      double entropy = std::numeric_limits<double>::quiet_NaN();
      if (classifier) entropy = sample_class_entropy(model, *classifier, kEntropySamples, config.seed);
      if (classifier) logs.set("class_entropy", entropy);
      collapse = collapse_reason(entropy, logs.get("d_loss", ""), logs.get("g_loss", ""), gen_config.loss, config.evaluation);
      logs.set("collapse", collapse.empty() ? 0 : 1);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    std::cout << train::epoch_summary(epoch, config.epochs, logs, seconds) << std::endl;
    if (!collapse.empty()) {
      std::cout << "warning: epoch " << epoch << ": the GAN looks collapsed: " << collapse << std::endl;
      collapsed_epochs.push_back(epoch);
    }
    NamedValues row{{"epoch", static_cast<double>(epoch)}};
    for (const auto& entry : logs) row.push_back(entry);
    csv.log(row);
    for (const auto& [name, value] : logs) events.add_scalar("epoch/" + name, value, epoch);
    Generator noise(config.seed + 1);  // the same noise every epoch: the grids show progress
    const int64_t columns = model.conditional_classes() > 0 ? model.conditional_classes() : 8;  // a column per class
    data::write_png(data::image_grid(model.sample_grid(kGridRows * columns, &noise), columns),
                    out + "/samples/epoch_" + std::to_string(epoch) + ".png");
    save_run_checkpoint(model, optimizers, epoch, step, config);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  NamedValues final_metrics;
  if (model.vae) final_metrics = evaluate_vae(model, reference, config.evaluation, config.seed);
  else if (classifier) final_metrics = evaluate_gan(model, *classifier, reference, config.evaluation, config.seed);
  std::vector<std::pair<std::string, std::string>> recorded{{"epochs", std::to_string(config.epochs)},
                                                            {"train_seconds", format_number(seconds)}};
  for (const auto& [name, value] : final_metrics) recorded.emplace_back(name, format_number(value));
  save_generative_model(model, model_config_yaml(config.text), recorded, out + "/model.safetensors");
  write_generative_report({.config = &config, .model = &model, .history = rows_of(csv), .final_metrics = final_metrics,
                           .test = &reference, .seconds = seconds},
                          out + "/report.html");

  std::printf("trained %lld epochs in %.1f s", static_cast<long long>(config.epochs - first_epoch + 1), seconds);
  for (const auto& [name, value] : final_metrics) std::printf("; %s %.4f", name.c_str(), value);
  std::printf("\nwrote %s/{model.safetensors, last.ckpt, metrics.csv, report.html, samples/epoch_*.png, events.out.tfevents.*}\n",
              out.c_str());
  if (!collapsed_epochs.empty()) {
    std::printf("warning: the GAN looked collapsed after %zu of its epochs (the last: %lld); see metrics.csv's collapse column "
                "and report.html\n",
                collapsed_epochs.size(), static_cast<long long>(collapsed_epochs.back()));
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace cajal::cli
