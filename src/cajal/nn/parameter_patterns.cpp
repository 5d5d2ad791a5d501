// Parameters by glob pattern (fnmatch without FNM_PATHNAME, so "*" crosses dots).
#include "cajal/nn/parameter_patterns.h"

#include <fnmatch.h>

namespace cajal::nn {

bool name_matches(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

namespace {

[[noreturn]] void no_match(const std::string& pattern, const Named<Tensor>& all, const char* why) {
  std::string examples;
  for (size_t i = 0; i < all.size() && i < 4; ++i) examples += (i ? ", " : "") + all[i].first;
  fail<ValueError>("the pattern \"", pattern, "\" matches ", why, " (parameters are named like ", examples,
                   all.size() > 4 ? ", ..." : "", ")");
}

size_t set_requires_grad(Module& module, const std::vector<std::string>& patterns, bool on) {
  Named<Tensor> matching = parameters_matching(module, patterns);
  for (auto& entry : matching) entry.second.requires_grad_(on);
  return matching.size();
}

}  // namespace

Named<Tensor> parameters_matching(const Module& module, const std::vector<std::string>& patterns) {
  const Named<Tensor> all = module.named_parameters();
  Named<Tensor> out;
  std::vector<bool> used(patterns.size(), false);
  for (const auto& entry : all) {
    bool taken = false;
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (!name_matches(patterns[i], entry.first)) continue;
      used[i] = true;
      taken = true;
    }
    if (taken) out.push_back(entry);
  }
  for (size_t i = 0; i < patterns.size(); ++i)
    if (!used[i]) no_match(patterns[i], all, "no parameter");
  return out;
}

size_t freeze(Module& module, const std::vector<std::string>& patterns) { return set_requires_grad(module, patterns, false); }
size_t unfreeze(Module& module, const std::vector<std::string>& patterns) { return set_requires_grad(module, patterns, true); }

std::vector<TensorList> group_parameters(const Module& module, const std::vector<std::string>& patterns) {
  const Named<Tensor> all = module.named_parameters();
  std::vector<TensorList> groups(patterns.size() + 1);
  std::vector<bool> used(patterns.size(), false);
  std::vector<bool> matched(patterns.size(), false);
  for (const auto& [name, p] : all) {
    size_t group = patterns.size();
    for (size_t i = 0; i < patterns.size(); ++i) {
      if (!name_matches(patterns[i], name)) continue;
      matched[i] = true;
      if (group == patterns.size()) group = i;
    }
    if (!p.requires_grad()) continue;
    if (group < patterns.size()) used[group] = true;
    groups[group].push_back(p);
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (!matched[i]) no_match(patterns[i], all, "no parameter");
    if (!used[i]) no_match(patterns[i], all, "only parameters that are frozen or taken by an earlier pattern");
  }
  return groups;
}

}  // namespace cajal::nn
