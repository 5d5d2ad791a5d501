#pragma once
// Running the built `cajal` program (CAJAL_CLI, passed by CMake) from the CLI tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

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

// Runs `cajal ARGS` in `dir` on one thread; its stdout and stderr are kept in dir.
inline ProgramResult cajal(const std::string& dir, const std::string& args) {
  std::string command = "cd '" + dir + "' && OMP_NUM_THREADS=1 '" CAJAL_CLI "' " + args + " > out.txt 2> err.txt";
  int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(dir + "/out.txt"), read_file(dir + "/err.txt")};
}

// Expects a failure: the exit code, and one line on stderr with every part.
inline void expect_failure(const ProgramResult& r, int code, std::initializer_list<std::string> parts) {
  EXPECT_EQ(r.code, code) << r.err;
  EXPECT_TRUE(r.err.starts_with("cajal: error: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const std::string& part : parts) EXPECT_NE(r.err.find(part), std::string::npos) << r.err << " lacks " << part;
}

}  // namespace cajal::test
