#include "cajal/cli/meta_config.h"

namespace cajal::cli {

namespace {

int64_t positive(models::Options& options, const std::string& key, int64_t fallback) {
  const int64_t value = options.get_int(key, fallback);
  if (value < 1) options.fail(key, "must be at least 1, got " + std::to_string(value));
  return value;
}

}  // namespace

MetaConfig read_meta_config(models::Options data, models::Options model, models::Options meta, models::Options evaluation) {
  MetaConfig cfg;
  data.get_string("reader", "sinusoid", {"sinusoid"});
  cfg.shots = positive(data, "shots", cfg.shots);
  cfg.query = positive(data, "query", cfg.query);
  cfg.tasks.amplitude_min = data.get_float("amplitude_min", cfg.tasks.amplitude_min);
  cfg.tasks.amplitude_max = data.get_float("amplitude_max", cfg.tasks.amplitude_max);
  cfg.tasks.phase_max = data.get_float("phase_max", cfg.tasks.phase_max);
  data.check_unused();
  data::SinusoidTasks check(cfg.tasks);  // a ValueError naming a bad range

  cfg.model.hidden = model.get_ints("hidden", cfg.model.hidden);
  cfg.model.activation = model.get_string("activation", cfg.model.activation);
  for (int64_t units : cfg.model.hidden)
    if (units < 1) model.fail("hidden", "sizes must be at least 1");
  model.check_unused();

  const std::string method = meta.get_string("method", "maml", {"maml", "fomaml", "reptile", "pretrain"});
  cfg.pretrain = method == "pretrain";
  if (!cfg.pretrain) cfg.meta.method = train::parse_meta_method(method);
  cfg.meta.inner_steps = positive(meta, "inner_steps", cfg.meta.inner_steps);
  cfg.meta.inner_lr = meta.get_float("inner_lr", cfg.meta.inner_lr);
  if (!(cfg.meta.inner_lr > 0)) meta.fail("inner_lr", "must be positive");
  cfg.meta_batch = positive(meta, "meta_batch", cfg.meta_batch);
  cfg.iterations = positive(meta, "iterations", cfg.iterations);
  cfg.log_every = positive(meta, "log_every", cfg.log_every);
  meta.check_unused();

  cfg.eval_tasks = positive(evaluation, "tasks", cfg.eval_tasks);
  cfg.eval_points = positive(evaluation, "points", cfg.eval_points);
  cfg.eval_steps = evaluation.get_ints("steps", cfg.eval_steps);
  for (int64_t steps : cfg.eval_steps)
    if (steps < 0) evaluation.fail("steps", "must not be negative");
  evaluation.check_unused();
  return cfg;
}

FewShotConfig read_few_shot_config(models::Options model, models::Options few_shot) {
  FewShotConfig cfg;
  cfg.model.channels = positive(model, "channels", cfg.model.channels);
  cfg.model.blocks = positive(model, "blocks", cfg.model.blocks);
  model.check_unused();
  cfg.train_classes = few_shot.get_ints("train_classes", cfg.train_classes);
  cfg.test_classes = few_shot.get_ints("test_classes", cfg.test_classes);
  cfg.episode.ways = positive(few_shot, "ways", cfg.episode.ways);
  cfg.episode.shots = positive(few_shot, "shots", cfg.episode.shots);
  cfg.episode.queries = positive(few_shot, "queries", cfg.episode.queries);
  cfg.episodes = positive(few_shot, "episodes", cfg.episodes);
  cfg.test_episodes = positive(few_shot, "test_episodes", cfg.test_episodes);
  cfg.log_every = positive(few_shot, "log_every", cfg.log_every);
  cfg.test_shots = few_shot.get_ints("test_shots", cfg.test_shots);
  for (int64_t shots : cfg.test_shots)
    if (shots < 1) few_shot.fail("test_shots", "must be at least 1");
  for (const auto* classes : {&cfg.train_classes, &cfg.test_classes}) {
    if (static_cast<int64_t>(classes->size()) < cfg.episode.ways)
      few_shot.fail(classes == &cfg.train_classes ? "train_classes" : "test_classes",
                    "lists fewer classes than an episode's " + std::to_string(cfg.episode.ways) + " ways");
  }
  few_shot.check_unused();
  return cfg;
}

SimclrConfig read_simclr_config(models::Options simclr) {
  SimclrConfig cfg;
  cfg.temperature = simclr.get_float("temperature", cfg.temperature);
  if (!(cfg.temperature > 0)) simclr.fail("temperature", "must be positive");
  cfg.projection = positive(simclr, "projection", cfg.projection);
  simclr.check_unused();
  return cfg;
}

AutoencoderConfig read_autoencoder_config(models::Options autoencoder) {
  AutoencoderConfig cfg;
  cfg.noise = autoencoder.get_float("noise", cfg.noise);
  cfg.mask = autoencoder.get_float("mask", cfg.mask);
  if (!(cfg.noise >= 0)) autoencoder.fail("noise", "must not be negative");
  if (!(cfg.mask >= 0 && cfg.mask < 1)) autoencoder.fail("mask", "must be in [0, 1)");
  autoencoder.check_unused();
  return cfg;
}

}  // namespace cajal::cli
