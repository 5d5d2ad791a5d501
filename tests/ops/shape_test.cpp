// Joining, splitting, flipping, repeating and padding: values against hand-computed
// results (following PyTorch's documented behaviour), float64 gradient checks on contiguous
// and non-contiguous inputs, second derivatives, and the errors of common mistakes.
#include "support/test_support.h"

using namespace cajal;

// --- cat and stack ---

TEST(Cat, JoinsAlongAnyDim) {
  Tensor a = test::iota({2, 3});
  EXPECT_TRUE(test::all_close(cat({a, tensor({6.f, 7.f, 8.f}, {1, 3})}, 0), test::iota({3, 3})));
  Tensor joined = cat({a, tensor({10.f, 11.f}, {2, 1})}, -1);
  EXPECT_TRUE(test::all_close(joined, tensor({0.f, 1.f, 2.f, 10.f, 3.f, 4.f, 5.f, 11.f}, {2, 4})));
  // A non-contiguous input is read through its strides.
  EXPECT_TRUE(test::all_close(cat({a.t(), a.t()}, 1),
                              tensor({0.f, 3.f, 0.f, 3.f, 1.f, 4.f, 1.f, 4.f, 2.f, 5.f, 2.f, 5.f}, {3, 4})));
}

TEST(Cat, PromotesDtypesAndSkipsEmptyVectors) {
  Tensor mixed = cat({tensor({1, 2}), tensor({0.5f})});
  EXPECT_EQ(mixed.dtype(), DType::f32);
  EXPECT_TRUE(test::all_close(mixed, tensor({1.f, 2.f, 0.5f})));
  // PyTorch's legacy rule: a 1-D empty tensor joins anything.
  Tensor a = test::iota({2, 3});
  EXPECT_TRUE(test::all_close(cat({zeros({0}), a, zeros({0})}, 1), a));
}

TEST(Cat, Gradients) {
  test::expect_gradcheck(
      [](const TensorList& x) {
        return cat({x[0], x[1], x[2]}, 1);
      },
      {test::gradcheck_leaf({2, 3}), test::gradcheck_leaf_transposed(2, 4, 1.0), test::gradcheck_leaf({2, 1}, 2.0)});
  test::expect_gradcheck(
      [](const TensorList& x) {
        return cat({x[0], x[1]}, 0).square();
      },
      {test::gradcheck_leaf_transposed(3, 2), test::gradcheck_leaf({1, 2}, 0.7)}, true);
  // An integer input promotes to float64 and takes no gradient, even in second order.
  test::expect_gradcheck(
      [](const TensorList& x) {
        return cat({x[0], tensor({1, 2})}).square();
      },
      {test::gradcheck_leaf({3})}, true);
}

TEST(Cat, Errors) {
  test::expect_error<ShapeError>([] { cat({zeros({2, 3}), zeros({3, 4})}, 0); }, {"cat", "[2, 3]", "[3, 4]", "dim 1"});
  test::expect_error<ShapeError>([] { cat({zeros({2, 3}), zeros({2, 3, 1})}, 0); }, {"cat", "2 dims", "3"});
  test::expect_error<ValueError>([] { cat({}, 0); }, {"cat", "non-empty"});
  test::expect_error<ShapeError>([] { cat({zeros({}), zeros({})}, 0); }, {"cat", "zero-dimensional"});
  test::expect_error<IndexError>([] { cat({zeros({2}), zeros({2})}, 1); }, {"cat", "dim 1"});
}

