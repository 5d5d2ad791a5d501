#pragma once
// Inputs cajal reads (data, models, configs) must be regular files: a device such as
// /dev/zero never ends, a FIFO blocks until something writes to it, a folder holds no data.
#include <string>

namespace cajal {

// An IOError "<who>path: not a regular file (a folder)" (or "a device, pipe or socket") when `path` names
// something other than a regular file (symbolic links are followed). A missing path passes:
// opening it reports that, in the caller's words. `who` prefixes the message ("load_csv: ").
void refuse_special_file(const std::string& path, const std::string& who = "");

}  // namespace cajal
