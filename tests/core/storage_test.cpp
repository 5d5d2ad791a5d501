// The block cache behind Storage::allocate: freed blocks are reused, the bytes it holds never
// pass its limit, and the sizes used longest ago are the ones it lets go.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <vector>

#include "cajal/core/error.h"
#include "cajal/core/storage.h"
#include "cajal/core/storage_cache.h"

namespace cajal {
namespace {

// Each test starts from an empty cache with its own limit (the cache is process-wide).
void reset_cache(size_t limit) {
  set_storage_cache_limit(0);
  set_storage_cache_limit(limit);
}

TEST(StorageCache, ReusesAFreedBlockOfTheSameSize) {
  reset_cache(size_t(1) << 20);
  void* first = Storage::allocate(1000)->data;  // freed at once, into the cache
  StorageCacheStats before = storage_cache_stats();
  EXPECT_EQ(before.held_bytes, 1024u);  // 1000 rounded up to 64-byte alignment
  auto again = Storage::allocate(1000);
  EXPECT_EQ(again->data, first);
  StorageCacheStats after = storage_cache_stats();
  EXPECT_EQ(after.hits, before.hits + 1);
  EXPECT_EQ(after.held_bytes, 0u);
  // Another size is not served from that block.
  auto other = Storage::allocate(5000);
  EXPECT_EQ(storage_cache_stats().misses, after.misses + 1);
}

TEST(StorageCache, HeldBytesNeverExceedTheLimit) {
  const size_t limit = 64 << 10;
  reset_cache(limit);
  // 40 live blocks of 40 sizes (4 to 160 KiB) are freed one by one: 3.2 MiB in all against
  // a 64 KiB limit. Each block that fits is kept; older sizes make room for it.
  std::vector<std::shared_ptr<Storage>> live;
  for (size_t i = 1; i <= 40; ++i) live.push_back(Storage::allocate(i * 4096));
  uint64_t evictions = storage_cache_stats().evictions;
  for (auto& s : live) {
    size_t n = s->nbytes;
    s.reset();
    StorageCacheStats stats = storage_cache_stats();
    EXPECT_LE(stats.held_bytes, limit) << "after freeing " << n << " bytes";
    if (n <= limit) {
      EXPECT_GE(stats.held_bytes, n) << "the block just freed is kept";
    }
  }
  EXPECT_GT(storage_cache_stats().evictions, evictions);
  EXPECT_EQ(storage_cache_stats().limit_bytes, limit);
}

TEST(StorageCache, EvictsTheSizeUsedLongestAgo) {
  reset_cache(16 << 10);
  const size_t x = 4096, y = 4096 + 64, z = 8192;
  std::shared_ptr<Storage> sx = Storage::allocate(x), sy = Storage::allocate(y), sz = Storage::allocate(z);
  void* x_block = sx->data;
  sx.reset();
  sy.reset();                  // x's size was freed first...
  sx = Storage::allocate(x);   // ...but is used again, so y's is now the older one
  EXPECT_EQ(sx->data, x_block);
  sx.reset();
  StorageCacheStats before = storage_cache_stats();
  EXPECT_EQ(before.held_bytes, x + y);
  sz.reset();  // 8 KiB more would pass 16 KiB: y's block goes, x's stays
  StorageCacheStats after = storage_cache_stats();
  EXPECT_EQ(after.evictions, before.evictions + 1);
  EXPECT_EQ(after.held_bytes, x + z);
  EXPECT_EQ(Storage::allocate(x)->data, x_block);
  uint64_t misses = storage_cache_stats().misses;
  Storage::allocate(y);
  EXPECT_EQ(storage_cache_stats().misses, misses + 1);
}

TEST(StorageCache, LoweringTheLimitFreesAtOnceAndZeroTurnsTheCacheOff) {
  reset_cache(size_t(1) << 20);
  Storage::allocate(4096);
  Storage::allocate(8192);
  EXPECT_EQ(storage_cache_stats().held_bytes, 4096u + 8192u);
  set_storage_cache_limit(4096);
  EXPECT_LE(storage_cache_stats().held_bytes, 4096u);
  set_storage_cache_limit(0);
  EXPECT_EQ(storage_cache_stats().held_bytes, 0u);
  uint64_t hits = storage_cache_stats().hits;
  Storage::allocate(4096);
  Storage::allocate(4096);
  EXPECT_EQ(storage_cache_stats().held_bytes, 0u);
  EXPECT_EQ(storage_cache_stats().hits, hits);  // nothing to reuse
}

// The limit is read from CAJAL_CACHE_LIMIT_MB when the cache is first used, so each case runs
// in a fresh process ("threadsafe" death tests re-run the test binary for the statement).
TEST(StorageCacheDeathTest, LimitComesFromTheEnvironment) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto limit_with = [](const char* value) {
    setenv("CAJAL_CACHE_LIMIT_MB", value, 1);
    try {
      std::cerr << "limit " << storage_cache_stats().limit_bytes << "\n";
    } catch (const ValueError& e) {
      std::cerr << e.what() << "\n";
    }
    std::exit(0);
  };
  EXPECT_EXIT(limit_with("3"), testing::ExitedWithCode(0), "limit 3145728\n");
  EXPECT_EXIT(limit_with("0"), testing::ExitedWithCode(0), "limit 0\n");
  EXPECT_EXIT(limit_with("3x"), testing::ExitedWithCode(0), "CAJAL_CACHE_LIMIT_MB must be a whole number of MiB .*got '3x'");
  EXPECT_EXIT(limit_with("-1"), testing::ExitedWithCode(0), "got '-1'");
  EXPECT_EXIT(limit_with(""), testing::ExitedWithCode(0), "got ''");
}

}  // namespace
}  // namespace cajal
