// Resident memory over a long training run (issue 11, "no leaks, no growth"). Trains a
// config the way `cajal train` does (the CLI's data, model, optimizer, schedule and
// callbacks, into a run folder) for a fixed number of steps, and prints the process's
// resident memory (VmRSS) and the block cache's bytes every `every` steps:
//
//   bench_memory_flatness CONFIG STEPS EVERY [--set KEY=VALUE ...]
//   step 1000 epoch 3 rss_mib 123.4 cache_mib 45.6
//   ...
//   RESULT rss growth 0.12% (123.4 MiB at step 1000 -> 123.5 MiB at step 20000)
//
// The growth is measured from the first measurement after the first epoch and its
// validation (warm-up: the cache and the allocator meet every size once) to the last.
// Run by bench/memory_flatness.sh; docs/reliability.md records the results.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cajal/cajal.h"
#include "cajal/cli/config.h"
#include "cajal/cli/data_config.h"
#include "cajal/cli/model_file.h"
#include "cajal/cli/optim_config.h"
#include "cajal/core/storage_cache.h"

using namespace cajal;

namespace {

// This process's resident set in MiB, from /proc/self/status.
double rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  fail<IOError>("/proc/self/status has no VmRSS line");
}

struct Sample {
  int64_t step;
  double rss;
};

class MemoryProbe : public train::Callback {
 public:
  MemoryProbe(int64_t steps, int64_t every, int64_t warmup) : steps_(steps), every_(every), warmup_(warmup) {}

  void on_epoch_begin(int64_t epoch) override { epoch_ = epoch; }
  void on_batch_end(int64_t step, const train::Logs&) override {
    if (step % every_ == 0) {
      Sample s{step, rss_mib()};
      samples_.push_back(s);
      std::printf("step %lld epoch %lld rss_mib %.1f cache_mib %.1f\n", (long long)step, (long long)epoch_, s.rss,
                  storage_cache_stats().held_bytes / 1048576.0);
      std::fflush(stdout);
    }
    if (step >= steps_) trainer().stop_training("bench_memory_flatness: step count reached");
  }

  void report() const {
    const Sample* first = nullptr;
    for (const Sample& s : samples_)
      if (s.step > warmup_) {
        first = &s;
        break;
      }
    if (!first) fail<ValueError>("no measurement after the warm-up (", warmup_, " steps): run more steps");
    const Sample& last = samples_.back();
    StorageCacheStats cache = storage_cache_stats();
    std::printf("RESULT rss growth %.2f%% (%.1f MiB at step %lld -> %.1f MiB at step %lld); cache limit %.0f MiB, "
                "%llu hits, %llu misses, %llu evictions\n",
                100.0 * (last.rss - first->rss) / first->rss, first->rss, (long long)first->step, last.rss,
                (long long)last.step, cache.limit_bytes / 1048576.0, (unsigned long long)cache.hits,
                (unsigned long long)cache.misses, (unsigned long long)cache.evictions);
  }

 private:
  int64_t steps_, every_, warmup_;
  int64_t epoch_ = 0;
  std::vector<Sample> samples_;
};

int run(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: bench_memory_flatness CONFIG STEPS EVERY [--set KEY=VALUE ...]\n";
    return 2;
  }
  const int64_t steps = std::stoll(argv[2]), every = std::stoll(argv[3]);
  std::vector<std::string> overrides;
  for (int i = 4; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--set") overrides.push_back(argv[i + 1]);
  cli::RunConfig config = cli::load_config(argv[1], overrides);

  // As cli/train.cpp's train_command, for image classification configs.
  cli::Prepared data = cli::prepare_data(config.data, config.seed);
  cli::LossSpec loss = cli::resolve_loss(config.loss, data.classification);
  manual_seed(config.seed);
  nn::ModulePtr model = cli::build_model(config.model, data.input);
  std::unique_ptr<optim::Optimizer> optimizer = config.optimizer.make(model->parameters());
  data::DataLoader train_loader(data.train, {.batch_size = config.batch_size, .shuffle = true,
                                             .num_workers = config.num_workers, .seed = config.seed});
  data::LoaderOptions eval_options{.batch_size = config.batch_size, .num_workers = config.num_workers};
  std::unique_ptr<data::DataLoader> val_loader;
  if (data.val) val_loader = std::make_unique<data::DataLoader>(data.val, eval_options);
  // Enough epochs for `steps`; the probe stops the run there.
  const int64_t per_epoch = train_loader.num_batches();
  const int64_t epochs = (steps + per_epoch - 1) / per_epoch;
  train::TrainerOptions options{.config = config.text};
  config.schedule.install(options, *optimizer, epochs, per_epoch);
  train::Trainer trainer(model, loss.function, *optimizer, options);
  std::filesystem::create_directories(config.output);
  trainer.add_callback(std::make_shared<train::CSVLogger>(config.output + "/metrics.csv"));
  trainer.add_callback(std::make_shared<train::TensorBoardLogger>(config.output));
  trainer.add_callback(std::make_shared<train::ModelCheckpoint>(config.output, config.callbacks.checkpoint));
  auto probe = std::make_shared<MemoryProbe>(steps, every, per_epoch);
  trainer.add_callback(probe);
  std::printf("INFO %s: %s, %lld steps of %lld per epoch, batch %lld, rss every %lld steps\n", argv[1],
              config.model.describe().c_str(), (long long)steps, (long long)per_epoch, (long long)config.batch_size,
              (long long)every);
  trainer.fit(train_loader, val_loader.get(), epochs);
  probe->report();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_memory_flatness: " << e.what() << "\n";
    return 1;
  }
}
