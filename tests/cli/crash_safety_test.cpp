// Crash safety (issue 11): `cajal train` killed with SIGKILL at 200 random moments, while it
// writes its checkpoints and model file too, always leaves a run folder whose last.ckpt loads and
// resumes; a full disk and a read-only run folder end in one error line and leave the previous
// checkpoint as it was. The program runs as a child process (fork, exec), so that the test
// controls the moment of the kill and the limits the child runs under.
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "cajal/io/safetensors.h"
#include "cajal/train/checkpoint.h"
#include "program.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

using Clock = std::chrono::steady_clock;

// A task a tiny MLP learns in a few epochs: is a > b? Six batches of 8 an epoch, and a
// checkpoint after every step, so that a run spends much of its time writing files.
const char* kConfig = R"(data: {reader: csv, train: table.csv, validation_split: 0.25}
model: {preset: mlp, options: {hidden: [8]}}
optimizer: {name: adam, lr: 0.05}
batch_size: 8
num_workers: 0
callbacks: {checkpoint: {every_n_steps: 1}}
output: run
)";

// How the child ended: the exit code, or -1 when a signal ended it (our SIGKILL).
struct Ended {
  int code = -1;
  bool killed = false;
};

class CrashSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir();
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> uniform(-1, 1);
    std::ofstream table(path("table.csv"));
    table << "a,b,label\n";
    for (int i = 0; i < 64; ++i) {
      double a = uniform(rng), b = uniform(rng);
      table << a << "," << b << "," << (a > b) << "\n";
    }
    std::ofstream(path("config.yaml")) << kConfig;
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Starts `cajal ARGS` in the test's folder, on one thread, stdout and stderr kept in out.txt
  // and err.txt; `in_child` runs in the child just before exec (limits, signals). Between fork
  // and exec only async-signal-safe calls are allowed, so everything is prepared before fork.
  pid_t start(const std::vector<std::string>& args, const std::function<void()>& in_child = {}) const {
    std::vector<std::string> words = {CAJAL_CLI};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);
    std::vector<std::string> environment = {"OMP_NUM_THREADS=1"};
    for (char** e = environ; *e; ++e)
      if (!std::string(*e).starts_with("OMP_NUM_THREADS=")) environment.push_back(*e);
    std::vector<char*> envp;
    for (std::string& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
    const std::string out = path("out.txt"), err = path("err.txt");

    pid_t pid = ::fork();
    if (pid == 0) {
      int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o < 0 || e < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0 || ::chdir(dir_.c_str()) != 0) ::_exit(126);
      if (in_child) in_child();
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    EXPECT_GT(pid, 0) << "fork: " << std::strerror(errno);
    return pid;
  }

  static Ended wait_for(pid_t pid) {
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) return {.code = -1, .killed = WTERMSIG(status) == SIGKILL};
    return {.code = WEXITSTATUS(status)};
  }

  Ended run(const std::vector<std::string>& args, const std::function<void()>& in_child = {}) const {
    return wait_for(start(args, in_child));
  }

  // Resumes the run from its last.ckpt, for `more` epochs past the ones the checkpoint finished.
  std::vector<std::string> resume_args(int64_t more) const {
    const int64_t done = train::load_checkpoint(path("run/last.ckpt")).epochs_done;
    return {"train", "config.yaml", "--resume", "run/last.ckpt", "--set", "epochs=" + std::to_string(done + more)};
  }

  std::string err() const { return test::read_file(path("err.txt")); }

  // The temporary files of write_file_atomically in the run folder (names `F.tmp-<pid>-<n>`).
  std::vector<std::string> temporaries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path("run"))) {
      const std::string name = entry.path().filename().string();
      if (name.find(".tmp-") != std::string::npos) names.push_back(name);
    }
    return names;
  }

  std::string dir_;
};

// One line on stderr, `cajal: error: ` and every part, exit code 1.
void expect_one_error(const Ended& ended, const std::string& err, std::initializer_list<std::string> parts) {
  EXPECT_EQ(ended.code, 1) << err;
  EXPECT_TRUE(err.starts_with("cajal: error: ")) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  for (const std::string& part : parts) EXPECT_NE(err.find(part), std::string::npos) << err << " lacks " << part;
}

