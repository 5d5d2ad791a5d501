#include "cajal/models/suggest.h"

#include <algorithm>
#include <numeric>

namespace cajal::models {

size_t edit_distance(const std::string& a, const std::string& b) {
  // One row of the dynamic-programming table at a time: row[j] is the distance between the
  // first i characters of a and the first j of b.
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];  // distance(a[:i-1], b[:j-1])
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggest(const std::string& name, const std::vector<std::string>& candidates) {
  if (candidates.empty()) return "";
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    size_t d = edit_distance(name, candidate);
    if (!best || d < best_distance) {
      best = &candidate;
      best_distance = d;
    }
  }
  if (best_distance <= std::max<size_t>(2, name.size() / 3)) return "; did you mean '" + *best + "'?";
  std::string list;
  for (const std::string& candidate : candidates) list += (list.empty() ? "" : ", ") + candidate;
  return " (valid: " + list + ")";
}

}  // namespace cajal::models
