#pragma once
// Choosing parameters by name pattern, for transfer learning: freeze a pretrained backbone
// ("features.*"), give the new head its own learning rate ("head.*").
//
// Patterns are shell globs over the dotted names named_parameters gives: "*" matches any
// run of characters, dots included ("*.bias" is every bias), "?" one character.
#include <string>
#include <vector>

#include "cajal/nn/module.h"

namespace cajal::nn {

bool name_matches(const std::string& pattern, const std::string& name);

// The parameters whose names match any of the patterns, in registration order. A pattern
// that matches no parameter is a ValueError naming it (a typo must not freeze nothing).
Named<Tensor> parameters_matching(const Module& module, const std::vector<std::string>& patterns);

// Sets requires_grad to false (freeze) or true (unfreeze) on the matching parameters and
// returns how many there were.
size_t freeze(Module& module, const std::vector<std::string>& patterns);
size_t unfreeze(Module& module, const std::vector<std::string>& patterns);

// The parameters split by pattern, for an optimizer's parameter groups: list i holds those
// whose name matches patterns[i] first (in pattern order), the last list every other one.
// Frozen parameters (requires_grad false) are left out. A pattern that matches nothing,
// or only parameters an earlier pattern took, is a ValueError naming it.
std::vector<TensorList> group_parameters(const Module& module, const std::vector<std::string>& patterns);

}  // namespace cajal::nn