// The numbers of metrics.csv, by column name, one vector per column, in row order.
std::map<std::string, std::vector<double>> read_metrics(const std::string& file) {
  std::ifstream in(file);
  std::string line, cell;
  std::getline(in, line);
  std::vector<std::string> names;
  for (std::stringstream header(line); std::getline(header, cell, ',');) names.push_back(cell);
  std::map<std::string, std::vector<double>> columns;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    for (const std::string& name : names) {
      std::getline(row, cell, ',');
      columns[name].push_back(std::strtod(cell.c_str(), nullptr));
    }
  }
  return columns;
}

TEST_F(CrashSafety, KilledAt200RandomMomentsTheRunFolderAlwaysResumes) {
  // The seed is printed, and CAJAL_CRASH_SEED=N repeats a run's moments (as far as timing does).
  const char* given = std::getenv("CAJAL_CRASH_SEED");
  const uint32_t seed = given ? static_cast<uint32_t>(std::strtoul(given, nullptr, 10)) : std::random_device{}();
  std::cout << "seed " << seed << " (CAJAL_CRASH_SEED=" << seed << " to repeat)" << std::endl;
  std::mt19937 rng(seed);
  const auto began = Clock::now();

  // A first whole run makes the folder a resume needs (last.ckpt, metrics.csv); a whole resumed
  // run of one epoch, as each killed run is (and past the first run's cold start), measures the
  // span the kills are spread over, startup to exit, so that they land in training, in
  // checkpoint writes and in the model and report writes at the end.
  ASSERT_EQ(run({"train", "config.yaml", "--set", "epochs=1"}).code, 0) << err();
  const auto resumed = Clock::now();
  ASSERT_EQ(run(resume_args(1)).code, 0) << err();
  const double span = std::chrono::duration<double>(Clock::now() - resumed).count();
  ASSERT_NE(test::read_file(path("run/last.ckpt")).find("\"cajal.crc32.data\""), std::string::npos)
      << "without checksums, loading could not tell a partial file from a whole one";
  std::uniform_real_distribution<double> moment(0, span);

  constexpr int kKills = 200;
  int kills = 0, finished = 0, attempts = 0;
  std::map<std::string, int> landed;  // kills that left a temporary file, by the file written
  int64_t step = train::load_checkpoint(path("run/last.ckpt")).step;
  while (kills < kKills) {
    ASSERT_LT(++attempts, 3 * kKills) << "most runs finished before their kill: the span is too long";
    // Each run trains one epoch more and then writes the model and report, so every kind of
    // write comes up again and again.
    const pid_t pid = start(resume_args(1));
    std::this_thread::sleep_for(std::chrono::duration<double>(moment(rng)));
    ::kill(pid, SIGKILL);  // a run that has already exited is a zombie: the kill does nothing
    const Ended ended = wait_for(pid);
    if (ended.killed) {
      ++kills;
      // A temporary file of this process means the kill came between its creation and its rename.
      const std::string mark = ".tmp-" + std::to_string(pid) + "-";
      for (const std::string& name : temporaries())
        if (size_t at = name.find(mark); at != std::string::npos) ++landed[name.substr(0, at)];
    } else {
      ASSERT_EQ(ended.code, 0) << "run " << attempts << " failed after " << kills << " kills: " << err();
      ++finished;
    }
    // Every file the run folder offers loads whole, its checksums agreeing, and the checkpoint
    // never goes back: a resume starts where the last one it could see stopped, or later.
    train::Checkpoint checkpoint;
    ASSERT_NO_THROW(checkpoint = train::load_checkpoint(path("run/last.ckpt"))) << "after kill " << kills;
    EXPECT_GE(checkpoint.step, step) << "after kill " << kills;
    step = checkpoint.step;
    for (const char* name : {"run/best.ckpt", "run/model.safetensors"}) {
      if (fs::exists(path(name))) {
        EXPECT_NO_THROW(load_safetensors(path(name))) << name << " after kill " << kills;
      }
    }
  }

  // At the end the run is let finish: it resumes, exits 0 and has learned the task (in 10
  // epochs at least, however few the kills let through).
  const int64_t done = train::load_checkpoint(path("run/last.ckpt")).epochs_done;
  ASSERT_EQ(run(resume_args(std::max<int64_t>(2, 10 - done))).code, 0) << err();
  const double seconds = std::chrono::duration<double>(Clock::now() - began).count();
  std::map<std::string, std::vector<double>> metrics = read_metrics(path("run/metrics.csv"));
  const std::vector<double>& epochs = metrics["epoch"];
  ASSERT_FALSE(epochs.empty());
  for (size_t i = 0; i < epochs.size(); ++i) EXPECT_EQ(epochs[i], static_cast<double>(i + 1)) << "metrics.csv row " << i;
  EXPECT_EQ(static_cast<int64_t>(epochs.size()), train::load_checkpoint(path("run/last.ckpt")).epochs_done);
  EXPECT_TRUE(std::isfinite(metrics["loss"].back()));
  EXPECT_GE(metrics["val_accuracy"].back(), 0.9);
  EXPECT_NO_THROW(load_safetensors(path("run/model.safetensors")));
  EXPECT_TRUE(temporaries().empty()) << "a killed run's temporary files are removed when training starts again";

  int during_writes = 0;
  std::cout << kills << " kills, " << finished << " runs finished before their kill, " << epochs.size() << " epochs, "
            << seconds << " s; kills during a write, by file:";
  for (const auto& [file, count] : landed) {
    std::cout << " " << file << " " << count;
    during_writes += count;
  }
  std::cout << "; " << during_writes << " in all" << std::endl;
  // The kills must have come during checkpoint writes too, or the test has not tried the moment
  // atomic writes exist for.
  EXPECT_GT(landed["last.ckpt"], 0);
}

