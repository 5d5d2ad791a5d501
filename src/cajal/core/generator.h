#pragma once
// Seeded random number generator. One seed gives the same stream, bit for bit, on every
// machine: the engine (xoshiro256**) and the conversions to floats and normals are all
// written here, not taken from the standard library, whose distributions vary.
#include <array>
#include <cstdint>
#include <utility>

namespace cajal {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint64_t seed() const { return seed_; }
  uint64_t next_u64();
  // Uniform in [0, 1) with 24 (float) or 53 (double) random bits.
  float next_float();
  double next_double();
  // Standard normal: the first value of next_normal_pair(), the second discarded, so that
  // every call consumes exactly two 64-bit draws and state() needs no cached value.
  double next_normal();
  // Two independent standard normals (Box-Muller on two uniforms); randn fills with these.
  std::pair<double, double> next_normal_pair();
  // Full state (the four xoshiro words, then the seed), for checkpoints that resume bit for bit.
  std::array<uint64_t, 5> state() const;
  void set_state(const std::array<uint64_t, 5>& s);

 private:
  uint64_t seed_ = 0;
  std::array<uint64_t, 4> s_{};
};

// The generator used when none is passed.
Generator& default_generator();
// Seeds the default generator (like torch.manual_seed).
void manual_seed(uint64_t seed);

}  // namespace cajal
