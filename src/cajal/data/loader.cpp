#include "cajal/data/loader.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "cajal/core/parallel.h"
#include "cajal/ops/random.h"

namespace cajal::data {

namespace {

// Rethrows the exception being handled with `context` before its message, as the same cajal
// error type, so a caller catching ValueError still catches it. Other std::exceptions (from a
// user's transform) become a cajal::Error; anything else is rethrown as it is, having no message.
[[noreturn]] void rethrow_with_context(const std::string& context) {
  try {
    throw;
  } catch (const ShapeError& e) {
    throw ShapeError(context + e.what());
  } catch (const DTypeError& e) {
    throw DTypeError(context + e.what());
  } catch (const IndexError& e) {
    throw IndexError(context + e.what());
  } catch (const ValueError& e) {
    throw ValueError(context + e.what());
  } catch (const IOError& e) {
    throw IOError(context + e.what());
  } catch (const AutogradError& e) {
    throw AutogradError(context + e.what());
  } catch (const std::exception& e) {
    throw Error(context + e.what());
  }
}

// An example that fails to load (a transform that throws, a file that does not decode) is
// named by its dataset index, which a message from deep inside a transform cannot know.
Batch load_batch(const Dataset& dataset, const std::vector<int64_t>& indices, int64_t epoch) {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (int64_t index : indices) {
    try {
      examples.push_back(dataset.get_in_epoch(index, epoch));
    } catch (...) {
      rethrow_with_context(detail::concat("DataLoader: example ", index, ": "));
    }
  }
  return collate(examples, indices);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// One pass over the batches of one epoch. Without workers, next() loads each batch when
// asked. With workers, each worker repeatedly claims the next unclaimed batch, as long as
// it lies within `window` batches of the one the training thread waits for, loads it, and
// puts it in the ring slot batch % window, from which next() takes the batches in order.
class DataLoader::Pass {
 public:
  Pass(DatasetPtr dataset, std::vector<std::vector<int64_t>> batches, int64_t epoch, const LoaderOptions& options)
      : dataset_(std::move(dataset)), batches_(std::move(batches)), epoch_(epoch) {
    if (options.num_workers == 0) return;
    slots_.resize(static_cast<size_t>(options.num_workers * options.prefetch));
    for (int64_t w = 0; w < options.num_workers; ++w) {
      try {
        workers_.emplace_back([this] { work(); });
      } catch (const std::system_error& e) {
        stop();  // joins the workers that started: a joinable thread destroyed would terminate
        fail<Error>("DataLoader: could not start worker thread ", w + 1, " of ", options.num_workers, " (", e.what(),
                    "); use fewer num_workers");
      }
    }
  }

  ~Pass() { stop(); }

  // The next batch in order; false when the pass is over. Rethrows a loading error.
  bool next(Batch& out) {
    if (delivered_ >= static_cast<int64_t>(batches_.size())) return false;
    const auto start = std::chrono::steady_clock::now();
    if (workers_.empty()) {
      out = load_batch(*dataset_, batches_[delivered_++], epoch_);
      wait_seconds_ += seconds_since(start);
      return true;
    }
    Slot slot;
    {
      std::unique_lock lock(mutex_);
      Slot& due = slots_[delivered_ % slots_.size()];
      batch_ready_.wait(lock, [&] { return due.filled; });
      slot = std::move(due);
      due = Slot{};
      ++delivered_;
    }
    window_moved_.notify_all();
    wait_seconds_ += seconds_since(start);
    if (slot.error) {
      stop();
      delivered_ = static_cast<int64_t>(batches_.size());  // the pass ends with the error
      std::rethrow_exception(slot.error);
    }
    out = std::move(*slot.batch);
    return true;
  }

  double wait_seconds() const { return wait_seconds_; }

 private:
  struct Slot {
    bool filled = false;
    std::optional<Batch> batch;
    std::exception_ptr error;
  };

  void work() {
    // Loading runs single-threaded in each worker: the training thread's OpenMP team
    // keeps the cores, and workers do not start teams of their own.
    set_num_threads(1);
    std::unique_lock lock(mutex_);
    while (true) {
      window_moved_.wait(lock, [&] {
        return stopping_ || claimed_ >= static_cast<int64_t>(batches_.size()) ||
               claimed_ < delivered_ + static_cast<int64_t>(slots_.size());
      });
      if (stopping_ || claimed_ >= static_cast<int64_t>(batches_.size())) return;
      const int64_t b = claimed_++;
      lock.unlock();
      Slot result;
      result.filled = true;
      try {
        result.batch = load_batch(*dataset_, batches_[b], epoch_);
      } catch (...) {
        result.error = std::current_exception();
      }
      lock.lock();
      slots_[b % slots_.size()] = std::move(result);
      batch_ready_.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    window_moved_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

  DatasetPtr dataset_;
  std::vector<std::vector<int64_t>> batches_;
  int64_t epoch_;
  double wait_seconds_ = 0;

  std::mutex mutex_;
  std::condition_variable batch_ready_;   // a worker filled a slot
  std::condition_variable window_moved_;  // the training thread took a batch, or stop()
  std::vector<Slot> slots_;
  int64_t claimed_ = 0;    // batches handed to workers
  int64_t delivered_ = 0;  // batches handed to the training thread
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

DataLoader::DataLoader(DatasetPtr dataset, LoaderOptions options) : dataset_(std::move(dataset)), options_(options) {
  if (!dataset_) fail<ValueError>("DataLoader: no dataset");
  if (options_.batch_size < 1) fail<ValueError>("DataLoader: batch_size must be at least 1, got ", options_.batch_size);
  if (options_.num_workers < 0) fail<ValueError>("DataLoader: num_workers must be non-negative, got ", options_.num_workers);
  if (options_.prefetch < 1) fail<ValueError>("DataLoader: prefetch must be at least 1, got ", options_.prefetch);
  if (options_.num_replicas < 1 || options_.rank < 0 || options_.rank >= options_.num_replicas)
    fail<ValueError>("DataLoader: rank ", options_.rank, " of ", options_.num_replicas,
                     " replicas: need num_replicas >= 1 and 0 <= rank < num_replicas");
  if (options_.num_replicas > 1 && dataset_->size() == 0) fail<ValueError>("DataLoader: no examples to share between replicas");
}

DataLoader::~DataLoader() = default;

void DataLoader::set_epoch(int64_t epoch) {
  if (epoch < 0) fail<ValueError>("DataLoader: epoch must be non-negative, got ", epoch);
  epoch_ = epoch;
}

int64_t DataLoader::examples_per_replica() const {
  const int64_t n = dataset_->size(), r = options_.num_replicas;
  return n / r + (n % r != 0);
}

int64_t DataLoader::num_batches() const {
  const int64_t n = examples_per_replica(), b = options_.batch_size;
  return n / b + (!options_.drop_last && n % b != 0);  // not (n + b - 1) / b, which overflows for a huge b
}

std::vector<std::vector<int64_t>> DataLoader::batch_indices(int64_t epoch) const {
  const int64_t n = dataset_->size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  if (options_.shuffle) {
    // Index -1 is no example's, so this stream differs from every example's augmentation seed.
    Generator gen(example_seed(options_.seed, epoch, -1));
    order = randperm(n, &gen).to_vector<int64_t>();
  } else {
    for (int64_t i = 0; i < n; ++i) order[i] = i;
  }
  if (options_.num_replicas > 1) {  // this rank's shard of the padded order
    const int64_t per_replica = examples_per_replica();
    std::vector<int64_t> shard(static_cast<size_t>(per_replica));
    for (int64_t i = 0; i < per_replica; ++i)
      shard[static_cast<size_t>(i)] = order[static_cast<size_t>((i * options_.num_replicas + options_.rank) % n)];
    order = std::move(shard);
  }
  const auto count = static_cast<int64_t>(order.size());
  std::vector<std::vector<int64_t>> batches;
  for (int64_t b = 0; b < num_batches(); ++b) {
    const int64_t begin = b * options_.batch_size, end = begin + std::min(count - begin, options_.batch_size);
    batches.emplace_back(order.begin() + begin, order.begin() + end);
  }
  return batches;
}

double DataLoader::wait_seconds() const { return pass_ ? pass_->wait_seconds() : 0.0; }

DataLoader::Iterator DataLoader::begin() {
  pass_.reset();  // joins the workers of an unfinished pass before starting the next
  pass_ = std::make_unique<Pass>(dataset_, batch_indices(epoch_), epoch_, options_);
  ++epoch_;
  return Iterator(pass_.get());
}

DataLoader::Iterator::Iterator(Pass* pass) : pass_(pass) { ++*this; }

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  try {
    if (!pass_->next(batch_)) pass_ = nullptr;
  } catch (...) {
    pass_ = nullptr;
    throw;
  }
  return *this;
}

}  // namespace cajal::data
