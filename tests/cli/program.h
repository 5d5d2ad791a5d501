#pragma once
// Running the built `cajal` program (CAJAL_CLI, passed by CMake) from the CLI tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

namespace cajal::test {

struct ProgramResult {
  int code = -1;
  std::string out, err;
};

inline std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// An IDX file of uint8 values: magic 0 0 8 <dims>, big-endian sizes, then the bytes.
inline void write_idx(const std::string& path, const std::vector<int64_t>& dims, const std::vector<uint8_t>& values) {
  std::ofstream file(path, std::ios::binary);
  file.put(0).put(0).put(8).put(static_cast<char>(dims.size()));
  for (int64_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) file.put(static_cast<char>((d >> shift) & 0xff));
  }
  file.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size()));
}

// n 8x8 images of 4 classes: a bright 3x3 square in the quadrant of the class, over noise.
inline void write_squares(const std::string& dir, const std::string& name, int64_t n, uint32_t seed) {
  std::vector<uint8_t> images, labels;
  uint32_t state = seed;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  for (int64_t i = 0; i < n; ++i) {
    int label = static_cast<int>((next() >> 16) % 4);
    int top = (label / 2) * 4 + static_cast<int>((next() >> 16) % 2), left = (label % 2) * 4 + static_cast<int>((next() >> 16) % 2);
    for (int r = 0; r < 8; ++r) {
      for (int c = 0; c < 8; ++c) {
        bool in_square = r >= top && r < top + 3 && c >= left && c < left + 3;
        images.push_back(static_cast<uint8_t>(in_square ? 200 + (next() >> 16) % 56 : (next() >> 16) % 60));
      }
    }
    labels.push_back(static_cast<uint8_t>(label));
  }
  write_idx(dir + "/" + name + "-images.idx", {n, 8, 8}, images);
  write_idx(dir + "/" + name + "-labels.idx", {n}, labels);
}

// Runs `cajal ARGS` in `dir` on one thread, after the shell commands `setup`; its stdout and
// stderr are kept in dir.
inline ProgramResult run_cajal(const std::string& dir, const std::string& setup, const std::string& args) {
  std::string command = "cd '" + dir + "' && " + setup + "OMP_NUM_THREADS=1 '" CAJAL_CLI "' " + args + " > out.txt 2> err.txt";
  int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(dir + "/out.txt"), read_file(dir + "/err.txt")};
}

inline ProgramResult cajal(const std::string& dir, const std::string& args) { return run_cajal(dir, "", args); }

// The same within `memory_mib` MiB of address space and `seconds` of wall time, for hostile
// inputs: one that is not refused early runs out of memory or is killed (code 137), instead
// of taking the machine's memory or the suite's time.
// AddressSanitizer reserves terabytes of address space, so under it (make test-sanitize) no
// ulimit -v can hold; its own limits bound the program instead: one allocation at most
// `memory_mib`, and twice that resident (its shadow memory included).
#if defined(__SANITIZE_ADDRESS__)  // GCC
#define CAJAL_TEST_UNDER_ASAN 1
#elif defined(__has_feature)      // clang
#if __has_feature(address_sanitizer)
#define CAJAL_TEST_UNDER_ASAN 1
#endif
#endif
inline ProgramResult cajal_within(const std::string& dir, const std::string& args, int memory_mib, int seconds) {
  std::string timeout = "exec timeout -s KILL " + std::to_string(seconds) + " env ";
#ifdef CAJAL_TEST_UNDER_ASAN
  return run_cajal(dir, timeout + "ASAN_OPTIONS=max_allocation_size_mb=" + std::to_string(memory_mib) +
                            ":hard_rss_limit_mb=" + std::to_string(2 * memory_mib) + " ", args);
#else
  return run_cajal(dir, "ulimit -v " + std::to_string(memory_mib * 1024) + " && " + timeout, args);
#endif
}

// Expects a failure: the exit code, and one line on stderr with every part.
inline void expect_failure(const ProgramResult& r, int code, std::initializer_list<std::string> parts) {
  EXPECT_EQ(r.code, code) << r.err;
  EXPECT_TRUE(r.err.starts_with("cajal: error: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const std::string& part : parts) EXPECT_NE(r.err.find(part), std::string::npos) << r.err << " lacks " << part;
}

}  // namespace cajal::test
