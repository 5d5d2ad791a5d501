#include "cajal/train/checkpoint.h"

#include <charconv>
#include <cstring>

#include "cajal/nn/serialize.h"

namespace cajal::train {

namespace {

constexpr const char* kFormat = "cajal.checkpoint";
constexpr const char* kVersion = "1";

// The parts of a checkpoint and the prefix each is stored under.
struct Part {
  const char* prefix;
  NamedTensors Checkpoint::*tensors;
};
constexpr Part kParts[] = {
    {"model.", &Checkpoint::model},
    {"optimizer.", &Checkpoint::optimizer},
    {"scheduler.", &Checkpoint::scheduler},
    {"state.", &Checkpoint::state},
};
constexpr const char* kRngName = "rng.default";

// A metadata counter: a decimal integer >= 0.
int64_t read_counter(const SafetensorsMetadata& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  if (it == metadata.end()) fail<IOError>("load_checkpoint: ", path, ": the metadata has no \"", key, "\"");
  const std::string& text = it->second;
  int64_t value = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0)
    fail<IOError>("load_checkpoint: ", path, ": metadata \"", key, "\" is \"", text,
                  "\", expected a non-negative integer");
  return value;
}

Tensor rng_tensor(const std::array<uint64_t, 5>& words) {
  Tensor t = make_tensor({5}, DType::i64);
  std::memcpy(t.raw_data(), words.data(), sizeof(words));
  return t;
}

std::array<uint64_t, 5> rng_words(const Tensor& t, const std::string& path) {
  if (t.dtype() != DType::i64 || t.sizes() != Dims{5})
    fail<IOError>("load_checkpoint: ", path, ": \"", kRngName, "\" must be an int64 tensor of shape [5], got ",
                  dtype_name(t.dtype()), " ", t.sizes());
  std::array<uint64_t, 5> words;
  std::memcpy(words.data(), t.contiguous().raw_data(), sizeof(words));
  return words;
}

}  // namespace

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  NamedTensors tensors;
  for (const Part& part : kParts)
    for (const auto& [name, t] : checkpoint.*part.tensors) tensors.emplace_back(part.prefix + name, t);
  tensors.emplace_back(kRngName, rng_tensor(checkpoint.rng));
  SafetensorsMetadata metadata = {
      {"format", kFormat},
      {"version", kVersion},
      {"epochs_done", std::to_string(checkpoint.epochs_done)},
      {"batches_done", std::to_string(checkpoint.batches_done)},
      {"step", std::to_string(checkpoint.step)},
      {"batches_per_epoch", std::to_string(checkpoint.batches_per_epoch)},
      {"epoch_start_step", std::to_string(checkpoint.epoch_start_step)},
      {"config", checkpoint.config},
  };
  save_safetensors(tensors, path, metadata, /*checksum=*/true);
}

Checkpoint load_checkpoint(const std::string& path) {
  SafetensorsMetadata metadata = load_safetensors_metadata(path);
  auto format = metadata.find("format");
  if (format == metadata.end() || format->second != kFormat)
    fail<IOError>("load_checkpoint: ", path, ": not a cajal checkpoint (its metadata has no \"format\": \"", kFormat,
                  "\"; a weights-only file loads with nn::load)");
  if (metadata["version"] != kVersion)
    fail<IOError>("load_checkpoint: ", path, ": checkpoint version \"", metadata["version"], "\" is not supported (this build reads version ",
                  kVersion, ")");

  Checkpoint checkpoint;
  checkpoint.epochs_done = read_counter(metadata, "epochs_done", path);
  checkpoint.batches_done = read_counter(metadata, "batches_done", path);
  checkpoint.step = read_counter(metadata, "step", path);
  if (metadata.contains("batches_per_epoch")) {
    checkpoint.batches_per_epoch = read_counter(metadata, "batches_per_epoch", path);
    checkpoint.epoch_start_step = read_counter(metadata, "epoch_start_step", path);
  } else {
    checkpoint.epoch_start_step = checkpoint.step - checkpoint.batches_done;
  }
  checkpoint.config = metadata["config"];

  bool has_rng = false;
  for (auto& [name, t] : load_safetensors(path)) {
    if (name == kRngName) {
      checkpoint.rng = rng_words(t, path);
      has_rng = true;
      continue;
    }
    const Part* part = nullptr;
    for (const Part& p : kParts)
      if (name.starts_with(p.prefix)) part = &p;
    if (!part)
      fail<IOError>("load_checkpoint: ", path, ": tensor \"", name,
                    "\" is under no known prefix (model., optimizer., scheduler., state., rng.)");
    (checkpoint.*part->tensors).emplace_back(name.substr(std::strlen(part->prefix)), std::move(t));
  }
  if (!has_rng) fail<IOError>("load_checkpoint: ", path, ": the checkpoint has no \"", kRngName, "\" tensor");
  return checkpoint;
}

void load_model_from_checkpoint(nn::Module& model, const std::string& path) {
  nn::load_state_dict(model, load_checkpoint(path).model, true, "load_checkpoint: " + path + ": the checkpoint's model");
}

}  // namespace cajal::train
