#pragma once
// Benchmark inputs: float32 values spread over [-1, 1) by a fixed linear congruential
// sequence, so every run times the same data without depending on cajal's RNG.
#include <cajal/cajal.h>

#include <cstdint>

namespace bench {

inline cajal::Tensor uniform_tensor(const cajal::Dims& shape, uint32_t seed = 1) {
  cajal::Tensor t = cajal::empty(shape);
  float* p = t.data_ptr<float>();
  uint32_t state = seed;
  for (int64_t i = 0; i < t.numel(); ++i) {
    state = state * 1664525u + 1013904223u;
    p[i] = static_cast<float>(state >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
  return t;
}

}  // namespace bench
