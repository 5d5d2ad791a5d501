// DataLoader: batches, shuffling per epoch, identical results for any number of workers,
// bounded prefetching, error propagation (naming the example, never hanging), clean shutdown, and the training thread's wait
// time with and without workers for a dataset whose get() is slow.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <limits>
#include <numeric>
#include <set>
#include <thread>

#include "cajal/data/loader.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using data::Batch;
using data::DataLoader;
using data::DatasetPtr;
using data::Example;
using namespace std::chrono_literals;

// One pass over the loader: the targets of the batches that arrived, and the message of the
// ValueError that ended the pass ("" when none did).
struct PassResult {
  std::vector<int64_t> seen;
  std::string message;
};
PassResult pass_until_value_error(DataLoader& loader) {
  PassResult result;
  try {
    for (Batch& batch : loader)
      for (int64_t t : batch.target.to_vector<int64_t>()) result.seen.push_back(t);
  } catch (const ValueError& e) {
    result.message = e.what();
  }
  return result;
}

// Example i: input [2] = {i, -i} (float32), target i (int64); `delay` per get().
DatasetPtr numbered(int64_t n, std::chrono::microseconds delay = 0us) {
  return data::lambda_dataset(n, [delay](int64_t i) {
    if (delay > 0us) std::this_thread::sleep_for(delay);
    return Example{tensor({float(i), -float(i)}), scalar_tensor(i, DType::i64)};
  }, "numbered");
}

// Every batch of one pass, as (targets, inputs) copies.
std::vector<Batch> one_pass(DataLoader& loader) {
  std::vector<Batch> batches;
  for (Batch& batch : loader) batches.push_back(batch);
  return batches;
}

std::vector<int64_t> all_targets(const std::vector<Batch>& batches) {
  std::vector<int64_t> out;
  for (const Batch& b : batches)
    for (int64_t t : b.target.to_vector<int64_t>()) out.push_back(t);
  return out;
}

std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST(DataLoader, SequentialBatchesAndDropLast) {
  DataLoader loader(numbered(23), {.batch_size = 4});
  EXPECT_EQ(loader.num_batches(), 6);
  const std::vector<Batch> batches = one_pass(loader);
  ASSERT_EQ(batches.size(), 6u);
  EXPECT_EQ(all_targets(batches), range(23));
  EXPECT_EQ(batches[5].size, 3);
  EXPECT_EQ(batches[5].input.sizes(), Dims({3, 2}));
  EXPECT_TRUE(test::all_close(batches[1].input, tensor({4.f, -4.f, 5.f, -5.f, 6.f, -6.f, 7.f, -7.f}, {4, 2}), 0, 0));

  DataLoader dropping(numbered(23), {.batch_size = 4, .drop_last = true});
  EXPECT_EQ(dropping.num_batches(), 5);
  const std::vector<Batch> kept = one_pass(dropping);
  ASSERT_EQ(kept.size(), 5u);
  for (const Batch& b : kept) EXPECT_EQ(b.size, 4);
  EXPECT_EQ(all_targets(kept), range(20));

  DataLoader small(numbered(3), {.batch_size = 4, .drop_last = true});
  EXPECT_TRUE(one_pass(small).empty());
}

// (n + b - 1) / b overflowed int64 for a batch size near its maximum (UBSan found it).
TEST(DataLoader, HugeBatchSizeIsOneBatch) {
  const int64_t huge = std::numeric_limits<int64_t>::max();
  DataLoader loader(numbered(5), {.batch_size = huge});
  EXPECT_EQ(loader.num_batches(), 1);
  const std::vector<Batch> batches = one_pass(loader);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(all_targets(batches), range(5));
  EXPECT_EQ(DataLoader(numbered(5), {.batch_size = huge, .drop_last = true}).num_batches(), 0);
  EXPECT_EQ(DataLoader(numbered(5), {.batch_size = huge - 1}).num_batches(), 1);
}

TEST(DataLoader, ShuffleIsAPermutationPerEpochThatDependsOnSeedAndEpoch) {
  DataLoader loader(numbered(23), {.batch_size = 5, .shuffle = true, .seed = 9});
  EXPECT_EQ(loader.epoch(), 0);
  const std::vector<int64_t> epoch0 = all_targets(one_pass(loader));
  EXPECT_EQ(loader.epoch(), 1);  // each pass advances the epoch
  const std::vector<int64_t> epoch1 = all_targets(one_pass(loader));
  EXPECT_NE(epoch0, range(23));
  EXPECT_NE(epoch0, epoch1);
  for (const auto& order : {epoch0, epoch1}) {
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, range(23));
  }

  // The order is a function of (seed, epoch): a fresh loader set to epoch 1 repeats it.
  DataLoader resumed(numbered(23), {.batch_size = 5, .shuffle = true, .seed = 9});
  resumed.set_epoch(1);
  EXPECT_EQ(all_targets(one_pass(resumed)), epoch1);
  resumed.set_epoch(0);
  EXPECT_EQ(all_targets(one_pass(resumed)), epoch0);
  std::vector<int64_t> listed;
  for (const auto& batch : resumed.batch_indices(1)) listed.insert(listed.end(), batch.begin(), batch.end());
  EXPECT_EQ(listed, epoch1);

  DataLoader other_seed(numbered(23), {.batch_size = 5, .shuffle = true, .seed = 10});
  EXPECT_NE(all_targets(one_pass(other_seed)), epoch0);
}

