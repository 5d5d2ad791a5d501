// Random ops: bit-for-bit reproducibility from a seed (the tensors are the Generator's
// stream in row-major order), and distributions checked against their exact moments,
// CDFs and chi-square critical values.
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "support/test_support.h"

using namespace cajal;

namespace {

double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

double variance_of(const std::vector<double>& x) {
  double m = mean_of(x), s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return s / static_cast<double>(x.size() - 1);
}

// Kolmogorov-Smirnov distance between the sample and a CDF.
template <typename Cdf>
double ks_distance(std::vector<double> x, Cdf cdf) {
  std::sort(x.begin(), x.end());
  double n = static_cast<double>(x.size()), d = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double c = cdf(x[i]);
    d = std::max({d, (static_cast<double>(i) + 1) / n - c, c - static_cast<double>(i) / n});
  }
  return d;
}

// Pearson's chi-square of observed counts against equal expected counts.
double chi_square(const std::vector<int64_t>& counts, int64_t total) {
  double expected = static_cast<double>(total) / static_cast<double>(counts.size()), chi2 = 0;
  for (int64_t c : counts) chi2 += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  return chi2;
}

std::vector<unsigned char> bits_of(const Tensor& t) {  // raw bytes, for bit-for-bit comparisons
  const auto* p = static_cast<const unsigned char*>(t.raw_data());
  return std::vector<unsigned char>(p, p + static_cast<size_t>(t.numel()) * t.element_size());
}

}  // namespace

TEST(Random, SameSeedSameTensorsDifferentSeedsDiffer) {
  for (auto make : {+[](Generator* g) { return rand({100}, {}, g); }, +[](Generator* g) { return randn({100}, {.dtype = DType::f64}, g); },
                    +[](Generator* g) { return randint(-50, 50, {100}, {.dtype = DType::i64}, g); },
                    +[](Generator* g) { return bernoulli({100}, 0.5, {}, g); },
                    +[](Generator* g) { return randperm(100, g); }}) {
    Generator a(3), b(3), c(4);
    Tensor x = make(&a);
    EXPECT_EQ(bits_of(x), bits_of(make(&b)));
    EXPECT_NE(bits_of(x), bits_of(make(&c)));
  }
  manual_seed(8);  // the default generator
  Tensor first = randn({50});
  manual_seed(8);
  EXPECT_EQ(bits_of(randn({50})), bits_of(first));
}

// The tensors are the generator's stream, element by element in row-major order.
TEST(Random, TensorsAreTheGeneratorStreamInOrder) {
  Generator g(21), reference(21);
  std::vector<double> d = rand({3, 4}, {.dtype = DType::f64}, &g).to_vector<double>();
  std::vector<float> f = rand({5}, {}, &g).to_vector<float>();
  std::vector<float> n = randn({2, 2}, {}, &g).to_vector<float>();
  std::vector<double> odd = randn({3}, {.dtype = DType::f64}, &g).to_vector<double>();
  for (double v : d) EXPECT_EQ(v, reference.next_double());
  for (float v : f) EXPECT_EQ(v, reference.next_float());
  for (int k = 0; k < 2; ++k) {  // both values of each Box-Muller pair
    auto [first, second] = reference.next_normal_pair();
    EXPECT_EQ(n[2 * k], static_cast<float>(first));
    EXPECT_EQ(n[2 * k + 1], static_cast<float>(second));
  }
  auto [first, second] = reference.next_normal_pair();
  EXPECT_EQ(odd[0], first);
  EXPECT_EQ(odd[1], second);
  EXPECT_EQ(odd[2], reference.next_normal());  // an odd tail uses one more pair's first value
  EXPECT_EQ(g.state(), reference.state());
}

TEST(Random, IndependentOfThreadCount) {
  int threads = num_threads();
  set_num_threads(1);
  Generator a(5);
  Tensor one = randn({200000}, {}, &a);
  set_num_threads(std::max(threads, 2));
  Generator b(5);
  Tensor two = randn({200000}, {}, &b);
  set_num_threads(threads);
  EXPECT_EQ(bits_of(one), bits_of(two));
}

TEST(Random, StateResumesTensorsExactly) {
  Generator g(77);
  rand({10}, {}, &g);
  auto saved = g.state();
  Tensor x = randn({1000}, {.dtype = DType::f64}, &g);
  Tensor p = randperm(50, &g);
  g.set_state(saved);
  EXPECT_EQ(bits_of(randn({1000}, {.dtype = DType::f64}, &g)), bits_of(x));
  EXPECT_EQ(bits_of(randperm(50, &g)), bits_of(p));
}

