#pragma once
// Training checkpoints: everything a run needs to continue exactly where it stopped, in one
// safetensors file (readable by any safetensors tool):
//
//   tensors   "model.<name>"       the model's state_dict (parameters and buffers)
//             "optimizer.<name>"   the optimizer's state_dict (moments, step counts, groups)
//             "scheduler.<name>"   the learning-rate scheduler's counters (when there is one)
//             "rng.default"        the default generator's state (dropout masks, random init):
//                                  five uint64 words stored bit for bit as int64
//             "state.<name>"       the trainer's running state: the current epoch's metric
//                                  sums and each callback's state (early stopping's best, ...)
//   metadata  "format": "cajal.checkpoint", "version": "1",
//             "epochs_done", "batches_done", "step" (decimal integers) and "config" (the run's
//             configuration text, for the record), and the checksums of header and data
//             (save_safetensors' "cajal.crc32.*"), so a damaged checkpoint is reported, not resumed
//
// Where the run stands: `epochs_done` whole epochs are finished, and `batches_done` batches of
// the next epoch too (0 when the checkpoint was written at the end of an epoch). The data
// loader's order is a function of the seed and the epoch, so these two numbers and the
// generator state are all it takes to resume at the very next batch, bit for bit.
#include <array>
#include <cstdint>
#include <string>

#include "cajal/io/safetensors.h"
#include "cajal/nn/module.h"

namespace cajal::train {

struct Checkpoint {
  NamedTensors model;      // names without the "model." prefix, as state_dict() gives them
  NamedTensors optimizer;  // likewise without "optimizer."
  NamedTensors scheduler;  // empty when the run has no scheduler
  NamedTensors state;      // the trainer's running state, without "state."
  std::array<uint64_t, 5> rng{};
  int64_t epochs_done = 0;
  int64_t batches_done = 0;
  int64_t step = 0;  // optimizer steps taken since the run began
  // Batches per epoch of the run that wrote it and the step its current epoch began at (0 and
  // step - batches_done in files from before they were kept): a run resumed on another number
  // of ranks has other epochs, so the step is checked against the epoch's own start.
  int64_t batches_per_epoch = 0;
  int64_t epoch_start_step = 0;
  std::string config;
};

// Writes the checkpoint atomically: a reader (or a crash) sees the old file or the new one.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

// Reads a checkpoint; an IOError names the file and what is wrong (not a checkpoint, an
// unknown version, a malformed counter, a tensor under an unknown prefix, ...).
Checkpoint load_checkpoint(const std::string& path);

// Loads only the model's weights from a checkpoint (for evaluation or export); the module must
// match the checkpoint's "model." tensors exactly (an IOError lists what differs).
void load_model_from_checkpoint(nn::Module& model, const std::string& path);

}  // namespace cajal::train
