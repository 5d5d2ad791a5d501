#include "cajal/cli/compress_config.h"

namespace cajal::cli {

std::optional<PruneConfig> read_prune(models::Options& root) {
  if (!root.contains("prune")) return std::nullopt;
  models::Options section = root.get_map("prune");
  PruneConfig cfg;
  compress::PruningOptions& o = cfg.options;
  o.sparsity = section.get_float("sparsity");
  if (!(o.sparsity >= 0 && o.sparsity < 1)) section.fail("sparsity", "must be in [0, 1) (0.8 prunes 80%)");
  cfg.structured = section.get_bool("structured", false);
  const std::string scope = section.get_string("scope", "global", {"global", "layer"});
  o.scope = scope == "layer" ? compress::PruningScope::layer : compress::PruningScope::global;
  o.gradual = section.get_string("schedule", "one_shot", {"one_shot", "polynomial"}) == "polynomial";
  o.ramp = section.get_float("ramp", o.ramp);
  if (!(o.ramp > 0 && o.ramp <= 1)) section.fail("ramp", "must be in (0, 1]: the fraction of the steps over which sparsity rises");
  o.every = section.get_int("every", o.every);
  if (o.every < 1) section.fail("every", "must be at least 1 step");
  if (cfg.structured && (o.gradual || scope != "global"))
    section.fail("structured", "prunes channels once, before training: schedule and scope are for unstructured pruning");
  section.check_unused();
  return cfg;
}

std::optional<DistillConfig> read_distill(models::Options& root) {
  if (!root.contains("distill")) return std::nullopt;
  models::Options section = root.get_map("distill");
  DistillConfig cfg;
  cfg.teacher = section.get_string("teacher");
  cfg.options.temperature = section.get_float("temperature", cfg.options.temperature);
  if (!(cfg.options.temperature > 0)) section.fail("temperature", "must be positive");
  cfg.options.alpha = section.get_float("alpha", cfg.options.alpha);
  if (!(cfg.options.alpha >= 0 && cfg.options.alpha <= 1)) section.fail("alpha", "must be in [0, 1]");
  section.check_unused();
  return cfg;
}

}  // namespace cajal::cli
