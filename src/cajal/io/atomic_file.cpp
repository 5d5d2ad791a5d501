#include "cajal/io/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cajal/core/error.h"

namespace cajal {

void write_file_atomically(const std::string& path, const std::vector<std::span<const char>>& chunks, const char* who) {
  // The temporary name is unique per process and call, and lies in the same directory as
  // `path`: rename is only atomic within one file system.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail<IOError>(who, ": ", path, ": cannot create temporary file ", tmp, ": ", std::strerror(errno));
  const char* failed = nullptr;  // the step that failed, for the message
  for (std::span<const char> chunk : chunks)
    if (!chunk.empty() && std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) {
      failed = "write";
      break;
    }
  // fflush hands the data to the OS; fsync makes it reach the disk before the rename, so a
  // crash cannot leave `path` naming a file whose data was never written.
  if (!failed && (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0)) failed = "flush";
  int err = errno;
  if (std::fclose(f) != 0 && !failed) {
    failed = "close";
    err = errno;
  }
  if (!failed && std::rename(tmp.c_str(), path.c_str()) != 0) {
    failed = "rename";
    err = errno;
  }
  if (failed) {
    std::remove(tmp.c_str());
    fail<IOError>(who, ": ", path, ": ", failed, " failed: ", std::strerror(err));
  }
}

}  // namespace cajal
