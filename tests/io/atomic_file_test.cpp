// write_file_atomically: the file holds exactly the chunks, replaces an old file whole, and a
// failed write leaves the old file as it was and no temporary file behind.
#include <dlfcn.h>
#include <sys/stat.h>

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

// What fsync was called on, in order: "file", or "dir" with whether `g_watched` held its new
// contents by then (the rename done).
std::vector<std::string> g_fsyncs;
std::string g_watched;

}  // namespace

// This test program's fsync (it takes the C library's place for the code linked in) records
// each call, then does the real one.
extern "C" int fsync(int fd) {
  using Fsync = int (*)(int);
  static const auto real = reinterpret_cast<Fsync>(dlsym(RTLD_NEXT, "fsync"));
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    g_fsyncs.push_back(S_ISDIR(st.st_mode) ? "dir " + std::string(read_bytes(g_watched) == "new" ? "after rename" : "before rename")
                                           : "file");
  }
  return real(fd);
}

TEST(AtomicFile, FsyncsTheFileThenItsDirectory) {
  std::string dir = test::temp_dir();
  g_watched = dir + "/out.bin";
  write_file_atomically(g_watched, {std::string("old")}, "test");
  g_fsyncs.clear();
  write_file_atomically(g_watched, {std::string("new")}, "test");
  EXPECT_EQ(g_fsyncs, (std::vector<std::string>{"file", "dir after rename"}));
}

TEST(AtomicFile, RemovesOnlyStaleTemporaries) {
  std::string dir = test::temp_dir();
  const std::string mine = "a.bin.tmp-" + std::to_string(::getpid()) + "-3";  // this process: not writing it now
  const std::string running = "b.bin.tmp-1-0";                                // pid 1 runs: in use
  const std::string dead = "last.ckpt.tmp-999999999-12";
  for (const std::string& name : {mine, running, dead, std::string("c.tmp-5"), std::string("d.tmp-5-6.keep"), std::string("e.bin")})
    write_file_atomically(dir + "/" + name, {std::string("x")}, "test");
  EXPECT_EQ(remove_stale_temporaries(dir), 2);
  EXPECT_EQ(names_in(dir), (std::vector<std::string>{"b.bin.tmp-1-0", "c.tmp-5", "d.tmp-5-6.keep", "e.bin"}));
  EXPECT_EQ(remove_stale_temporaries(dir + "/absent"), 0);
}

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
