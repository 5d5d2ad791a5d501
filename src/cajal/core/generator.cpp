// The seeded generator: xoshiro256** (Blackman and Vigna, https://prng.di.unimi.it/), its
// four state words filled from the seed by splitmix64, as the authors recommend.
//
// Normals: Box-Muller turns two uniforms into two normals. next_normal() returns the first
// and discards its partner instead of caching it (randn uses both, via next_normal_pair).
// Every draw then consumes whole 64-bit outputs, so the generator is just its four xoshiro
// words: state() adds the seed as the fifth word (so seed() survives set_state), and
// set_state() resumes bit for bit.
//
// Integers and uniforms are pure integer arithmetic, identical everywhere; normals go
// through the C library's log, sin and cos, so they are bit-identical wherever it is.
#include "cajal/core/generator.h"

#include <cmath>
#include <numbers>

#include "cajal/core/error.h"

namespace cajal {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

void Generator::manual_seed(uint64_t seed) {
  seed_ = seed;
  uint64_t x = seed;
  for (uint64_t& word : s_) word = splitmix64(x);  // never all zero: splitmix64 is a bijection
}

uint64_t Generator::next_u64() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

// The top bits are the best ones of xoshiro256**; k of them over 2^k is exact in the type.
float Generator::next_float() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
double Generator::next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

std::pair<double, double> Generator::next_normal_pair() {
  double u1 = next_double(), u2 = next_double();
  double radius = std::sqrt(-2.0 * std::log(1.0 - u1));  // 1 - u1 is in (0, 1]: log is finite
  double angle = 2.0 * std::numbers::pi * u2;
  return {radius * std::cos(angle), radius * std::sin(angle)};
}

double Generator::next_normal() { return next_normal_pair().first; }

std::array<uint64_t, 5> Generator::state() const { return {s_[0], s_[1], s_[2], s_[3], seed_}; }

void Generator::set_state(const std::array<uint64_t, 5>& s) {
  if ((s[0] | s[1] | s[2] | s[3]) == 0)
    fail<ValueError>("Generator::set_state: the four xoshiro words are all zero, a state the generator never reaches "
                     "(it would only produce zeros)");
  s_ = {s[0], s[1], s[2], s[3]};
  seed_ = s[4];
}

Generator& default_generator() {
  static Generator generator;  // seed 0 until manual_seed
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace cajal