TEST(Stack, NewDimAndGradient) {
  Tensor a = tensor({1.f, 2.f}), b = tensor({3.f, 4.f});
  EXPECT_TRUE(test::all_close(stack({a, b}), tensor({1.f, 2.f, 3.f, 4.f}, {2, 2})));
  EXPECT_TRUE(test::all_close(stack({a, b}, 1), tensor({1.f, 3.f, 2.f, 4.f}, {2, 2})));
  EXPECT_EQ(stack({zeros({}), zeros({})}).sizes(), (Dims{2}));
  EXPECT_EQ(stack({zeros({2, 3}), zeros({2, 3})}, -1).sizes(), (Dims{2, 3, 2}));
  test::expect_gradcheck(
      [](const TensorList& x) {
        return stack({x[0], x[1]}, 1).square();
      },
      {test::gradcheck_leaf({3, 2}), test::gradcheck_leaf_transposed(3, 2, 1.1)}, true);
  test::expect_error<ShapeError>([] { stack({zeros({2, 3}), zeros({2, 4})}); }, {"stack", "[2, 3]", "[2, 4]"});
}

// --- split and chunk ---

TEST(Split, PiecesAreViews) {
  Tensor x = test::iota({5, 2});
  TensorList pieces = split(x, 2);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].sizes(), (Dims{2, 2}));
  EXPECT_EQ(pieces[2].sizes(), (Dims{1, 2}));
  EXPECT_TRUE(test::all_close(pieces[2], tensor({8.f, 9.f}, {1, 2})));
  EXPECT_EQ(pieces[1].impl()->storage, x.impl()->storage);  // no copy
  TensorList sized = split(x, Dims{1, 4});
  ASSERT_EQ(sized.size(), 2u);
  EXPECT_TRUE(test::all_close(sized[0], tensor({0.f, 1.f}, {1, 2})));
  TensorList columns = split(x, 1, -1);
  ASSERT_EQ(columns.size(), 2u);
  EXPECT_TRUE(test::all_close(columns[1], tensor({1.f, 3.f, 5.f, 7.f, 9.f}, {5, 1})));
  EXPECT_EQ(split(zeros({0, 3}), 2).size(), 1u);  // an empty dim gives one empty piece
}

TEST(Split, Chunk) {
  // torch.chunk: pieces of ceil(size / chunks), so 6 in 4 chunks gives 3 pieces of 2.
  EXPECT_EQ(chunk(zeros({6}), 4).size(), 3u);
  TensorList pieces = chunk(test::iota({5}), 3);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_TRUE(test::all_close(pieces[2], tensor({4.f})));
  test::expect_error<ValueError>([] { chunk(zeros({4}), 0); }, {"chunk", "0"});
}

TEST(Split, Gradients) {
  auto f = [](const TensorList& x) {
    TensorList p = split(x[0], 2, 0);  // [2, 3], [2, 3], [1, 3]
    return cat({p[0] * p[1], p[2]}, 0);
  };
  test::expect_gradcheck(f, {test::gradcheck_leaf({5, 3})});
  test::expect_gradcheck(f, {test::gradcheck_leaf_transposed(5, 3)}, true);
  auto g = [](const TensorList& x) {
    TensorList p = chunk(x[0], 2, 1);  // [3, 2], [3, 1]
    return p[0] * p[1];
  };
  test::expect_gradcheck(g, {test::gradcheck_leaf_transposed(3, 3)}, true);
}

TEST(Split, Errors) {
  test::expect_error<ShapeError>([] { split(zeros({5}), Dims{2, 2}); }, {"split", "[2, 2]", "4", "5"});
  test::expect_error<ValueError>([] { split(zeros({5}), 0); }, {"split", "0"});
  test::expect_error<ShapeError>([] { split(zeros({}), 1); }, {"split", "0-d"});
}

// --- flip, repeat, tile ---

TEST(Flip, Values) {
  Tensor x = test::iota({2, 3});
  EXPECT_TRUE(test::all_close(flip(x, {1}), tensor({2.f, 1.f, 0.f, 5.f, 4.f, 3.f}, {2, 3})));
  EXPECT_TRUE(test::all_close(flip(x, {0, -1}), tensor({5.f, 4.f, 3.f, 2.f, 1.f, 0.f}, {2, 3})));
  EXPECT_TRUE(test::all_close(flip(x.t(), {0}), tensor({2.f, 5.f, 1.f, 4.f, 0.f, 3.f}, {3, 2})));
  Tensor f = flip(x, {0});
  EXPECT_TRUE(f.is_contiguous());
  EXPECT_NE(f.impl()->storage, x.impl()->storage);
  EXPECT_TRUE(test::all_close(flip(test::iota({3}, DType::i64), {0}), tensor({2, 1, 0})));
  test::expect_error<ValueError>([] { flip(zeros({2, 2}), {1, -1}); }, {"flip", "more than once"});
}

