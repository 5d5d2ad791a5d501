#include "cajal/nn/serialize.h"

#include <algorithm>
#include <map>
#include <set>

#include "cajal/autograd/grad_mode.h"

namespace cajal::nn {

namespace {

// The first kKeysListed keys, then how many more: a file of a million names makes a
// message of one line, not megabytes.
constexpr size_t kKeysListed = 8;

std::string joined(const std::vector<std::string>& keys) {
  std::string s;
  for (size_t i = 0; i < std::min(keys.size(), kKeysListed); ++i) s += (i ? ", " : "") + keys[i];
  if (keys.size() > kKeysListed) s += " and " + std::to_string(keys.size() - kKeysListed) + " more";
  return s;
}

// Why `value` (from the file) cannot load into `target` (the module's), or "" when it can.
std::string mismatch(const Tensor& value, const Tensor& target) {
  if (value.sizes() != target.sizes())
    return detail::concat("shape ", value.sizes(), " in the file, ", target.sizes(), " in the module");
  if (value.dtype() != target.dtype() && !(value.is_floating_point() && target.is_floating_point()))
    return detail::concat(dtype_name(value.dtype()), " in the file, ", dtype_name(target.dtype()),
                          " in the module (only floating dtypes convert)");
  return "";
}

}  // namespace

std::string LoadResult::to_string() const {
  std::vector<std::string> parts;
  if (!missing_keys.empty()) parts.push_back("missing keys: " + joined(missing_keys));
  if (!unexpected_keys.empty()) parts.push_back("unexpected keys: " + joined(unexpected_keys));
  if (!mismatched_keys.empty()) {
    std::vector<std::string> items;
    for (const auto& [key, why] : mismatched_keys) items.push_back(key + " (" + why + ")");
    parts.push_back("mismatched: " + joined(items));
  }
  if (parts.empty()) return "all keys matched";
  std::string s;
  for (const std::string& p : parts) s += (s.empty() ? "" : "; ") + p;
  return s;
}

void save(const Module& module, const std::string& path, SafetensorsMetadata metadata) {
  metadata.try_emplace("format", "pt");
  save_safetensors(module.state_dict(), path, metadata, /*checksum=*/true);
}

LoadResult load(Module& module, const std::string& path, bool strict) {
  return load_state_dict(module, load_safetensors(path), strict, "nn::load: " + path + ": the file");
}

LoadResult load_state_dict(Module& module, const NamedTensors& file, bool strict, const std::string& what) {
  std::map<std::string, const Tensor*> in_file;
  for (const auto& [name, t] : file) in_file[name] = &t;

  // Match everything first, so that a strict failure changes nothing.
  LoadResult result;
  std::vector<std::pair<Tensor, const Tensor*>> copies;  // (the module's tensor, the file's)
  std::set<std::string> used;
  for (const auto& [name, target] : module.state_dict()) {
    auto it = in_file.find(name);
    if (it == in_file.end()) {
      result.missing_keys.push_back(name);
      continue;
    }
    used.insert(name);
    std::string why = mismatch(*it->second, target);
    if (why.empty())
      copies.emplace_back(target, it->second);
    else
      result.mismatched_keys.emplace_back(name, why);
  }
  for (const auto& [name, t] : file)
    if (!used.count(name)) result.unexpected_keys.push_back(name);
  if (strict && !result.all_matched())
    fail<IOError>(what, " does not match the module: ", result.to_string());

  // state_dict's tensors share data with the module's: copying into them loads the module.
  NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(*value);
  return result;
}

}  // namespace cajal::nn
