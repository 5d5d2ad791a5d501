// Datasets: indexing, collation, subsets, splits, concatenation, per-example transforms
// and .npy pairs. The oracle is the definition: which example lands where.
#include <algorithm>
#include <numeric>
#include <set>

#include "cajal/data/dataset.h"
#include "cajal/data/npy_pair.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using data::DatasetPtr;
using data::Example;

// Example i: input [2] = {i, -i} (float32), target i (int64).
DatasetPtr numbered(int64_t n) {
  return data::lambda_dataset(n, [](int64_t i) {
    return Example{tensor({float(i), -float(i)}), scalar_tensor(i, DType::i64)};
  }, "numbered");
}

std::vector<int64_t> targets_of(const data::Dataset& d) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < d.size(); ++i) out.push_back(d.get(i).target.item<int64_t>());
  return out;
}

TEST(TensorDataset, ExamplesAreRowsAndErrorsNameShapes) {
  const Tensor inputs = test::iota({5, 2, 3});
  const Tensor targets = test::iota({5}, DType::i64);
  const DatasetPtr d = data::tensor_dataset(inputs, targets);
  EXPECT_EQ(d->size(), 5);
  const Example e = d->get(3);
  EXPECT_TRUE(test::all_close(e.input, inputs[3], 0, 0));
  EXPECT_EQ(e.target.item<int64_t>(), 3);
  EXPECT_EQ(d->describe(), "TensorDataset(5 examples, input [2, 3] float32, target [] int64)");
  test::expect_error<IndexError>([&] { d->get(5); }, {"index 5 is out of range", "TensorDataset(5 examples"});
  test::expect_error<IndexError>([&] { d->get(-1); }, {"index -1"});
  test::expect_error<ShapeError>([] { data::tensor_dataset(test::iota({5, 2}), test::iota({4})); },
                                 {"5 inputs but 4 targets", "[5, 2]", "[4]"});
  test::expect_error<ShapeError>([] { data::tensor_dataset(test::iota({5}), scalar_tensor(1)); }, {"first (example) dim"});
}

TEST(Collate, StacksAlongANewFirstDim) {
  const DatasetPtr d = numbered(4);
  const data::Batch batch = data::collate({d->get(2), d->get(0), d->get(3)});
  EXPECT_EQ(batch.size, 3);
  EXPECT_TRUE(test::all_close(batch.input, tensor({2.f, -2.f, 0.f, 0.f, 3.f, -3.f}, {3, 2}), 0, 0));
  EXPECT_EQ(batch.target.sizes(), Dims({3}));
  EXPECT_EQ(batch.target.to_vector<int64_t>(), (std::vector<int64_t>{2, 0, 3}));

  test::expect_error<ValueError>([] { data::collate({}); }, {"no examples"});
  test::expect_error<DTypeError>([&] { data::collate({d->get(0), Example{tensor({1.0, 2.0}), scalar_tensor(1, DType::i64)}}); },
                                 {"example 1 has input dtype float64 but example 0 has float32"});
  test::expect_error<ShapeError>([&] { data::collate({d->get(0), Example{tensor({1.f}), scalar_tensor(1, DType::i64)}}); },
                                 {"example 1 has input shape [1] but example 0 has [2]"});
}

TEST(Subset, PicksIndicesInOrder) {
  const DatasetPtr s = data::subset(numbered(10), {7, 2, 2, 9});
  EXPECT_EQ(targets_of(*s), (std::vector<int64_t>{7, 2, 2, 9}));
  EXPECT_EQ(s->describe(), "Subset(4 of numbered(10 examples))");
  test::expect_error<IndexError>([] { data::subset(numbered(10), {1, 10}); }, {"index 10 (position 1)", "numbered(10"});
}

TEST(RandomSplit, PartsPartitionTheDatasetAndDependOnlyOnTheSeed) {
  const DatasetPtr d = numbered(11);
  const std::vector<DatasetPtr> parts = data::random_split(d, {0.5, 0.3, 0.2}, 42);
  // floor(5.5, 3.3, 2.2) = 5, 3, 2; the one example left over goes to the first part.
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0]->size(), 6);
  EXPECT_EQ(parts[1]->size(), 3);
  EXPECT_EQ(parts[2]->size(), 2);
  std::vector<int64_t> all;
  for (const DatasetPtr& p : parts)
    for (int64_t t : targets_of(*p)) all.push_back(t);
  std::vector<int64_t> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> expected(11);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(sorted, expected);     // every example once
  EXPECT_NE(all, expected);        // and shuffled

  const std::vector<DatasetPtr> again = data::random_split(d, {0.5, 0.3, 0.2}, 42);
  const std::vector<DatasetPtr> other = data::random_split(d, {0.5, 0.3, 0.2}, 43);
  EXPECT_EQ(targets_of(*again[0]), targets_of(*parts[0]));
  EXPECT_NE(targets_of(*other[0]), targets_of(*parts[0]));

  const data::TrainValSplit split = data::train_val_split(numbered(100), 0.2, 7);
  EXPECT_EQ(split.train->size(), 80);
  EXPECT_EQ(split.val->size(), 20);
  std::set<int64_t> seen;
  for (int64_t t : targets_of(*split.train)) seen.insert(t);
  for (int64_t t : targets_of(*split.val)) EXPECT_FALSE(seen.count(t)) << t;

  test::expect_error<ValueError>([&] { data::random_split(d, {0.5, 0.4}, 0); }, {"sum to 0.9"});
  test::expect_error<ValueError>([&] { data::random_split(d, {1.5, -0.5}, 0); }, {"in (0, 1], got 1.5"});
  test::expect_error<ValueError>([&] { data::train_val_split(d, 1.0, 0); }, {"val_fraction must be in (0, 1), got 1"});
}

