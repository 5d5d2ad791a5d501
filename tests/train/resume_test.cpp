// Resuming: a run killed (SIGKILL) in the middle of an epoch and resumed from its last
// checkpoint ends bit-identical to a run that was never interrupted: weights, optimizer and
// scheduler state, generator, callbacks' state, history and metrics.csv.
//
// The killed run is a child process: this same test executable, started again with
// CAJAL_TRAIN_RESUME_CHILD=<dir> and filtered to ResumeChild.DISABLED_TrainsUntilKilled (a
// disabled test, so it runs only when asked for). It trains until step kKillAtStep, says so
// with a file, and waits to be killed.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cajal/optim/optim.h"
#include "support/test_support.h"
#include "train/train_fixtures.h"

extern char** environ;

namespace cajal {
namespace {

constexpr const char* kChildEnv = "CAJAL_TRAIN_RESUME_CHILD";
constexpr int64_t kEpochs = 3;
constexpr int64_t kBatchesPerEpoch = 5;  // 80 examples in batches of 16
constexpr int64_t kCheckpointEvery = 3;  // steps
constexpr int64_t kKillAtStep = 7;       // epoch 2, batch 2; the last checkpoint is step 6's

// One training run, built the same way in every process: augmented, shuffled data loaded by
// two workers; an MLP with dropout and batch norm; Adam with a one-cycle schedule stepped per
// batch; gradient clipping; checkpoints every few steps; early stopping (state that must
// survive) and a CSV log.
struct TrainingRun {
  explicit TrainingRun(const std::string& dir) {
    manual_seed(11);
    auto jitter = [](data::Example e, Generator& gen) {
      e.input = e.input + randn(e.input.sizes(), {}, &gen) * 0.1;
      return e;
    };
    train_loader = std::make_unique<data::DataLoader>(
        data::transform(test::blobs(80, 1), jitter, 5),
        data::LoaderOptions{.batch_size = 16, .shuffle = true, .num_workers = 2, .seed = 3});
    val_loader = std::make_unique<data::DataLoader>(test::blobs(32, 2), data::LoaderOptions{.batch_size = 16});
    model = test::blob_mlp(16, 0.3);
    optimizer = std::make_unique<optim::Adam>(model->parameters(), optim::AdamOptions{.lr = 0.01});
    auto scheduler = std::make_shared<optim::OneCycleLR>(
        *optimizer, optim::OneCycleLROptions{.max_lr = {0.05}, .total_steps = kEpochs * kBatchesPerEpoch});
    trainer = std::make_unique<train::Trainer>(
        model, test::cross_entropy_loss, *optimizer,
        train::TrainerOptions{.scheduler = scheduler, .scheduler_interval = train::Interval::step,
                              .clip_grad_norm = 1.0, .progress = false, .config = "resume test"});
    trainer->add_callback(std::make_shared<train::ModelCheckpoint>(
        dir, train::ModelCheckpointOptions{.every_n_steps = kCheckpointEvery}));
    trainer->add_callback(std::make_shared<train::EarlyStopping>(
        train::EarlyStoppingOptions{.patience = 100, .restore_best_weights = true}));
    trainer->add_callback(std::make_shared<train::CSVLogger>(dir + "/metrics.csv"));
  }

  std::vector<train::Logs> fit(const std::string& resume_from = "") {
    return trainer->fit(*train_loader, val_loader.get(), kEpochs, resume_from);
  }