// ------------------------------------------------------------------ a full disk

// RLIMIT_FSIZE makes every write past `bytes` of a file fail with EFBIG, as a full disk fails
// with ENOSPC, and works for root too. SIGXFSZ, which would kill the process instead, is ignored
// (an ignored signal stays ignored across exec).
std::function<void()> file_size_limit(rlim_t bytes) {
  return [bytes] {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{bytes, bytes};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(125);
  };
}

TEST_F(CrashSafety, AFullDiskIsOneErrorAndKeepsTheCheckpoint) {
  ASSERT_EQ(run({"train", "config.yaml", "--set", "epochs=1"}).code, 0) << err();
  const std::string before = test::read_file(path("run/last.ckpt"));
  const size_t size = before.size();
  ASSERT_GT(size, 2000u);

  // Room for the run's config.yaml and metrics, not for a checkpoint: the first one fails.
  // (And for the 1 KiB shared-memory file LLVM's OpenMP runtime sizes as it starts, in a clang
  // build: under 1024 bytes it aborts before cajal runs.)
  Ended ended = run(resume_args(1), file_size_limit(2000));
  expect_one_error(ended, err(), {"run/last.ckpt: write failed: File too large"});
  EXPECT_EQ(test::read_file(path("run/last.ckpt")), before) << "the previous checkpoint changed";
  EXPECT_TRUE(temporaries().empty());

  // Room for checkpoints, not for the report written at the end: the run's new checkpoint is whole.
  ended = run(resume_args(1), file_size_limit(size + 100));
  expect_one_error(ended, err(), {"run/report.html: write failed: File too large"});
  EXPECT_EQ(train::load_checkpoint(path("run/last.ckpt")).epochs_done, 2);
  EXPECT_TRUE(temporaries().empty());

  // With room again, the run resumes from it.
  ASSERT_EQ(run(resume_args(1)).code, 0) << err();
  EXPECT_EQ(train::load_checkpoint(path("run/last.ckpt")).epochs_done, 3);
}

// ------------------------------------------------------------------ a read-only run folder

TEST_F(CrashSafety, AReadOnlyRunFolderIsOneErrorAndKeepsTheCheckpoint) {
  ASSERT_EQ(run({"train", "config.yaml", "--set", "epochs=1"}).code, 0) << err();
  const std::string before = test::read_file(path("run/last.ckpt"));
  ASSERT_EQ(::chmod(path("run").c_str(), 0555), 0);
  // Root writes into a 0555 folder through CAP_DAC_OVERRIDE. Dropped from the child's bounding
  // set, it is gone after exec too, so the permissions hold for root as for anyone.
  const bool root = ::geteuid() == 0;
  const Ended ended = run(resume_args(1), [root] {
    if (root && ::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0) ::_exit(125);
  });
  ASSERT_EQ(::chmod(path("run").c_str(), 0755), 0);
  if (ended.code == 125) GTEST_SKIP() << "running as root without CAP_SETPCAP: root cannot be kept out of a 0555 folder";
  expect_one_error(ended, err(), {"run/config.yaml: cannot create temporary file", "Permission denied"});
  EXPECT_EQ(test::read_file(path("run/last.ckpt")), before) << "the previous checkpoint changed";

  // Writable again, the run resumes from it.
  ASSERT_EQ(run(resume_args(1)).code, 0) << err();
  EXPECT_EQ(train::load_checkpoint(path("run/last.ckpt")).epochs_done, 2);
}

}  // namespace
}  // namespace cajal