TEST(Random, RandIsUniformOnZeroOne) {
  Generator g(1);
  for (DType dtype : {DType::f32, DType::f64, DType::bf16}) {
    Tensor t = rand({2000, 50}, {.dtype = dtype}, &g);
    EXPECT_EQ(t.dtype(), dtype);
    EXPECT_EQ(t.sizes(), Dims({2000, 50}));
    std::vector<double> x = t.to_vector<double>();
    EXPECT_GE(*std::min_element(x.begin(), x.end()), 0.0);
    EXPECT_LT(*std::max_element(x.begin(), x.end()), 1.0);
    double n = static_cast<double>(x.size());
    EXPECT_NEAR(mean_of(x), 0.5, 5 * std::sqrt(1.0 / 12 / n)) << dtype;
    if (dtype != DType::bf16) {  // bf16 has 256 levels: its CDF is a staircase
      EXPECT_LT(ks_distance(x, [](double v) { return v; }), 1.95 / std::sqrt(n)) << dtype;  // 0.1% critical value
    }
  }
}

TEST(Random, RandnIsStandardNormal) {
  Generator g(2);
  Tensor t = randn({1000, 1000}, {}, &g);
  std::vector<double> x = t.to_vector<double>();
  double n = static_cast<double>(x.size());
  EXPECT_NEAR(mean_of(x), 0, 5 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(variance_of(x)), 1, 5 * std::sqrt(0.5 / n));  // standard error of a std is sigma/sqrt(2n)
  std::vector<double> sub(x.begin(), x.begin() + 100000);
  EXPECT_LT(ks_distance(sub, [](double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); }), 1.95 / std::sqrt(1e5));
  Tensor b = randn({1000}, {.dtype = DType::bf16}, &g);
  EXPECT_EQ(b.dtype(), DType::bf16);
  EXPECT_NEAR(mean_of(b.to_vector<double>()), 0, 5 / std::sqrt(1000.0));
}

