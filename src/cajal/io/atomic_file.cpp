#include "cajal/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>

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
  // fflush hands the data to the OS (it writes what stdio buffered, so a full disk often shows
  // here: "write"); fsync makes it reach the disk before the rename, so a crash cannot leave
  // `path` naming a file whose data was never written.
  if (!failed && std::fflush(f) != 0) failed = "write";
  if (!failed && ::fsync(::fileno(f)) != 0) failed = "fsync";
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
  // The rename is an entry of the directory: fsync the directory too, so that after a crash
  // `path` names the new file, not the old one (or none, for a new file).
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0 || ::fsync(fd) != 0) {
    err = errno;
    if (fd >= 0) ::close(fd);
    fail<IOError>(who, ": ", path, ": written, but fsync of its directory failed: ", std::strerror(err));
  }
  ::close(fd);
}

int remove_stale_temporaries(const std::string& dir) {
  // Our names: <name>.tmp-<pid>-<counter>; a file of a process still running is in use.
  static const std::regex ours(R"(.+\.tmp-([0-9]+)-[0-9]+)");
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::smatch match;
    if (!entry.is_regular_file(ec) || !std::regex_match(name, match, ours)) continue;
    const long pid = std::strtol(match[1].str().c_str(), nullptr, 10);
    const bool running = pid != ::getpid() && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
    if (running) continue;  // perhaps still writing it
    removed += std::filesystem::remove(entry.path(), ec);
  }
  return removed;
}

void prepare_run_folder(const std::string& dir, const std::string& subfolder) {
  try {
    std::filesystem::create_directories(subfolder.empty() ? dir : dir + "/" + subfolder);
  } catch (const std::filesystem::filesystem_error& e) {
    fail<IOError>(dir, ": cannot create the run folder (", e.code().message(), ")");
  }
  remove_stale_temporaries(dir);
}

}  // namespace cajal
