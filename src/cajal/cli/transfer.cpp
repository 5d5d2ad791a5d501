// Transfer learning: init_from, replace_head, freeze and param_groups (cli/transfer.h).
#include "cajal/cli/transfer.h"

#include "cajal/cli/model_file.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/parameter_patterns.h"
#include "cajal/nn/serialize.h"

namespace cajal::cli {

TransferConfig read_transfer(models::Options& root) {
  TransferConfig cfg;
  cfg.init_from = root.get_string("init_from", "");
  if (root.contains("replace_head")) {
    cfg.replace_head = true;
    if (root.is_map("replace_head")) {
      models::Options head = root.get_map("replace_head");
      cfg.head_classes = head.get_int("classes", 0);
      if (cfg.head_classes < 0) head.fail("classes", "must be at least 1");
      head.check_unused();
    } else {
      cfg.replace_head = root.get_bool("replace_head");
    }
  }
  cfg.freeze = root.get_strings("freeze", std::vector<std::string>{});
  for (models::Options& group : root.get_maps("param_groups")) {
    ParamGroupConfig g;
    g.match = group.get_string("match");
    if (group.contains("lr")) g.lr = group.get_float("lr");
    if (group.contains("weight_decay")) g.weight_decay = group.get_float("weight_decay");
    if (g.lr && !(*g.lr > 0)) group.fail("lr", "must be positive");
    if (g.weight_decay && !(*g.weight_decay >= 0)) group.fail("weight_decay", "must not be negative");
    group.check_unused();
    cfg.param_groups.push_back(g);
  }
  return cfg;
}

namespace {

// The last Linear layer in registration order: the head of every preset (and of ResNet, "fc").
std::pair<std::string, std::shared_ptr<nn::LinearImpl>> find_head(const nn::Module& model) {
  std::pair<std::string, std::shared_ptr<nn::LinearImpl>> head;
  for (const auto& [path, module] : model.named_modules())
    if (auto linear = std::dynamic_pointer_cast<nn::LinearImpl>(module)) head = {path, linear};
  if (!head.second) fail<ValueError>("replace_head: the model has no Linear layer to replace");
  return head;
}

void load_pretrained(const std::string& source, nn::Module& model, std::ostream& log) {
  const std::string path = model_file_path(source);
  const nn::LoadResult result = nn::load(model, path, false);
  const size_t total = model.state_dict().size();
  const size_t loaded = total - result.missing_keys.size() - result.mismatched_keys.size();
  if (loaded == 0)
    fail<ValueError>("init_from ", path, ": no tensor of the file fits the model (", result.to_string(), ")");
  log << "init_from " << path << ": loaded " << loaded << " of the model's " << total << " tensors";
  if (!result.all_matched()) log << "; " << result.to_string();
  log << "\n";
}

}  // namespace

std::vector<ParamGroupRequest> prepare_transfer(const TransferConfig& config, nn::Module& model, int64_t classes,
                                                std::ostream& log) {
  if (!config.init_from.empty()) load_pretrained(config.init_from, model, log);
  if (!config.freeze.empty()) {
    const size_t frozen = nn::freeze(model, config.freeze);
    log << "freeze: " << frozen << " parameter tensors (" << model.num_parameters() - model.num_parameters(true) << " of "
        << model.num_parameters() << " values) are frozen\n";
  }
  if (config.replace_head) {
    if (config.head_classes != 0 && config.head_classes != classes)
      fail<ValueError>("replace_head: classes is ", config.head_classes, " but the data has ", classes,
                       " classes (leave it out to use the data's)");
    const auto [path, head] = find_head(model);
    model.replace(path, nn::Linear(head->in_features(), classes));
    log << "replace_head: \"" << path << "\" is a new Linear(" << head->in_features() << ", " << classes << ")\n";
  }
  std::vector<std::string> patterns;
  for (const ParamGroupConfig& g : config.param_groups) patterns.push_back(g.match);
  const std::vector<TensorList> lists = nn::group_parameters(model, patterns);
  std::vector<ParamGroupRequest> groups;
  for (size_t i = 0; i < config.param_groups.size(); ++i)
    groups.push_back({lists[i], config.param_groups[i].lr, config.param_groups[i].weight_decay});
  if (!lists.back().empty()) groups.push_back({lists.back(), {}, {}});
  if (groups.empty()) fail<ValueError>("freeze: every parameter is frozen; nothing would train");
  return groups;
}

}  // namespace cajal::cli