TEST(Flip, Gradients) {
  test::expect_gradcheck(
      [](const TensorList& x) {
        return flip(x[0], {0, 1});
      },
      {test::gradcheck_leaf_transposed(3, 4)});
  test::expect_gradcheck([](const TensorList& x) { return flip(x[0], {1}).square(); }, {test::gradcheck_leaf({2, 3})},
                         true);
}

TEST(Repeat, Values) {
  // Examples from the torch.Tensor.repeat documentation.
  Tensor v = tensor({1.f, 2.f, 3.f});
  EXPECT_TRUE(test::all_close(repeat(v, {4, 2}), tensor({1.f, 2.f, 3.f, 1.f, 2.f, 3.f}, {1, 6}).expand({4, 6})));
  EXPECT_EQ(repeat(v, {4, 2, 1}).sizes(), (Dims{4, 2, 3}));
  Tensor m = tensor({1.f, 2.f, 3.f, 4.f}, {2, 2});
  EXPECT_TRUE(test::all_close(repeat(m, {1, 2}), tensor({1.f, 2.f, 1.f, 2.f, 3.f, 4.f, 3.f, 4.f}, {2, 4})));
  EXPECT_TRUE(test::all_close(repeat(m, {2, 1}), tensor({1.f, 2.f, 3.f, 4.f, 1.f, 2.f, 3.f, 4.f}, {4, 2})));
  EXPECT_TRUE(test::all_close(repeat(m.t(), {1, 2}), tensor({1.f, 3.f, 1.f, 3.f, 2.f, 4.f, 2.f, 4.f}, {2, 4})));
  // A repeat of ones still copies.
  Tensor copy = repeat(m, {1, 1});
  EXPECT_NE(copy.impl()->storage, m.impl()->storage);
  // torch.tile pads the reps with leading ones.
  EXPECT_TRUE(test::all_close(tile(m, {2}), repeat(m, {1, 2})));
  EXPECT_EQ(tile(m, {2, 1, 1}).sizes(), (Dims{2, 2, 2}));
  EXPECT_EQ(repeat(m, {0, 3}).sizes(), (Dims{0, 6}));
}

TEST(Repeat, GradientsAndErrors) {
  test::expect_gradcheck(
      [](const TensorList& x) {
        return repeat(x[0], {2, 1, 3});
      },
      {test::gradcheck_leaf_transposed(2, 3)});
  test::expect_gradcheck([](const TensorList& x) { return tile(x[0], {2}).square(); }, {test::gradcheck_leaf({2, 2})},
                         true);
  test::expect_error<ShapeError>([] { repeat(zeros({2, 2}), {2}); }, {"repeat", "[2]", "2 dims"});
  test::expect_error<ValueError>([] { tile(zeros({2, 2}), {-1}); }, {"tile", "non-negative"});
}

// --- pad ---

