#pragma once
// Atomic file writes: a reader (or a crash) sees either the old file or the whole new one,
// never half of one. Every file cajal saves (weights, checkpoints, .npy) goes through here.
#include <span>
#include <string>
#include <vector>

namespace cajal {

// Writes `chunks`, one after another, to a temporary file in the directory of `path`,
// flushes it to disk (fsync), then renames it over `path`. On any failure the temporary
// file is removed, `path` is left as it was, and an IOError names `who` (the operation, e.g.
// "save_npy"), the path, the step that failed and the system's reason.
void write_file_atomically(const std::string& path, const std::vector<std::span<const char>>& chunks, const char* who);

}  // namespace cajal
