#pragma once
// YAML from files cajal did not write (configs, --set values, model files' metadata), read
// with yaml-cpp after a first pass over its events that refuses what yaml-cpp accepts
// silently or pays for later:
//
//  - aliases that copy more than kMaxAliasedValues values in all ("billion laughs": a
//    1 KB file whose nested aliases stand for 10^9 values, which every walk of the tree
//    visits one by one);
//  - a key given twice in one map (yaml-cpp keeps both and lookups see only one).
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

namespace cajal::cli {

// Values that aliases may stand for, counted with the aliases inside what they copy.
inline constexpr uint64_t kMaxAliasedValues = 10'000;

// The first document of `text`. A ValueError starts with `name`, the line and the column:
// "config.yaml:3:5: duplicate key 'lr' (first given on line 2)".
YAML::Node load_yaml(const std::string& text, const std::string& name);

}  // namespace cajal::cli
