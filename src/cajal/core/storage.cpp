#include "cajal/core/storage.h"

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
// A small cache of freed blocks, bucketed by exact rounded size. Training allocates the
// same sizes every step, so most allocations are served from here. Bounded so an idle
// program does not hoard memory.
constexpr size_t kAlign = 64;
constexpr size_t kMaxCachedBytes = size_t(1) << 30;
constexpr size_t kMaxBlocksPerSize = 16;

struct BlockCache {
  std::mutex mu;
  std::vector<std::pair<size_t, std::vector<void*>>> buckets;
  size_t cached = 0;

  void* take(size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [size, blocks] : buckets)
      if (size == n && !blocks.empty()) {
        void* p = blocks.back();
        blocks.pop_back();
        cached -= n;
        return p;
      }
    return nullptr;
  }
  bool give(void* p, size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    if (cached + n > kMaxCachedBytes) return false;
    for (auto& [size, blocks] : buckets)
      if (size == n) {
        if (blocks.size() >= kMaxBlocksPerSize) return false;
        blocks.push_back(p);
        cached += n;
        return true;
      }
    buckets.push_back({n, {p}});
    cached += n;
    return true;
  }
  ~BlockCache() {
    for (auto& [size, blocks] : buckets)
      for (void* p : blocks) std::free(p);
  }
};

BlockCache& cache() {
  static BlockCache* c = new BlockCache();  // never destroyed: storages may outlive statics
  return *c;
}

size_t rounded(size_t nbytes) { return (std::max<size_t>(nbytes, 1) + kAlign - 1) / kAlign * kAlign; }
}  // namespace

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