TEST(DataLoader, BatchesAreIdenticalForAnyNumberOfWorkers) {
  // Augmented examples: the noise comes from each example's own generator.
  const DatasetPtr noisy = data::transform(numbered(37, 50us), [](Example e, Generator& gen) {
    return Example{e.input + rand({2}, {}, &gen), e.target};
  }, 3);
  std::vector<std::vector<Batch>> reference;  // epochs 0 and 1 without workers
  for (int64_t workers : {0, 1, 3}) {
    SCOPED_TRACE(workers);
    DataLoader loader(noisy, {.batch_size = 4, .shuffle = true, .num_workers = workers, .prefetch = 2, .seed = 5});
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      const std::vector<Batch> batches = one_pass(loader);
      if (workers == 0) {
        reference.push_back(batches);
        continue;
      }
      ASSERT_EQ(batches.size(), reference[epoch].size());
      for (size_t b = 0; b < batches.size(); ++b) {
        EXPECT_TRUE(test::all_close(batches[b].input, reference[epoch][b].input, 0, 0)) << "batch " << b;
        EXPECT_TRUE(test::all_close(batches[b].target, reference[epoch][b].target, 0, 0)) << "batch " << b;
      }
    }
  }
  // The noise changes between epochs, and each input is its target's plus noise in [0, 1).
  EXPECT_FALSE(test::all_close(reference[0][0].input, reference[1][0].input, 0, 1e-3));
  const Tensor noise = reference[0][0].input - stack({reference[0][0].target, reference[0][0].target.neg()}, 1).to(DType::f32);
  EXPECT_GE(noise.min().item<double>(), 0.0);
  EXPECT_LT(noise.max().item<double>(), 1.0);
}

