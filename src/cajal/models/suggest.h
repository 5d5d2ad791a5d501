#pragma once
// "Did you mean ...?" for names a user typed: config keys, model names, options, layer types.
#include <string>
#include <vector>

namespace cajal::models {

// The Levenshtein distance: the fewest single-character insertions, deletions and
// substitutions that turn `a` into `b`.
size_t edit_distance(const std::string& a, const std::string& b);

// The end of an "unknown ..." message: "; did you mean 'optimizer'?" when one candidate is
// close to `name` (within a third of its length, at least 2 edits), otherwise the list of
// valid names: " (valid: data, model, loss)". Empty candidates give "".
std::string suggest(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace cajal::models
