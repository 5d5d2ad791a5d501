// `mpirun -np N cajal train` (data-parallel): one run folder written by rank 0, the bytes
// all-reduced per step equal to the gradient's size, mismatched configs refused at start, and
// a rank killed with SIGKILL ends the job within 30 s with a message naming it, leaving a
// checkpoint that resumes on 1 rank and then on 2. Skipped when cajal was built without MPI.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "program.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

#ifdef CAJAL_MPIEXEC
const char* kConfig = R"(data:
  reader: idx
  train: {inputs: train-images.idx, targets: train-labels.idx}
  test: {inputs: test-images.idx, targets: test-labels.idx}
model: {preset: cnn, options: {channels: [8, 16], hidden: 16, dropout: 0}}
optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
epochs: 2
batch_size: 16
num_workers: 0
output: runs/ddp
)";

std::string mpirun(int ranks) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " CAJAL_MPIEXEC " -np " + std::to_string(ranks) +
         " --oversubscribe ";
}

// Runs `mpirun -np ranks cajal ARGS` in dir.
test::ProgramResult run_ranks(const std::string& dir, int ranks, const std::string& args) {
  const std::string command = "cd '" + dir + "' && OMP_NUM_THREADS=1 " + mpirun(ranks) + "'" CAJAL_CLI "' " + args +
                              " > out.txt 2> err.txt";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, test::read_file(dir + "/out.txt"), test::read_file(dir + "/err.txt")};
}

class DistributedProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir();
    test::write_squares(dir_, "train", 640, 5);
    test::write_squares(dir_, "test", 200, 6);
    test::write_text(dir_ + "/ddp.yaml", kConfig);
  }
  std::string dir_;
};

TEST_F(DistributedProgram, TwoRanksTrainOneRun) {
  test::ProgramResult r = run_ranks(dir_, 2, "train ddp.yaml");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // Rank 0 alone prints and writes.
  size_t lines = 0;
  for (size_t at = 0; (at = r.out.find("data-parallel: 2 ranks x batch 16 (global batch 32)", at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, 1u) << r.out;
  EXPECT_TRUE(fs::exists(dir_ + "/runs/ddp/model.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ + "/runs/ddp/last.ckpt"));
  // The cnn preset here has 2,404 parameters: 9,616 bytes of float32 gradient per step.
  EXPECT_NE(r.out.find("data-parallel: 9616 bytes all-reduced per step"), std::string::npos) << r.out;
  // 640 examples: 20 batches of 16 per rank and epoch, as one process's 20 of 32.
  EXPECT_NE(r.out.find("20/20"), std::string::npos) << r.out;
}

TEST_F(DistributedProgram, MismatchedConfigsAreRefused) {
  test::write_text(dir_ + "/other.yaml", std::string(kConfig) + "seed: 4\n");
  const std::string command = "cd '" + dir_ + "' && OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " CAJAL_MPIEXEC
                              " --oversubscribe -np 1 '" CAJAL_CLI "' train ddp.yaml : -np 1 '" CAJAL_CLI
                              "' train other.yaml > out.txt 2> err.txt";
  const int status = std::system(command.c_str());
  EXPECT_NE(WEXITSTATUS(status), 0);
  const std::string err = test::read_file(dir_ + "/err.txt");
  EXPECT_NE(err.find("rank 1 has another config or model than rank 0"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_ + "/runs/ddp/last.ckpt"));
}

// The process of `rank` among this test's cajal processes (from its environment), or 0.
pid_t pid_of_rank(int rank) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline(entry.path() / "cmdline"), environ(entry.path() / "environ");
    std::string command((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    std::string env((std::istreambuf_iterator<char>(environ)), std::istreambuf_iterator<char>());
    if (command.find(CAJAL_CLI) != 0) continue;
    if (env.find(std::string("OMPI_COMM_WORLD_RANK=") + std::to_string(rank) + '\0') != std::string::npos)
      return static_cast<pid_t>(std::stol(name));
  }
  return 0;
}

int epochs_done(const std::string& metrics) {
  int lines = 0;
  for (char c : test::read_file(metrics)) lines += c == '\n';
  return std::max(0, lines - 1);  // the header
}

TEST_F(DistributedProgram, KilledRankStopsTheJobAndTheCheckpointResumes) {
  // A long run, in the background.
  const std::string command = "cd '" + dir_ + "' && (OMP_NUM_THREADS=1 " + mpirun(2) + "'" CAJAL_CLI
                              "' train ddp.yaml --set epochs=400 > out.txt 2> err.txt; echo $? > rc.txt) &";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (epochs_done(dir_ + "/runs/ddp/metrics.csv") < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GE(epochs_done(dir_ + "/runs/ddp/metrics.csv"), 2) << test::read_file(dir_ + "/err.txt");
  const pid_t victim = pid_of_rank(1);
  ASSERT_GT(victim, 0);
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  const auto killed = std::chrono::steady_clock::now();
  while (!fs::exists(dir_ + "/rc.txt") && std::chrono::steady_clock::now() - killed < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(dir_ + "/rc.txt")) << "the job still runs 30 s after rank 1 was killed";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // rc.txt written: the shell's echo is done
  EXPECT_NE(test::read_file(dir_ + "/rc.txt"), "0\n");
  const std::string err = test::read_file(dir_ + "/err.txt");
  EXPECT_NE(err.find("rank 1"), std::string::npos) << err;
  EXPECT_NE(err.find("signal 9"), std::string::npos) << err;

  // The last complete checkpoint resumes: on 1 rank for one more epoch, then on 2 for another.
  const int done = epochs_done(dir_ + "/runs/ddp/metrics.csv");
  test::ProgramResult one = test::cajal(dir_, "train ddp.yaml --resume runs/ddp/last.ckpt --set epochs=" + std::to_string(done + 1));
  ASSERT_EQ(one.code, 0) << one.out << one.err;
  EXPECT_EQ(epochs_done(dir_ + "/runs/ddp/metrics.csv"), done + 1);
  EXPECT_NE(one.out.find("the checkpoint's epochs had 20 batches, this run's have 40"), std::string::npos) << one.out;
  test::ProgramResult two = run_ranks(dir_, 2, "train ddp.yaml --resume runs/ddp/last.ckpt --set epochs=" + std::to_string(done + 2));
  ASSERT_EQ(two.code, 0) << two.out << two.err;
  EXPECT_EQ(epochs_done(dir_ + "/runs/ddp/metrics.csv"), done + 2);
  EXPECT_NE(two.out.find("each epoch's examples are split over 2 ranks"), std::string::npos) << two.out;
  EXPECT_NE(two.out.find("test accuracy"), std::string::npos) << two.out;
}
#else
TEST(DistributedProgram, NeedsMpi) { GTEST_SKIP() << "cajal was built without MPI (CAJAL_WITH_MPI=OFF)"; }
#endif

}  // namespace
}  // namespace cajal
