#include "cajal/core/storage.h"
#include "cajal/core/storage_cache.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <ostream>
#include <vector>

#include "cajal/core/allocation_budget.h"
#include "cajal/core/error.h"

namespace cajal {

std::ostream& operator<<(std::ostream& os, Device d) {
  return d.type == DeviceType::CPU ? os << "cpu" : os << "cuda:" << d.index;
}

namespace {
// Training allocates the same sizes every step, so most allocations are served from a cache
// of freed blocks, bucketed by exact rounded size (storage_cache.h describes the limits).
constexpr size_t kAlign = 64;
constexpr size_t kMaxBlocksPerSize = 16;

size_t limit_from_environment() {
  const char* text = std::getenv("CAJAL_CACHE_LIMIT_MB");
  if (!text) return kDefaultStorageCacheLimit;
  char* end = nullptr;
  errno = 0;
  unsigned long long mib = std::strtoull(text, &end, 10);
  if (*text < '0' || *text > '9' || *end != '\0' || errno == ERANGE || mib > (SIZE_MAX >> 20)) {
    fail<ValueError>("CAJAL_CACHE_LIMIT_MB must be a whole number of MiB (0 turns the block cache off), got '", text, "'");
  }
  return size_t(mib) << 20;
}

struct BlockCache {
  struct Bucket {
    size_t size;
    uint64_t last_used;  // `clock` when a block of this size was last taken or given
    std::vector<void*> blocks;
  };
  std::mutex mu;
  std::vector<Bucket> buckets;
  uint64_t clock = 0;
  StorageCacheStats stats{.limit_bytes = limit_from_environment()};

  Bucket* find(size_t n) {
    for (Bucket& b : buckets)
      if (b.size == n) return &b;
    return nullptr;
  }
  void* take(size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    Bucket* b = find(n);
    if (!b || b->blocks.empty()) {
      ++stats.misses;
      return nullptr;
    }
    void* p = b->blocks.back();
    b->blocks.pop_back();
    b->last_used = ++clock;
    stats.held_bytes -= n;
    ++stats.hits;
    return p;
  }
  // False when the block is not kept (the caller frees it).
  bool give(void* p, size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    if (n > stats.limit_bytes) return false;
    if (Bucket* b = find(n); b && b->blocks.size() >= kMaxBlocksPerSize) return false;
    evict_until(stats.limit_bytes - n);
    Bucket* b = find(n);  // after evict_until: it may have removed this size's bucket
    if (!b) b = &buckets.emplace_back(Bucket{n, 0, {}});
    b->blocks.push_back(p);
    b->last_used = ++clock;
    stats.held_bytes += n;
    return true;
  }
  // Frees blocks of the least recently used sizes until at most `target` bytes are held. A
  // bucket it empties is removed, so sizes no longer used stop lengthening find()'s scan.
  // Runs under the lock: it is reached only when the cache is full, not on every step.
  void evict_until(size_t target) {
    while (stats.held_bytes > target) {
      auto oldest = buckets.begin();
      for (auto it = buckets.begin(); it != buckets.end(); ++it)
        if (!it->blocks.empty() && (oldest->blocks.empty() || it->last_used < oldest->last_used)) oldest = it;
      std::free(oldest->blocks.back());
      oldest->blocks.pop_back();
      stats.held_bytes -= oldest->size;
      ++stats.evictions;
      if (oldest->blocks.empty()) buckets.erase(oldest);
    }
  }
};

BlockCache& cache() {
  static BlockCache* c = new BlockCache();  // never destroyed: storages may outlive statics
  return *c;
}

size_t rounded(size_t nbytes) { return (std::max<size_t>(nbytes, 1) + kAlign - 1) / kAlign * kAlign; }
}  // namespace

void set_storage_cache_limit(size_t bytes) {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.stats.limit_bytes = bytes;
  c.evict_until(bytes);
}

StorageCacheStats storage_cache_stats() {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  AllocationBudget::spend(nbytes);
  auto s = std::make_shared<Storage>();
  size_t n = rounded(nbytes);
  void* p = cache().take(n);
  if (!p) p = std::aligned_alloc(kAlign, n);
  if (!p) fail<Error>("out of memory allocating ", nbytes, " bytes");
  s->data = p;
  s->nbytes = nbytes;
  return s;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::function<void(void*)> deleter) {
  auto s = std::make_shared<Storage>();
  s->data = data;
  s->nbytes = nbytes;
  s->deleter = deleter ? std::move(deleter) : [](void*) {};
  return s;
}

Storage::~Storage() {
  if (deleter) {
    deleter(data);
  } else if (data) {
    size_t n = rounded(nbytes);
    if (!cache().give(data, n)) std::free(data);
  }
}

}  // namespace cajal
