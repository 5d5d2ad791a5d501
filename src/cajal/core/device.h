#pragma once
#include <cstdint>
#include <iosfwd>

namespace cajal {

enum class DeviceType : uint8_t { CPU, CUDA };

// Where a tensor's memory lives. Only the CPU has kernels today; the field is the seam
// a CUDA backend plugs into, and ops already check that their inputs agree.
struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  friend bool operator==(Device a, Device b) { return a.type == b.type && a.index == b.index; }
  friend bool operator!=(Device a, Device b) { return !(a == b); }
};

std::ostream& operator<<(std::ostream& os, Device d);

}  // namespace cajal