TEST(ConcatDataset, JoinsPartsInOrder) {
  const DatasetPtr c = data::concat({numbered(3), data::subset(numbered(10), {9, 8}), numbered(0), numbered(2)});
  EXPECT_EQ(c->size(), 7);
  EXPECT_EQ(targets_of(*c), (std::vector<int64_t>{0, 1, 2, 9, 8, 0, 1}));
  test::expect_error<IndexError>([&] { c->get(7); }, {"index 7", "ConcatDataset(7 examples"});
}

// Adds uniform noise from the example's generator to the input.
Example add_noise(Example e, Generator& gen) {
  return {e.input + rand(e.input.sizes(), {}, &gen), e.target};
}

TEST(TransformDataset, AugmentationIsAFunctionOfSeedEpochAndIndex) {
  const DatasetPtr base = numbered(6);
  const DatasetPtr noisy = data::transform(base, add_noise, 11, "noise");
  EXPECT_EQ(noisy->size(), 6);
  EXPECT_EQ(noisy->describe(), "TransformDataset(noise of numbered(6 examples))");

  // The noise is exactly what a generator seeded with example_seed(11, epoch, index) draws.
  for (int64_t epoch : {0, 3}) {
    Generator gen(data::example_seed(11, epoch, 4));
    const Tensor expected = base->get(4).input + rand({2}, {}, &gen);
    EXPECT_TRUE(test::all_close(noisy->get_in_epoch(4, epoch).input, expected, 0, 0));
  }
  EXPECT_TRUE(test::all_close(noisy->get(4).input, noisy->get_in_epoch(4, 0).input, 0, 0));
  EXPECT_FALSE(test::all_close(noisy->get_in_epoch(4, 1).input, noisy->get_in_epoch(4, 0).input, 0, 1e-3));
  EXPECT_FALSE(test::all_close(noisy->get_in_epoch(3, 0).input + 1, noisy->get_in_epoch(4, 0).input, 0, 1e-3));
  EXPECT_NE(data::example_seed(11, 0, 4), data::example_seed(12, 0, 4));

  // Wrappers pass the epoch through to the transform.
  const DatasetPtr wrapped = data::concat({numbered(1), data::subset(noisy, {5, 4})});
  EXPECT_TRUE(test::all_close(wrapped->get_in_epoch(2, 3).input, noisy->get_in_epoch(4, 3).input, 0, 0));
}

TEST(NpyPair, LoadsBothFilesAndChecksCounts) {
  const std::string dir = test::temp_dir();
  save_npy(test::iota({4, 3}), dir + "/x.npy");
  save_npy(test::iota({4}, DType::i64), dir + "/y.npy");
  save_npy(test::iota({3}, DType::i64), dir + "/y3.npy");
  const DatasetPtr d = data::load_npy_pair(dir + "/x.npy", dir + "/y.npy");
  EXPECT_EQ(d->size(), 4);
  EXPECT_TRUE(test::all_close(d->get(2).input, tensor({6.f, 7.f, 8.f}), 0, 0));
  EXPECT_EQ(d->get(2).target.item<int64_t>(), 2);
  test::expect_error<IOError>([&] { data::load_npy_pair(dir + "/x.npy", dir + "/y3.npy"); },
                              {"inputs [4, 3] in", "x.npy", "targets [3] in", "y3.npy"});
}

}  // namespace
}  // namespace cajal

namespace cajal {
namespace {

// Ten examples, input i and label i % 5.
data::DatasetPtr labelled_ten() {
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 10; ++i) labels.push_back(i % 5);
  return data::tensor_dataset(arange(10).to(DType::f32).reshape({10, 1}), from_vector(labels, {10}));
}

TEST(TaskSelection, SelectClassesKeepsAndRenumbers) {
  data::DatasetPtr task = data::select_classes(labelled_ten(), {3, 1});
  ASSERT_EQ(task->size(), 4);
  // Examples 1, 3, 6, 8 (labels 1, 3, 1, 3) in dataset order; class 3 is now 0, class 1 is 1.
  const std::vector<std::pair<float, int64_t>> expected = {{1, 1}, {3, 0}, {6, 1}, {8, 0}};
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(task->get(i).input.item<float>(), expected[i].first);
    EXPECT_EQ(task->get(i).target.item<int64_t>(), expected[i].second);
  }
  test::expect_error<ValueError>([] { data::select_classes(labelled_ten(), {1, 9}); }, {"no example of class 9"});
  test::expect_error<ValueError>([] { data::select_classes(labelled_ten(), {1, 1}); }, {"class 1 is listed twice"});
}

TEST(TaskSelection, TakePerClassDrawsBySeed) {
  data::DatasetPtr few = data::take_per_class(labelled_ten(), 1, 7);
  ASSERT_EQ(few->size(), 5);
  std::vector<int64_t> seen;
  for (int64_t i = 0; i < 5; ++i) seen.push_back(few->get(i).target.item<int64_t>());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  // Another seed picks another subset somewhere (two of each class: 2^5 subsets).
  bool differs = false;
  for (uint64_t seed = 8; seed < 16 && !differs; ++seed) {
    data::DatasetPtr other = data::take_per_class(labelled_ten(), 1, seed);
    for (int64_t i = 0; i < 5; ++i) differs = differs || other->get(i).input.item<float>() != few->get(i).input.item<float>();
  }
  EXPECT_TRUE(differs);
  EXPECT_EQ(data::take_per_class(labelled_ten(), 2, 7)->size(), 10);
  test::expect_error<ValueError>([] { data::take_per_class(labelled_ten(), 3, 7); }, {"3 examples of class 0 asked for", "has 2"});
}

}  // namespace
}  // namespace cajal