TEST(Pad, Constant) {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f}, {2, 2});
  EXPECT_TRUE(test::all_close(pad(x, {1, 0}, PadMode::Constant, 9), tensor({9.f, 1.f, 2.f, 9.f, 3.f, 4.f}, {2, 3})));
  EXPECT_TRUE(test::all_close(pad(x, {0, 0, 1, 1}), tensor({0.f, 0.f, 1.f, 2.f, 3.f, 4.f, 0.f, 0.f}, {4, 2})));
  // Negative pads crop.
  EXPECT_TRUE(test::all_close(pad(x, {-1, 1}), tensor({2.f, 0.f, 4.f, 0.f}, {2, 2})));
  EXPECT_TRUE(test::all_close(pad(x.t(), {0, 1, -1, 0}), tensor({2.f, 4.f, 0.f}, {1, 3})));
  EXPECT_EQ(pad(x, {-2, 1}).sizes(), (Dims{2, 1}));
  EXPECT_TRUE(test::all_close(pad(x, {-2, 1}), zeros({2, 1})));
  EXPECT_EQ(pad(test::iota({2}, DType::i64), {1, 1}, PadMode::Constant, 7).to_vector<int64_t>(),
            (std::vector<int64_t>{7, 0, 1, 7}));
}

TEST(Pad, ReflectAndReplicate) {
  // As torch.nn.functional.pad(torch.arange(4.).view(1, 1, 4), (2, 1), mode):
  Tensor x = test::iota({1, 1, 4});
  EXPECT_TRUE(
      test::all_close(pad(x, {2, 1}, PadMode::Reflect), tensor({2.f, 1.f, 0.f, 1.f, 2.f, 3.f, 2.f}, {1, 1, 7})));
  EXPECT_TRUE(
      test::all_close(pad(x, {2, 1}, PadMode::Replicate), tensor({0.f, 0.f, 0.f, 1.f, 2.f, 3.f, 3.f}, {1, 1, 7})));
  // Two dims: rows mirrored (1 before), columns mirrored (1 each side).
  Tensor m = test::iota({2, 3});
  EXPECT_TRUE(
      test::all_close(pad(m, {1, 1, 1, 0}, PadMode::Reflect),
                      tensor({4.f, 3.f, 4.f, 5.f, 4.f, 1.f, 0.f, 1.f, 2.f, 1.f, 4.f, 3.f, 4.f, 5.f, 4.f}, {3, 5})));
  EXPECT_TRUE(test::all_close(
      pad(m, {0, 1, 0, 2}, PadMode::Replicate),
      tensor({0.f, 1.f, 2.f, 2.f, 3.f, 4.f, 5.f, 5.f, 3.f, 4.f, 5.f, 5.f, 3.f, 4.f, 5.f, 5.f}, {4, 4})));
}

TEST(Pad, Gradients) {
  for (PadMode mode : {PadMode::Constant, PadMode::Reflect, PadMode::Replicate}) {
    SCOPED_TRACE(static_cast<int>(mode));
    test::expect_gradcheck(
        [mode](const TensorList& x) {
          return pad(x[0], {2, 1, 1, 2}, mode);
        },
        {test::gradcheck_leaf_transposed(3, 4)});
    test::expect_gradcheck(
        [mode](const TensorList& x) {
          return pad(x[0], {1, 2}, mode).square();
        },
        {test::gradcheck_leaf({2, 3})}, true);
  }
  test::expect_gradcheck(
      [](const TensorList& x) {
        return pad(x[0], {-1, 2, 1, -1}, PadMode::Constant, 0.5);
      },
      {test::gradcheck_leaf({3, 4})});
}

TEST(Pad, Errors) {
  test::expect_error<ShapeError>([] { pad(zeros({2, 2}), {1, 1, 1}); }, {"pad", "even", "3"});
  test::expect_error<ShapeError>([] { pad(zeros({2}), {1, 1, 1, 1}); }, {"pad", "2 dims", "[2]"});
  test::expect_error<ValueError>(
      [] {
        pad(zeros({1, 3}), {3, 0}, PadMode::Reflect);
      },
      {"pad", "reflect", "(3, 0)", "size 3"});
  test::expect_error<ValueError>(
      [] {
        pad(zeros({1, 3}), {-1, 0}, PadMode::Replicate);
      },
      {"pad", "replicate", "non-negative"});
  test::expect_error<ShapeError>([] { pad(zeros({2, 2}), {-3, 0}); }, {"pad", "size 2", "(-3, 0)", "negative"});
}