TEST(Random, FloatingOnlyAndOptions) {
  EXPECT_THROW(rand({2}, {.dtype = DType::i64}), DTypeError);
  EXPECT_THROW(randn({2}, {.dtype = DType::boolean}), DTypeError);
  try {
    randn({2}, {.dtype = DType::i32});
    ADD_FAILURE() << "randn of int32 did not throw";
  } catch (const DTypeError& e) {
    EXPECT_NE(std::string(e.what()).find("randn: expected a floating point dtype, got int32"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(rand({2}, {.requires_grad = true}).requires_grad());
  EXPECT_EQ(rand({}).dim(), 0);
  EXPECT_EQ(randn({0, 3}).numel(), 0);
}

TEST(Random, RandintBoundsAndFrequencies) {
  Generator g(9);
  const int64_t n = 100000;
  std::vector<int64_t> x = randint(-3, 7, {n}, {.dtype = DType::i64}, &g).to_vector<int64_t>();
  std::vector<int64_t> counts(10, 0);
  for (int64_t v : x) {
    ASSERT_GE(v, -3);
    ASSERT_LT(v, 7);
    ++counts[v + 3];
  }
  EXPECT_LT(chi_square(counts, n), 27.88);  // chi-square, 9 degrees of freedom, 0.1% critical value

  // A range that does not divide 2^64 evenly: rejection keeps it unbiased.
  int64_t third = int64_t{3} << 61;  // 3 * 2^61: plain modulo would favour the lower two thirds 3:3:2
  std::vector<int64_t> big = randint(0, third, {30000}, {.dtype = DType::i64}, &g).to_vector<int64_t>();
  std::vector<int64_t> thirds(3, 0);
  for (int64_t v : big) ++thirds[v / (third / 3)];
  EXPECT_LT(chi_square(thirds, 30000), 13.82);  // 2 degrees of freedom

  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> full = randint(lo, hi, {1000}, {.dtype = DType::i64}, &g).to_vector<int64_t>();
  EXPECT_LT(*std::min_element(full.begin(), full.end()), 0);  // both signs appear
  EXPECT_GT(*std::max_element(full.begin(), full.end()), 0);
}

TEST(Random, RandintEveryDType) {
  Generator g(10);
  struct Case {
    DType dtype;
    int64_t low, high;
  };
  for (Case c : {Case{DType::u8, 0, 256}, Case{DType::i32, -2147483648LL, 2147483647LL}, Case{DType::boolean, 0, 2},
                 Case{DType::f32, -5, 5}, Case{DType::f64, 100, 103}, Case{DType::bf16, -256, 256}}) {
    Tensor t = randint(c.low, c.high, {5000}, {.dtype = c.dtype}, &g);
    EXPECT_EQ(t.dtype(), c.dtype);
    std::vector<double> x = t.to_vector<double>();
    std::map<double, int> seen;
    for (double v : x) {
      ASSERT_EQ(v, std::floor(v));
      ASSERT_GE(v, static_cast<double>(c.low));
      ASSERT_LT(v, static_cast<double>(c.high));
      ++seen[v];
    }
    if (c.high - c.low <= 10) {
      EXPECT_EQ(static_cast<int64_t>(seen.size()), c.high - c.low) << c.dtype;
    }
  }
  EXPECT_THROW(randint(5, 5, {3}), ValueError);
  EXPECT_THROW(randint(0, 257, {3}, {.dtype = DType::u8}), ValueError);
  EXPECT_THROW(randint(-1, 1, {3}, {.dtype = DType::u8}), ValueError);
  EXPECT_THROW(randint(0, 3, {3}, {.dtype = DType::boolean}), ValueError);
  EXPECT_THROW(randint(0, (1 << 24) + 2, {3}, {.dtype = DType::f32}), ValueError);
  EXPECT_NO_THROW(randint(0, (1 << 24) + 1, {3}, {.dtype = DType::f32}));
}

TEST(Random, BernoulliScalarFrequencies) {
  Generator g(12);
  const int64_t n = 100000;
  for (DType dtype : {DType::f32, DType::boolean, DType::i64}) {
    Tensor t = bernoulli({n}, 0.3, {.dtype = dtype}, &g);
    EXPECT_EQ(t.dtype(), dtype);
    std::vector<double> x = t.to_vector<double>();
    for (double v : x) ASSERT_TRUE(v == 0 || v == 1);
    EXPECT_NEAR(mean_of(x), 0.3, 5 * std::sqrt(0.3 * 0.7 / n)) << dtype;
  }
  EXPECT_EQ(bernoulli({1000}, 0.0, {}, &g).sum().item(), 0);
  EXPECT_EQ(bernoulli({1000}, 1.0, {}, &g).sum().item(), 1000);
  EXPECT_THROW(bernoulli({3}, 1.5), ValueError);
  EXPECT_THROW(bernoulli({3}, -0.1), ValueError);
  EXPECT_THROW(bernoulli({3}, std::nan("")), ValueError);
}

TEST(Random, BernoulliFromProbabilityTensor) {
  Generator g(13);
  const int64_t n = 20000;
  // One probability per row, broadcast along columns: a stride-0 view.
  Tensor p = tensor({0.0, 0.25, 0.5, 0.9, 1.0}, {5, 1}).expand({5, n});
  Tensor out = bernoulli(p, &g);
  EXPECT_EQ(out.dtype(), DType::f64);
  EXPECT_EQ(out.sizes(), Dims({5, n}));
  const double probs[] = {0.0, 0.25, 0.5, 0.9, 1.0};
  for (int64_t r = 0; r < 5; ++r) {
    std::vector<double> row = out[r].to_vector<double>();
    for (double v : row) ASSERT_TRUE(v == 0 || v == 1);
    double q = probs[r];
    EXPECT_NEAR(mean_of(row), q, 5 * std::sqrt(q * (1 - q) / n) + 1e-12) << "p = " << q;
  }
  EXPECT_EQ(bernoulli(tensor({0.5f}), &g).dtype(), DType::f32);
  EXPECT_THROW(bernoulli(tensor({0.5, 1.2})), ValueError);
  EXPECT_THROW(bernoulli(tensor({0, 1})), DTypeError);
}

TEST(Random, RandpermIsAUniformPermutation) {
  Generator g(14);
  for (int64_t n : {0, 1, 2, 17, 1000}) {
    std::vector<int64_t> perm = randperm(n, &g).to_vector<int64_t>();
    std::sort(perm.begin(), perm.end());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(perm[i], i);
  }
  // All 6 orders of 3 elements equally often.
  const int64_t trials = 60000;
  std::map<std::vector<int64_t>, int64_t> orders;
  for (int64_t t = 0; t < trials; ++t) ++orders[randperm(3, &g).to_vector<int64_t>()];
  ASSERT_EQ(orders.size(), 6u);
  std::vector<int64_t> counts;
  for (auto& [order, count] : orders) counts.push_back(count);
  EXPECT_LT(chi_square(counts, trials), 20.52);  // 5 degrees of freedom, 0.1% critical value
  EXPECT_THROW(randperm(-1), ValueError);
}