  std::unique_ptr<data::DataLoader> train_loader, val_loader;
  nn::ModulePtr model;
  std::unique_ptr<optim::Adam> optimizer;
  std::unique_ptr<train::Trainer> trainer;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

NamedTensors sorted(NamedTensors t) {
  std::sort(t.begin(), t.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  return t;
}

// Both checkpoints hold the same thing, bit for bit (config and counters too).
void expect_same_checkpoint(const std::string& a_path, const std::string& b_path) {
  const train::Checkpoint a = train::load_checkpoint(a_path), b = train::load_checkpoint(b_path);
  EXPECT_TRUE(test::bit_identical(sorted(a.model), sorted(b.model))) << "model";
  EXPECT_TRUE(test::bit_identical(sorted(a.optimizer), sorted(b.optimizer))) << "optimizer";
  EXPECT_TRUE(test::bit_identical(sorted(a.scheduler), sorted(b.scheduler))) << "scheduler";
  EXPECT_TRUE(test::bit_identical(sorted(a.state), sorted(b.state))) << "trainer state";
  EXPECT_EQ(a.rng, b.rng);
  EXPECT_EQ(a.epochs_done, b.epochs_done);
  EXPECT_EQ(a.batches_done, b.batches_done);
  EXPECT_EQ(a.step, b.step);
}

void expect_same_history(const std::vector<train::Logs>& a, const std::vector<train::Logs>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e].names(), b[e].names());
    for (const auto& [name, value] : a[e]) EXPECT_EQ(value, b[e].get(name, "test")) << name << ", epoch " << e + 1;
  }
}

// The uninterrupted run, once per test program.
struct Reference {
  std::string dir = test::temp_dir();
  std::vector<train::Logs> history;
  NamedTensors weights;
  std::array<uint64_t, 5> rng;
};
const Reference& reference() {
  static const Reference ref = [] {
    Reference r;
    TrainingRun run(r.dir);
    r.history = run.fit();
    r.weights = test::weights_of(*run.model);
    r.rng = default_generator().state();
    return r;
  }();
  return ref;
}

// Call right after the resumed fit (the generator's state is compared).
void expect_same_as_reference(TrainingRun& resumed, const std::vector<train::Logs>& history, const std::string& dir) {
  const std::array<uint64_t, 5> rng = default_generator().state();
  const Reference& ref = reference();
  ASSERT_EQ(ref.history.size(), static_cast<size_t>(kEpochs));
  EXPECT_TRUE(test::bit_identical(test::weights_of(*resumed.model), ref.weights));
  EXPECT_EQ(rng, ref.rng);
  expect_same_history(history, ref.history);
  expect_same_checkpoint(dir + "/last.ckpt", ref.dir + "/last.ckpt");
  expect_same_checkpoint(dir + "/best.ckpt", ref.dir + "/best.ckpt");
  EXPECT_EQ(read_text(dir + "/metrics.csv"), read_text(ref.dir + "/metrics.csv"));
}

// Starts this executable again as the child that trains until killed; its output goes to
// `dir`/child.log.
pid_t spawn_child(const std::string& dir) {
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe");
  std::string filter = "--gtest_filter=ResumeChild.DISABLED_TrainsUntilKilled";
  std::string disabled = "--gtest_also_run_disabled_tests";
  std::string env = std::string(kChildEnv) + "=" + dir;
  std::vector<char*> argv = {const_cast<char*>(exe.c_str()), filter.data(), disabled.data(), nullptr};
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(env.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = dir + "/child.log";
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) ADD_FAILURE() << "posix_spawn " << exe << ": " << std::strerror(error);
  return error == 0 ? pid : -1;
}

// The child's part: train, and at step kKillAtStep write `dir`/ready and wait to be killed.
TEST(ResumeChild, DISABLED_TrainsUntilKilled) {
  const char* dir = std::getenv(kChildEnv);
  if (!dir) GTEST_SKIP() << "runs only as the child of Resume.KilledMidEpochEndsBitIdentical";
  struct WaitForKill : train::Callback {
    explicit WaitForKill(std::string marker) : marker(std::move(marker)) {}
    void on_batch_end(int64_t step, const train::Logs&) override {
      if (step != kKillAtStep) return;
      std::ofstream(marker) << step;
      // Killed long before this ends; exit anyway rather than linger if the parent is gone.
      std::this_thread::sleep_for(std::chrono::seconds(120));
      std::_Exit(3);
    }
    std::string marker;
  };
  TrainingRun run(dir);
  run.trainer->add_callback(std::make_shared<WaitForKill>(std::string(dir) + "/ready"));
  run.fit();
  ADD_FAILURE() << "training ended without being killed";
}

TEST(Resume, KilledMidEpochEndsBitIdentical) {
  const std::string dir = test::temp_dir();
  const pid_t pid = spawn_child(dir);
  ASSERT_GT(pid, 0);
  int status = 0;
  bool ready = false;
  for (int i = 0; i < 6000 && !ready; ++i) {  // up to 60 s
    ready = std::filesystem::exists(dir + "/ready");
    if (!ready && waitpid(pid, &status, WNOHANG) == pid)
      FAIL() << "the child exited (status " << status << ") before step " << kKillAtStep << ":\n"
             << read_text(dir + "/child.log");
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(ready) << "the child did not reach step " << kKillAtStep << ":\n" << read_text(dir + "/child.log");
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;

  // The last checkpoint is step 6's: one batch into epoch 2.
  const train::Checkpoint killed = train::load_checkpoint(dir + "/last.ckpt");
  EXPECT_EQ(killed.step, 6);
  EXPECT_EQ(killed.epochs_done, 1);
  EXPECT_EQ(killed.batches_done, 1);
  EXPECT_EQ(killed.config, "resume test");

  manual_seed(12345);  // whatever the generator holds now, the checkpoint's state wins
  TrainingRun resumed(dir);
  const std::vector<train::Logs> history = resumed.fit(dir + "/last.ckpt");
  EXPECT_EQ(resumed.trainer->state().step, kEpochs * kBatchesPerEpoch);
  expect_same_as_reference(resumed, history, dir);
}

// A checkpoint from the end of an epoch resumes at the next epoch's first batch.
TEST(Resume, FromTheEndOfAnEpoch) {
  const std::string dir = test::temp_dir();
  {
    TrainingRun first(dir);
    first.trainer->fit(*first.train_loader, first.val_loader.get(), 1);
  }
  const train::Checkpoint after_one = train::load_checkpoint(dir + "/last.ckpt");
  EXPECT_EQ(after_one.epochs_done, 1);
  EXPECT_EQ(after_one.batches_done, 0);

  TrainingRun resumed(dir);
  const std::vector<train::Logs> history = resumed.fit(dir + "/last.ckpt");
  expect_same_as_reference(resumed, history, dir);
}

// Epochs of another size (data-parallel training resumed on another number of ranks): a
// checkpoint from an epoch's end resumes with its step count kept, one from the middle of an
// epoch is refused with the reason.
TEST(Resume, EpochsOfAnotherSizeOnlyFromAnEpochsEnd) {
  const std::string dir = test::temp_dir();
  manual_seed(11);
  auto model = test::blob_mlp(16, 0.3);
  optim::Adam opt(model->parameters(), {.lr = 0.01});
  {
    train::Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
    trainer.add_callback(std::make_shared<train::ModelCheckpoint>(
        dir, train::ModelCheckpointOptions{.monitor = "loss", .every_n_steps = 3}));
    auto loader = data::DataLoader(test::blobs(80, 1), {.batch_size = 16});  // 5 batches per epoch
    trainer.fit(loader, nullptr, 1);  // last.ckpt: the end of epoch 1, step 5
    std::filesystem::copy_file(dir + "/last.ckpt", dir + "/epoch_end.ckpt");
    // Step 9's last.ckpt is mid-epoch; kept as it is before the epoch's end (step 10) replaces it.
    struct KeepStep9 : train::Callback {
      std::string dir;
      void on_batch_end(int64_t step, const train::Logs&) override {
        if (step == 10) std::filesystem::copy_file(dir + "/last.ckpt", dir + "/mid.ckpt");
      }
    };
    auto keep = std::make_shared<KeepStep9>();
    keep->dir = dir;
    trainer.add_callback(keep);
    trainer.fit(loader, nullptr, 2, dir + "/epoch_end.ckpt");
  }
  const train::Checkpoint mid = train::load_checkpoint(dir + "/mid.ckpt");
  ASSERT_GT(mid.batches_done, 0);
  EXPECT_EQ(mid.batches_per_epoch, 5);
  train::Trainer halves(model, test::cross_entropy_loss, opt, {.progress = false});
  auto smaller = data::DataLoader(test::blobs(80, 1), {.batch_size = 8});  // 10 batches per epoch
  halves.fit(smaller, nullptr, 2, dir + "/epoch_end.ckpt");
  EXPECT_EQ(halves.state().step, 5 + 10);
  test::expect_error<ValueError>([&] { halves.fit(smaller, nullptr, 3, dir + "/mid.ckpt"); },
                                 {"written in the middle of an epoch of 5 batches, but an epoch here has 10",
                                  "resume from a checkpoint written at an epoch's end"});
}

// A checkpoint from a run with a scheduler cannot resume a trainer without one.
TEST(Resume, MismatchedSetupIsAClearError) {
  const Reference& ref = reference();
  manual_seed(11);
  auto model = test::blob_mlp(16, 0.3);
  optim::Adam opt(model->parameters(), {.lr = 0.01});
  train::Trainer trainer(model, test::cross_entropy_loss, opt, {.progress = false});
  auto loader = data::DataLoader(test::blobs(80, 1), {.batch_size = 16});
  test::expect_error<ValueError>([&] { trainer.fit(loader, nullptr, 5, ref.dir + "/last.ckpt"); },
                                 {"Trainer::fit: resume_from ", "last.ckpt: the checkpoint has a scheduler state but the "
                                                                "trainer has no scheduler"});
  auto other = nn::Sequential(nn::Linear(2, 3));
  optim::Adam other_opt(other->parameters(), {.lr = 0.01});
  train::Trainer other_trainer(other, test::cross_entropy_loss, other_opt,
                               {.scheduler = std::make_shared<optim::StepLR>(other_opt, 2), .progress = false});
  test::expect_error<IOError>([&] { other_trainer.fit(loader, nullptr, 5, ref.dir + "/last.ckpt"); },
                              {"the checkpoint's model does not match the module: "});
}

}  // namespace
}  // namespace cajal
