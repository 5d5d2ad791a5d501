#pragma once
// Storage: one buffer of bytes shared by a tensor and all its views. It also carries the
// version counter that autograd uses to detect in-place changes to saved tensors: every
// view of the same memory sees the same counter.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "cajal/core/device.h"

namespace cajal {

struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  uint32_t version = 0;
  // Null for buffers cajal allocated; set for external buffers (from_blob).
  std::function<void(void*)> deleter;

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  // A fresh, uninitialized, 64-byte aligned CPU buffer of nbytes (served from a cache of
  // recently freed blocks, so training loops do not hit malloc for every temporary).
  static std::shared_ptr<Storage> allocate(size_t nbytes);
  // Wraps memory the caller owns; `deleter` (may be empty) runs when the last view dies.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::function<void(void*)> deleter);
};

}  // namespace cajal
