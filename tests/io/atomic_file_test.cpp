// write_file_atomically: the file holds exactly the chunks, replaces an old file whole, and a
// failed write leaves the old file as it was and no temporary file behind.
#include <filesystem>
#include <fstream>

#include "cajal/io/atomic_file.h"
#include "support/test_support.h"

using namespace cajal;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(AtomicFile, WritesTheChunksInOrder) {
  std::string dir = test::temp_dir(), path = dir + "/out.bin";
  std::string a = "head", b(3, '\0'), c = "tail";
  write_file_atomically(path, {a, {}, b, c}, "test");
  EXPECT_EQ(read_bytes(path), a + b + c);
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.bin"});  // no temporary file left
}

TEST(AtomicFile, ReplacesAnExistingFileWhole) {
  std::string dir = test::temp_dir(), path = dir + "/out.bin";
  write_file_atomically(path, {std::string(1000, 'x')}, "test");
  write_file_atomically(path, {std::string("short")}, "test");
  EXPECT_EQ(read_bytes(path), "short");
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, MissingDirectoryIsAnIOError) {
  std::string dir = test::temp_dir(), path = dir + "/no/such/dir/out.bin";
  test::expect_error<IOError>([&] { write_file_atomically(path, {std::string("x")}, "save_thing"); },
                              {"save_thing: ", path, "cannot create temporary file", "No such file or directory"});
  EXPECT_TRUE(names_in(dir).empty());
}

TEST(AtomicFile, FailedRenameRemovesTheTemporaryFile) {
  // `path` is a non-empty directory: the data is written, then rename cannot replace it.
  std::string dir = test::temp_dir(), path = dir + "/taken";
  fs::create_directories(path + "/inside");
  test::expect_error<IOError>([&] { write_file_atomically(path, {std::string("x")}, "save_thing"); },
                              {"save_thing: ", path, "rename failed"});
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"taken"});
  EXPECT_EQ(names_in(path), std::vector<std::string>{"inside"});
}
