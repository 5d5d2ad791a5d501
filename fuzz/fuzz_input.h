#pragma once
// Shared by the libFuzzer harnesses (one per format of outside data). cajal's readers take a
// path, so a harness writes the fuzzer's bytes to a file of its own and calls the reader on
// it. A cajal::Error is the reader refusing bad input, which is what it should do; anything
// else is a finding: a crash or sanitizer report, another exception (it escapes and aborts),
// a leak, a timeout, or memory beyond -rss_limit_mb / -malloc_limit_mb.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "cajal/core/error.h"

namespace cajal::fuzz {

// Writes `size` bytes to `name` in this process's folder (in memory when /dev/shm exists).
inline std::string input_file(const uint8_t* data, size_t size, const std::string& name) {
  static const std::string folder = [] {
    std::string root = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string path = root + "/cajal-fuzz-" + std::to_string(getpid());
    mkdir(path.c_str(), 0700);
    return path;
  }();
  std::string path = folder + "/" + name;
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) std::abort();  // the harness's own folder must be writable
  if (size > 0) std::fwrite(data, 1, size, file);
  std::fclose(file);
  return path;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs one read; a cajal::Error (the input refused with a message) is a pass.
template <typename Read>
void refuse_or_read(Read&& read) {
  try {
    read();
  } catch (const cajal::Error&) {
  }
}

}  // namespace cajal::fuzz