TEST(DataLoader, WorkersStayWithinThePrefetchWindow) {
  std::atomic<int64_t> loaded = 0;
  const DatasetPtr counting = data::lambda_dataset(40, [&loaded](int64_t i) {
    ++loaded;
    return Example{tensor({float(i)}), scalar_tensor(i, DType::i64)};
  });
  DataLoader loader(counting, {.batch_size = 2, .num_workers = 2, .prefetch = 2});
  auto it = loader.begin();  // takes batch 0
  std::this_thread::sleep_for(200ms);
  // Batch 0 was delivered; workers may load batches 1..4 (2 workers x 2 in flight), no more.
  EXPECT_EQ(loaded.load(), 5 * 2);
  EXPECT_EQ(it->target.to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
}

TEST(DataLoader, ErrorsInWorkersReachTheTrainingThreadInOrder) {
  const DatasetPtr failing = data::lambda_dataset(40, [](int64_t i) {
    if (i == 13) fail<ValueError>("bad example ", i);
    return Example{tensor({float(i)}), scalar_tensor(i, DType::i64)};
  });
  for (int64_t workers : {0, 1, 3}) {
    SCOPED_TRACE(workers);
    DataLoader loader(failing, {.batch_size = 4, .num_workers = workers});
    const auto [seen, message] = pass_until_value_error(loader);
    EXPECT_EQ(message, "DataLoader: example 13: bad example 13");
    EXPECT_EQ(seen, range(12));  // batches 0-2 arrived; batch 3 (examples 12-15) failed
    // The loader is usable again: a new pass starts from the first batch.
    auto it = loader.begin();
    EXPECT_EQ(it->target.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  }
}

// Runs `body` on another thread and ends the test program at once if it runs longer than
// `seconds`: a loader that hangs would otherwise hang the suite, and a hung thread cannot be
// abandoned (the future of std::async waits for it when destroyed), so the process exits.
void within_seconds(const std::function<void()>& body, int seconds = 10) {
  std::future<void> done = std::async(std::launch::async, body);
  if (done.wait_for(std::chrono::seconds(seconds)) == std::future_status::timeout) {
    std::fprintf(stderr, "FAILED: the DataLoader did not finish within %d seconds (a hang)\n", seconds);
    std::fflush(stderr);
    std::_Exit(1);
  }
  done.get();
}

// A transform that throws on one example, on the last, or on every one: with any number of
// workers the error reaches the caller with its type, its message and the example's index,
// after the batches before it; the pass ends, the next pass fails the same way, and the
// loader is destroyed with its workers joined.
TEST(DataLoader, TransformErrorsNameTheExampleAndNeverHang) {
  struct Case {
    const char* name;
    std::function<bool(int64_t)> fails;
    int64_t first_bad;
  };
  const std::vector<Case> cases = {{"one example", [](int64_t i) { return i == 13; }, 13},
                                   {"the last example", [](int64_t i) { return i == 39; }, 39},
                                   {"every example", [](int64_t) { return true; }, 0}};
  for (const Case& c : cases) {
    const DatasetPtr failing = data::transform(numbered(40), [fails = c.fails](Example e, Generator&) {
      const int64_t i = e.target.item<int64_t>();
      if (fails(i)) fail<ValueError>("cannot augment target ", i);
      return e;
    });
    for (int64_t workers : {0, 1, 3}) {
      SCOPED_TRACE(std::string(c.name) + ", " + std::to_string(workers) + " workers");
      within_seconds([&] {
        DataLoader loader(failing, {.batch_size = 4, .num_workers = workers, .prefetch = 2});
        for (int pass = 0; pass < 2; ++pass) {
          const auto [seen, message] = pass_until_value_error(loader);
          EXPECT_EQ(message, "DataLoader: example " + std::to_string(c.first_bad) + ": cannot augment target " +
                                 std::to_string(c.first_bad));
          EXPECT_EQ(seen, range(c.first_bad / 4 * 4));  // every batch before the failing one
        }
      });  // the loader, its workers joined, is gone
    }
  }
}

// A std::exception that is not a cajal::Error (from a user's code) arrives as a cajal::Error
// with its message; the pass ends and a loop over the next pass works.
TEST(DataLoader, OtherExceptionsArriveAsErrorsWithTheirMessage) {
  const DatasetPtr flaky = data::lambda_dataset(10, [](int64_t i) {
    if (i == 6) throw std::out_of_range("lookup table has no entry 6");
    return Example{tensor({float(i)}), scalar_tensor(i, DType::i64)};
  });
  within_seconds([&] {
    DataLoader loader(flaky, {.batch_size = 4, .num_workers = 2});
    test::expect_error<Error>([&] { one_pass(loader); }, {"DataLoader: example 6: lookup table has no entry 6"});
    auto it = loader.begin();  // the next pass starts from the first batch
    EXPECT_EQ(it->target.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  });
}

// Examples that cannot be stacked are named by their index in the dataset, not by their
// place in the batch (shuffled here, so the two differ).
TEST(DataLoader, ExamplesOfDifferentShapesAreNamedByTheirIndex) {
  const DatasetPtr odd = data::lambda_dataset(8, [](int64_t i) {
    return Example{i == 5 ? tensor({1.f, 2.f, 3.f}) : tensor({1.f, 2.f}), scalar_tensor(i, DType::i64)};
  });
  DataLoader loader(odd, {.batch_size = 8, .shuffle = true, .seed = 1});
  const std::vector<int64_t> order = loader.batch_indices(0).front();
  ASSERT_NE(order.front(), 5);
  ASSERT_NE(order[1], 5);  // so "example 5" below is not a position
  test::expect_error<ShapeError>([&] { one_pass(loader); },
                                 {"collate: example 5 has input shape [3] but example " + std::to_string(order.front()) +
                                  " has [2]"});
}

// Fewer examples than batch_size make one short batch, with or without workers. (With
// drop_last they make none, SequentialBatchesAndDropLast, and Trainer::fit refuses such a
// loader, tests/train/trainer_test.cpp BadOptionsAreClearErrors.)
TEST(DataLoader, DatasetSmallerThanOneBatch) {
  for (int64_t workers : {0, 2}) {
    DataLoader loader(numbered(3), {.batch_size = 32, .num_workers = workers});
    EXPECT_EQ(loader.num_batches(), 1);
    const std::vector<Batch> batches = one_pass(loader);
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].size, 3);
    EXPECT_EQ(batches[0].input.sizes(), Dims({3, 2}));
  }
}

TEST(DataLoader, StoppingMidEpochJoinsWorkers) {
  const auto start = std::chrono::steady_clock::now();
  {
    DataLoader loader(numbered(400, 2ms), {.batch_size = 4, .num_workers = 3, .prefetch = 4});
    for (Batch& batch : loader) {
      EXPECT_EQ(batch.size, 4);
      break;  // leave the pass with workers busy
    }
    auto it = loader.begin();  // a new pass ends the old one first
    EXPECT_EQ(it->target.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3}));
  }  // the destructor stops the second pass mid-epoch
  // Two first batches plus the work in flight: far less than the 800 ms of loading a whole pass.
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
}

