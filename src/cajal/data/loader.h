#pragma once
// DataLoader: batches from a dataset, shuffled per epoch, loaded ahead by worker threads.
//
//   data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .num_workers = 2, .seed = 7});
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.set_epoch(epoch);
//     for (data::Batch& batch : loader) { ... batch.input, batch.target ... }
//   }
//
// Determinism: the batches of an epoch (which examples, in which order, and their
// augmentation through Dataset::get_in_epoch) are a function of (seed, epoch) only; any
// num_workers gives the same batches in the same order. Workers load batches in order
// into a bounded window (num_workers * prefetch batches ahead of the training thread).
// An exception thrown while loading a batch is rethrown by the iterator when that batch
// is due, after every earlier batch was delivered: the same cajal error type (another
// std::exception becomes a cajal::Error) with "DataLoader: example I: " before its message,
// I the example's index in the loader's dataset. The pass ends there; the loader can start
// the next one (begin()) or be destroyed.
#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "cajal/data/dataset.h"

namespace cajal::data {

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = false;
  bool drop_last = false;   // drop the last batch when it has fewer than batch_size examples
  int64_t num_workers = 0;  // 0: load each batch in the calling thread when it is asked for
  int64_t prefetch = 2;     // batches in flight per worker
  uint64_t seed = 0;        // the shuffle order's seed
  // Data-parallel training (torch's DistributedSampler): the epoch's order, the same on every
  // process, is padded by repeating its first examples to a multiple of num_replicas, and this
  // process (rank) takes every num_replicas-th example from position rank. Each rank then has
  // the same number of batches, and rank r's batch b together with the other ranks' batch b is
  // one process's batch b of num_replicas * batch_size examples (exactly, when that divides the
  // dataset's size).
  int64_t num_replicas = 1;
  int64_t rank = 0;
};

class DataLoader {
  class Pass;

 public:
  DataLoader(DatasetPtr dataset, LoaderOptions options = {});
  // Stops a pass in progress: workers finish the example they are loading and are joined.
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The epoch the next pass (begin()) loads. Each begin() uses epoch() and then advances
  // it by one, so a plain loop over epochs reshuffles; set_epoch sets it explicitly
  // (resuming from a checkpoint).
  void set_epoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }

  int64_t num_batches() const;
  // The examples one replica loads per epoch: the dataset's size over num_replicas, rounded up.
  int64_t examples_per_replica() const;
  const DatasetPtr& dataset() const { return dataset_; }
  const LoaderOptions& options() const { return options_; }

  // The dataset indices of each batch of `epoch`, in the order the loader yields them.
  std::vector<std::vector<int64_t>> batch_indices(int64_t epoch) const;

  // Seconds the calling thread spent waiting for batches in the latest pass: with
  // workers, the time blocked on batches not ready yet; without, the loading itself.
  double wait_seconds() const;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    Batch& operator*() { return batch_; }
    Batch* operator->() { return &batch_; }
    Iterator& operator++();
    bool operator==(std::default_sentinel_t) const { return pass_ == nullptr; }

   private:
    friend class DataLoader;
    explicit Iterator(Pass* pass);
    Pass* pass_ = nullptr;  // null once the pass is over
    Batch batch_;
  };

  // Starts a pass over epoch() (ending any pass still running) and advances epoch().
  Iterator begin();
  std::default_sentinel_t end() const { return {}; }

 private:
  DatasetPtr dataset_;
  LoaderOptions options_;
  int64_t epoch_ = 0;
  std::unique_ptr<Pass> pass_;
};

}  // namespace cajal::data
