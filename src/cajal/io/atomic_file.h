#pragma once
// Atomic file writes: a reader (or a crash) sees either the old file or the whole new one,
// never half of one. Every file cajal saves (weights, checkpoints, .npy) goes through here.
#include <span>
#include <string>
#include <vector>

namespace cajal {

// Writes `chunks`, one after another, to a temporary file `path.tmp-<pid>-<n>` in the
// directory of `path`, flushes it to disk (fsync of the file), renames it over `path`, then
// fsyncs the directory, so that the rename itself survives a crash. On any failure before the
// rename the temporary file is removed, `path` is left as it was, and an IOError names `who`
// (the operation, e.g. "save_npy"), the path, the step that failed and the system's reason.
void write_file_atomically(const std::string& path, const std::vector<std::span<const char>>& chunks, const char* who);

// Removes the temporary files of write_file_atomically that a killed process left in `dir`
// (names `*.tmp-<pid>-<n>` of no running process other than this one); other files are not
// touched. Returns how many it removed; a missing folder has none.
int remove_stale_temporaries(const std::string& dir);

// Makes `dir` (and `dir/subfolder` when given) for a run's files, then removes the stale
// temporaries a killed earlier run left there. An IOError names `dir` when it cannot be made.
void prepare_run_folder(const std::string& dir, const std::string& subfolder = "");

}  // namespace cajal