// torch's DistributedSampler: every rank the same number of batches, the ranks' shards
// disjoint and together the epoch (padded by repeating its start), and rank r's batch b with
// the others' batch b is one process's batch b of num_replicas * batch_size examples.
TEST(DataLoader, ReplicasShareEachEpoch) {
  const data::LoaderOptions base{.batch_size = 4, .shuffle = true, .seed = 9};
  DataLoader whole(numbered(24), {.batch_size = 8, .shuffle = true, .seed = 9});
  std::vector<std::vector<int64_t>> one = whole.batch_indices(3);
  std::vector<std::vector<std::vector<int64_t>>> shards;
  for (int64_t rank = 0; rank < 2; ++rank)
    shards.push_back(DataLoader(numbered(24), {.batch_size = base.batch_size, .shuffle = true, .seed = base.seed,
                                               .num_replicas = 2, .rank = rank}).batch_indices(3));
  ASSERT_EQ(shards[0].size(), one.size());
  for (size_t b = 0; b < one.size(); ++b) {
    std::vector<int64_t> joined = shards[0][b];
    joined.insert(joined.end(), shards[1][b].begin(), shards[1][b].end());
    std::sort(joined.begin(), joined.end());
    std::vector<int64_t> expected = one[b];
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(joined, expected) << "batch " << b;
  }
  // 10 examples over 3 ranks: 4 each, the first two of the order repeated.
  std::multiset<int64_t> seen;
  for (int64_t rank = 0; rank < 3; ++rank) {
    DataLoader part(numbered(10), {.batch_size = 3, .shuffle = true, .seed = 1, .num_replicas = 3, .rank = rank});
    EXPECT_EQ(part.num_batches(), 2);
    EXPECT_EQ(part.examples_per_replica(), 4);
    for (const auto& batch : part.batch_indices(0)) seen.insert(batch.begin(), batch.end());
  }
  EXPECT_EQ(seen.size(), 12u);
  std::vector<int64_t> order = DataLoader(numbered(10), {.batch_size = 10, .shuffle = true, .seed = 1}).batch_indices(0)[0];
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(seen.count(order[static_cast<size_t>(i)]), i < 2 ? 2u : 1u) << i;
}

TEST(DataLoader, OptionsAreChecked) {
  test::expect_error<ValueError>([] { DataLoader(numbered(3), {.batch_size = 0}); }, {"batch_size must be at least 1, got 0"});
  test::expect_error<ValueError>([] { DataLoader(numbered(3), {.num_workers = -1}); }, {"num_workers", "-1"});
  test::expect_error<ValueError>([] { DataLoader(numbered(3), {.prefetch = 0}); }, {"prefetch must be at least 1"});
  test::expect_error<ValueError>([] { DataLoader(nullptr); }, {"no dataset"});
  test::expect_error<ValueError>([] { DataLoader(numbered(3), {.num_replicas = 2, .rank = 2}); }, {"rank 2 of 2 replicas"});
  test::expect_error<ValueError>([] { DataLoader(numbered(3), {.num_replicas = 0}); }, {"num_replicas >= 1"});
}

// The measurement: a dataset taking 2 ms per example (8 ms per batch) and a training step
// of 10 ms. Without workers the training thread waits for every batch; with two workers
// the next batches are ready before it asks, and it waits only for the first.
TEST(DataLoader, WorkersHideLoadingTime) {
  const DatasetPtr slow = numbered(48, 2ms);
  auto train_one_pass = [&](int64_t workers) {
    DataLoader loader(slow, {.batch_size = 4, .num_workers = workers, .prefetch = 2});
    const auto start = std::chrono::steady_clock::now();
    int64_t batches = 0;
    for (Batch& batch : loader) {
      batches += batch.size > 0;
      std::this_thread::sleep_for(10ms);  // the training step
    }
    EXPECT_EQ(batches, 12);
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::pair{loader.wait_seconds(), total};
  };
  const auto [wait_without, total_without] = train_one_pass(0);
  const auto [wait_with, total_with] = train_one_pass(2);
  ::testing::Test::RecordProperty("wait_ms_0_workers", std::to_string(wait_without * 1e3));
  ::testing::Test::RecordProperty("wait_ms_2_workers", std::to_string(wait_with * 1e3));
  std::printf("training-thread wait per pass (12 batches, 8 ms loading + 10 ms step each): "
              "0 workers %.1f ms of %.1f ms, 2 workers %.1f ms of %.1f ms\n",
              wait_without * 1e3, total_without * 1e3, wait_with * 1e3, total_with * 1e3);
  EXPECT_GE(wait_without, 12 * 0.008);      // it loaded 48 examples itself, 2 ms each at least
  EXPECT_LT(wait_with, 0.35 * wait_without);  // ideally one batch (8 ms) of 96 ms
  EXPECT_LT(total_with, total_without);
}

}  // namespace
}  // namespace cajal
