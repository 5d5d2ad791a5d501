#pragma once
// Saving and loading a module's weights as a safetensors file, under PyTorch's state_dict
// names, so files move between cajal and PyTorch (and Hugging Face):
//   nn::save(*model, "model.safetensors");
//   nn::load(*model, "model.safetensors");            // every key must match
//   auto r = nn::load(*backbone, "pretrained.safetensors", false);  // load what matches
#include <string>
#include <vector>

#include "cajal/io/safetensors.h"
#include "cajal/nn/module.h"

namespace cajal::nn {

// How a file's tensors matched a module's state_dict.
struct LoadResult {
  std::vector<std::string> missing_keys;     // in the module, not in the file
  std::vector<std::string> unexpected_keys;  // in the file, not in the module
  Named<std::string> mismatched_keys;        // in both, with a different shape or dtype: (key, what differs)

  bool all_matched() const { return missing_keys.empty() && unexpected_keys.empty() && mismatched_keys.empty(); }
  // "missing keys: a, b; unexpected keys: c; mismatched: fc.weight (shape [2, 3] in the file, ...)";
  // each list names its first 8 keys, then "and N more".
  std::string to_string() const;
};

// Writes module.state_dict() (parameters and buffers) atomically. `metadata` goes into the
// header; "format": "pt" is added unless given, as PyTorch's safetensors writers do (the
// names and layouts are PyTorch's), since Hugging Face's loaders look for it. The file carries
// checksums of its header and data (save_safetensors), so damage is reported, not loaded.
void save(const Module& module, const std::string& path, SafetensorsMetadata metadata = {});

// Copies the file's tensors into the module's existing parameters and buffers, in place and
// without recording history, so optimizers that hold them keep working. A tensor loads into
// one of the same shape and dtype; between floating dtypes (f32, f64, bf16) values convert,
// any other dtype difference (an int64 counter stored as float) is a mismatch.
// strict: any missing, unexpected or mismatched key is an IOError listing them all, and the
// module is left untouched. Not strict: every matching tensor loads; the rest is reported.
LoadResult load(Module& module, const std::string& path, bool strict = true);

// The same from tensors already in memory (a checkpoint's "model." part, say). `what` names
// them in the strict error: "<what> does not match the module: missing keys: ...".
LoadResult load_state_dict(Module& module, const NamedTensors& tensors, bool strict = true,
                           const std::string& what = "nn::load_state_dict: the state_dict");

// The same for a module held by a pointer or a holder: nn::save(model, path).
inline void save(const ModulePtr& module, const std::string& path, SafetensorsMetadata metadata = {}) {
  save(*module, path, std::move(metadata));
}
inline LoadResult load(const ModulePtr& module, const std::string& path, bool strict = true) {
  return load(*module, path, strict);
}

}  // namespace cajal::nn
