#pragma once
// The cache of freed blocks behind Storage::allocate (core/storage.h). Blocks are kept by
// exact size (rounded up to 64 bytes), at most 16 of a size, and at most `limit_bytes` in
// all: a block freed when the cache is full pushes out blocks of the sizes used longest ago,
// so sizes that stopped coming (an epoch's last, smaller batch) do not hold memory for the
// rest of a run.
#include <cstddef>
#include <cstdint>

namespace cajal {

struct StorageCacheStats {
  size_t held_bytes = 0;    // in cached blocks, waiting to be reused
  size_t limit_bytes = 0;   // held_bytes never exceeds it
  uint64_t hits = 0;        // allocations served from the cache
  uint64_t misses = 0;      // allocations that went to the system allocator
  uint64_t evictions = 0;   // cached blocks freed to make room under the limit
};

// The limit starts at the environment variable CAJAL_CACHE_LIMIT_MB (whole MiB; 0 turns the
// cache off), read at the first allocation, or without it at kDefaultStorageCacheLimit.
// Setting a lower limit frees cached blocks at once until the cache fits. 1 GiB: one forward
// of ResNet-18 at batch 32 (224 x 224) frees more than 256 MiB, and at that limit every call
// faulted fresh pages in, 1.7x slower (bench/README.md, "ONNX inference").
constexpr size_t kDefaultStorageCacheLimit = size_t(1) << 30;
void set_storage_cache_limit(size_t bytes);
StorageCacheStats storage_cache_stats();

}  // namespace cajal
