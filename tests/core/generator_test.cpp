// The Generator: published reference outputs for splitmix64 and xoshiro256**, exact resume
// from state(), and the distributions of its floats and normals.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "support/test_support.h"

using namespace cajal;

namespace {

constexpr int kSamples = 1000000;

struct Moments {
  double mean, variance;
};

Moments moments(const std::vector<double>& x) {
  double mean = 0, m2 = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (double v : x) m2 += (v - mean) * (v - mean);
  return {mean, m2 / static_cast<double>(x.size() - 1)};
}

}  // namespace

// splitmix64's published first outputs (from the reference splitmix64.c) fill the state.
TEST(Generator, SeedingIsSplitMix64) {
  EXPECT_EQ(Generator(0).state(), (std::array<uint64_t, 5>{0xE220A8397B1DCDAFULL, 0x6E789E6AA1B965F4ULL,
                                                            0x06C45D188009454FULL, 0xF88BB8A8724C81ECULL, 0}));
  EXPECT_EQ(Generator(1234567).state(),
            (std::array<uint64_t, 5>{6457827717110365317ULL, 3203168211198807973ULL, 9817491932198370423ULL,
                                     4593380528125082431ULL, 1234567}));
}

// The reference xoshiro256** outputs from state {1, 2, 3, 4} (as in rand_xoshiro's tests).
TEST(Generator, MatchesXoshiro256StarStarReference) {
  Generator g;
  g.set_state({1, 2, 3, 4, 0});
  const uint64_t expected[] = {11520ULL, 0ULL, 1509978240ULL, 1215971899390074240ULL, 1216172134540287360ULL,
                               607988272756665600ULL, 16172922978634559625ULL, 8476171486693032832ULL,
                               10595114339597558777ULL, 2904607092377533576ULL};
  for (uint64_t e : expected) EXPECT_EQ(g.next_u64(), e);
}

TEST(Generator, SameSeedSameStreamDifferentSeedsDiffer) {
  Generator a(42), b(42), c(43);
  int same_as_c = 0;
  for (int i = 0; i < 1000; ++i) {
    uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    same_as_c += x == c.next_u64();
  }
  EXPECT_EQ(same_as_c, 0);
  a.manual_seed(42);
  EXPECT_EQ(a.state(), Generator(42).state());
  EXPECT_EQ(a.seed(), 42u);
}

TEST(Generator, StateResumesExactly) {
  Generator g(2024);
  for (int i = 0; i < 7; ++i) g.next_normal();
  std::array<uint64_t, 5> saved = g.state();
  auto draw_mix = [](Generator& gen) {
    std::vector<double> out;
    for (int i = 0; i < 50; ++i) {
      out.push_back(static_cast<double>(gen.next_u64() >> 12));
      out.push_back(gen.next_float());
      out.push_back(gen.next_double());
      out.push_back(gen.next_normal());
    }
    return out;
  };
  std::vector<double> first = draw_mix(g);
  g.set_state(saved);
  EXPECT_EQ(draw_mix(g), first);
  Generator other(7);  // another object resumes the same way, seed included
  other.set_state(saved);
  EXPECT_EQ(other.seed(), 2024u);
  EXPECT_EQ(draw_mix(other), first);
}

TEST(Generator, NextNormalIsTheFirstOfAPair) {
  Generator a(31), b(31);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_normal(), b.next_normal_pair().first);
  EXPECT_EQ(a.state(), b.state());
}

TEST(Generator, AllZeroStateIsRejected) {
  Generator g;
  EXPECT_THROW(g.set_state({0, 0, 0, 0, 5}), ValueError);
}

TEST(Generator, DefaultGeneratorAndManualSeed) {
  manual_seed(99);
  EXPECT_EQ(default_generator().state(), Generator(99).state());
  uint64_t x = default_generator().next_u64();
  manual_seed(99);
  EXPECT_EQ(default_generator().next_u64(), x);
}

// Floats are k-bit fractions m / 2^k (k = 24 or 53) in [0, 1), using all k bits.
TEST(Generator, UniformFloatsUseTheirFullPrecision) {
  Generator g(5);
  bool float_low_bit = false, double_low_bit = false;
  std::vector<double> doubles;
  for (int i = 0; i < 100000; ++i) {
    float f = g.next_float();
    double d = g.next_double();
    ASSERT_TRUE(f >= 0 && f < 1);
    ASSERT_TRUE(d >= 0 && d < 1);
    double fm = static_cast<double>(f) * 0x1.0p24, dm = d * 0x1.0p53;
    ASSERT_EQ(fm, std::floor(fm));
    ASSERT_EQ(dm, std::floor(dm));
    float_low_bit |= std::fmod(fm, 2) == 1;
    double_low_bit |= std::fmod(dm, 2) == 1;
    doubles.push_back(d);
  }
  EXPECT_TRUE(float_low_bit);
  EXPECT_TRUE(double_low_bit);
  Moments m = moments(doubles);
  double n = static_cast<double>(doubles.size());
  EXPECT_NEAR(m.mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));  // 5 standard errors
  EXPECT_NEAR(m.variance, 1.0 / 12, 5 * std::sqrt(1.0 / 180 / n));  // Var of (U - 1/2)^2 is 1/180
}

// Mean, variance and fourth moment of a million normals, each within 5 standard errors, and
// the Kolmogorov-Smirnov distance to the normal CDF below its 0.1% critical value.
TEST(Generator, NormalsAreStandardNormal) {
  Generator g(11);
  std::vector<double> x(kSamples);
  double cross = 0;  // sum of first * second over the pairs
  for (size_t i = 0; i < x.size(); i += 2) {
    std::tie(x[i], x[i + 1]) = g.next_normal_pair();
    cross += x[i] * x[i + 1];
  }
  double n = kSamples;
  EXPECT_NEAR(cross / (n / 2), 0, 5 / std::sqrt(n / 2));  // the two values of a pair are uncorrelated
  Moments m = moments(x);
  EXPECT_NEAR(m.mean, 0, 5 / std::sqrt(n));
  EXPECT_NEAR(m.variance, 1, 5 * std::sqrt(2 / n));
  double fourth = 0;
  for (double v : x) fourth += v * v * v * v;
  EXPECT_NEAR(fourth / n, 3, 5 * std::sqrt(96 / n));  // E x^4 = 3, Var x^4 = 105 - 9

  std::sort(x.begin(), x.end());
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double cdf = 0.5 * std::erfc(-x[i] / std::sqrt(2.0));
    d = std::max({d, (static_cast<double>(i) + 1) / n - cdf, cdf - static_cast<double>(i) / n});
  }
  EXPECT_LT(d, 1.95 / std::sqrt(n));
}
