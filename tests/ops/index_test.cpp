// Indexing ops: values against hand-computed results and the examples of PyTorch's
// documentation, float64 gradient checks (first and second order) on contiguous and
// non-contiguous inputs, and errors for bad indices and shapes.
#include <cmath>

#include "support/test_support.h"

using namespace cajal;

namespace {

Tensor ints(std::initializer_list<int64_t> values, const Dims& shape = {}) { return tensor(values, shape); }

}  // namespace

// --- index_select and index_add ---

TEST(IndexSelect, Values) {
  Tensor x = test::iota({3, 4});
  EXPECT_TRUE(test::all_close(index_select(x, 0, ints({2, 0, 2})),
                              tensor({8.f, 9.f, 10.f, 11.f, 0.f, 1.f, 2.f, 3.f, 8.f, 9.f, 10.f, 11.f}, {3, 4})));
  EXPECT_TRUE(test::all_close(index_select(x, -1, ints({3, 1})), tensor({3.f, 1.f, 7.f, 5.f, 11.f, 9.f}, {3, 2})));
  EXPECT_TRUE(test::all_close(index_select(x.t(), 0, ints({1})), tensor({1.f, 5.f, 9.f}, {1, 3})));
  EXPECT_EQ(index_select(x, 1, zeros({0}, {.dtype = DType::i64})).sizes(), (Dims{3, 0}));
  EXPECT_EQ(index_select(test::iota({3}, DType::i64), 0, ints({2, 2})).to_vector<int64_t>(),
            (std::vector<int64_t>{2, 2}));
}

TEST(IndexSelect, Gradients) {
  // Repeated indices: their gradients add up.
  Tensor index = ints({2, 0, 2, 3});
  test::expect_gradcheck([index](const TensorList& x) { return index_select(x[0], 1, index); },
                         {test::gradcheck_leaf_transposed(3, 4)});
  test::expect_gradcheck([index](const TensorList& x) { return index_select(x[0], 0, index).square(); },
                         {test::gradcheck_leaf({4, 2})}, true);
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  index_select(x, 0, ints({2, 2, 0})).sum().backward();
  EXPECT_TRUE(test::all_close(x.grad(), tensor({1.0, 0.0, 2.0})));
}

TEST(IndexSelect, Errors) {
  test::expect_error<IndexError>(
      [] {
        index_select(zeros({3, 2}), 0, ints({0, 3}));
      },
      {"index_select", "index 3", "dim 0", "size 3"});
  test::expect_error<IndexError>(
      [] {
        index_select(zeros({3, 2}), 1, ints({-1}));
      },
      {"index_select", "index -1", "size 2"});
  test::expect_error<DTypeError>([] { index_select(zeros({3}), 0, tensor({0.f})); },
                                 {"index_select", "int64", "float32"});
  test::expect_error<ShapeError>([] { index_select(zeros({3}), 0, ints({0, 1}, {1, 2})); }, {"index_select", "1-D"});
  test::expect_error<IndexError>([] { index_select(zeros({3}), 1, ints({0})); }, {"index_select", "dim 1"});
}

TEST(IndexAdd, Values) {
  // The torch.Tensor.index_add_ documentation example.
  Tensor t = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, 9.f}, {3, 3});
  Tensor index = ints({0, 4, 2});
  EXPECT_TRUE(
      test::all_close(index_add(ones({5, 3}), 0, index, t),
                      tensor({2.f, 3.f, 4.f, 1.f, 1.f, 1.f, 8.f, 9.f, 10.f, 1.f, 1.f, 1.f, 5.f, 6.f, 7.f}, {5, 3})));
  EXPECT_TRUE(test::all_close(
      index_add(ones({5, 3}), 0, index, t, 2),
      tensor({3.f, 5.f, 7.f, 1.f, 1.f, 1.f, 15.f, 17.f, 19.f, 1.f, 1.f, 1.f, 9.f, 11.f, 13.f}, {5, 3})));
  // Repeated indices accumulate; dim 1; the input is not modified.
  Tensor x = zeros({2, 3});
  Tensor y = index_add(x, 1, ints({2, 2}), tensor({1.f, 2.f, 3.f, 4.f}, {2, 2}));
  EXPECT_TRUE(test::all_close(y, tensor({0.f, 0.f, 3.f, 0.f, 0.f, 7.f}, {2, 3})));
  EXPECT_TRUE(test::all_close(x, zeros({2, 3})));
}

TEST(IndexAdd, GradientsAndErrors) {
  Tensor index = ints({1, 0, 1});
  test::expect_gradcheck([index](const TensorList& x) { return index_add(x[0], 1, index, x[1], 0.5); },
                         {test::gradcheck_leaf_transposed(2, 3), test::gradcheck_leaf({2, 3}, 1.2)});
  test::expect_gradcheck([index](const TensorList& x) { return index_add(x[0], 0, index, x[1] * x[1]); },
                         {test::gradcheck_leaf({3, 2}), test::gradcheck_leaf_transposed(3, 2, 0.9)}, true);
  test::expect_error<ShapeError>(
      [] {
        index_add(zeros({5, 3}), 0, ints({0, 1}), zeros({2, 4}));
      },
      {"index_add", "[2, 3]", "[2, 4]"});
  test::expect_error<IndexError>(
      [] {
        index_add(zeros({5, 3}), 0, ints({5}), zeros({1, 3}));
      },
      {"index_add", "index 5", "size 5"});
  test::expect_error<DTypeError>([] { index_add(zeros({5}), 0, ints({1}), zeros({1}, {.dtype = DType::f64})); },
                                 {"index_add", "float32", "float64"});
}

// --- gather and scatter ---

TEST(Gather, Values) {
  // The torch.gather documentation example.
  Tensor t = tensor({1.f, 2.f, 3.f, 4.f}, {2, 2});
  EXPECT_TRUE(test::all_close(gather(t, 1, ints({0, 0, 1, 0}, {2, 2})), tensor({1.f, 1.f, 4.f, 3.f}, {2, 2})));
  // The index may be smaller than the input in every dim.
  EXPECT_TRUE(test::all_close(gather(t, 0, ints({1, 0}, {1, 2})), tensor({3.f, 2.f}, {1, 2})));
  Tensor x = test::iota({3, 4});
  EXPECT_TRUE(test::all_close(gather(x.t(), 1, ints({2, 0, 1}, {3, 1})), tensor({8.f, 1.f, 6.f}, {3, 1})));
  EXPECT_TRUE(test::all_close(gather(x, 1, ints({3, 3, 0}, {1, 3})), tensor({3.f, 3.f, 0.f}, {1, 3})));
  // A non-contiguous index: the transpose of [[0, 1, 2], [2, 0, 1]].
  EXPECT_TRUE(test::all_close(gather(x, 1, ints({0, 1, 2, 2, 0, 1}, {2, 3}).t()),
                              tensor({0.f, 2.f, 5.f, 4.f, 10.f, 9.f}, {3, 2})));
}

TEST(Gather, Gradients) {
  Tensor index = ints({0, 2, 2, 1, 0, 0}, {2, 3});
  test::expect_gradcheck([index](const TensorList& x) { return gather(x[0], 1, index); },
                         {test::gradcheck_leaf_transposed(3, 3)});
  test::expect_gradcheck([index](const TensorList& x) { return gather(x[0], 0, index).square(); },
                         {test::gradcheck_leaf({3, 4})}, true);
}

TEST(Gather, Errors) {
  test::expect_error<IndexError>(
      [] {
        gather(zeros({2, 2}), 1, ints({0, 2}, {1, 2}));
      },
      {"gather", "index 2", "dim 1", "size 2"});
  test::expect_error<ShapeError>(
      [] {
        gather(zeros({2, 2}), 1, ints({0, 0, 0}, {3, 1}));
      },
      {"gather", "[3, 1]", "[2, 2]", "dim 0"});
  test::expect_error<ShapeError>([] { gather(zeros({2, 2}), 1, ints({0})); }, {"gather", "dims"});
  test::expect_error<ShapeError>([] { gather(zeros({}), 0, ints({0})); }, {"gather", "0-d"});
}

TEST(Scatter, Values) {
  // The torch.Tensor.scatter_ documentation examples.
  Tensor src = arange(1, 11, 1, DType::f32).reshape({2, 5});
  Tensor s = scatter(zeros({3, 5}), 0, ints({0, 1, 2, 0}, {1, 4}), src);
  EXPECT_TRUE(
      test::all_close(s, tensor({1.f, 0.f, 0.f, 4.f, 0.f, 0.f, 2.f, 0.f, 0.f, 0.f, 0.f, 0.f, 3.f, 0.f, 0.f}, {3, 5})));
  Tensor index = ints({0, 1, 2, 0}, {2, 2});
  EXPECT_TRUE(
      test::all_close(scatter(zeros({3, 5}), 1, index, src),
                      tensor({1.f, 2.f, 0.f, 0.f, 0.f, 7.f, 0.f, 6.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}, {3, 5})));
  EXPECT_TRUE(test::all_close(scatter(zeros({2, 4}), 1, ints({2, 3}, {2, 1}), 1.23),
                              tensor({0.f, 0.f, 1.23f, 0.f, 0.f, 0.f, 0.f, 1.23f}, {2, 4})));
  // Non-contiguous input and src.
  Tensor x = test::iota({3, 2}).t();  // [[0, 2, 4], [1, 3, 5]]
  EXPECT_TRUE(test::all_close(scatter(x, 0, ints({1, 0}, {1, 2}), test::iota({2, 1}).t() + 10),
                              tensor({0.f, 11.f, 4.f, 10.f, 3.f, 5.f}, {2, 3})));
}

TEST(Scatter, AddAccumulates) {
  // The torch.Tensor.scatter_add_ documentation example, plus a second row.
  Tensor src = ones({2, 5});
  EXPECT_TRUE(
      test::all_close(scatter_add(zeros({3, 5}), 0, ints({0, 1, 2, 0, 0}, {1, 5}), src),
                      tensor({1.f, 0.f, 0.f, 1.f, 1.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f}, {3, 5})));
  EXPECT_TRUE(
      test::all_close(scatter_add(zeros({3, 5}), 0, ints({0, 1, 2, 0, 0, 0, 1, 2, 2, 0}, {2, 5}), src),
                      tensor({2.f, 0.f, 0.f, 1.f, 2.f, 0.f, 2.f, 0.f, 0.f, 0.f, 0.f, 0.f, 2.f, 1.f, 0.f}, {3, 5})));
  EXPECT_EQ(scatter_add(zeros({3}, {.dtype = DType::i64}), 0, ints({1, 1}), ints({4, 5})).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 9, 0}));
}

TEST(Scatter, Gradients) {
  Tensor unique = ints({2, 0, 1, 1, 2, 0}, {2, 3});  // no repeats along dim 0 within a column
  test::expect_gradcheck([unique](const TensorList& x) { return scatter(x[0], 0, unique, x[1]); },
                         {test::gradcheck_leaf_transposed(3, 3), test::gradcheck_leaf({2, 4}, 1.1)});
  test::expect_gradcheck([unique](const TensorList& x) { return scatter(x[0], 0, unique, x[1]).square(); },
                         {test::gradcheck_leaf({3, 3}), test::gradcheck_leaf_transposed(2, 3, 0.4)}, true);
  test::expect_gradcheck([unique](const TensorList& x) { return scatter(x[0] * x[0], 0, unique, 2.5); },
                         {test::gradcheck_leaf_transposed(3, 3)}, true);
  Tensor repeated = ints({0, 0, 1, 0, 0, 1}, {3, 2});
  test::expect_gradcheck([repeated](const TensorList& x) { return scatter_add(x[0], 0, repeated, x[1]); },
                         {test::gradcheck_leaf({2, 2}), test::gradcheck_leaf_transposed(3, 2, 0.8)});
  test::expect_gradcheck([repeated](const TensorList& x) { return scatter_add(x[0], 0, repeated, x[1]).square(); },
                         {test::gradcheck_leaf_transposed(2, 3), test::gradcheck_leaf({3, 2}, 0.8)}, true);
  // The overwritten elements of x get no gradient.
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  scatter(x, 0, ints({1}), 7.0).sum().backward();
  EXPECT_TRUE(test::all_close(x.grad(), tensor({1.0, 0.0, 1.0})));
}

TEST(Scatter, Errors) {
  test::expect_error<IndexError>(
      [] {
        scatter(zeros({3, 2}), 0, ints({3}, {1, 1}), zeros({1, 1}));
      },
      {"scatter", "index 3", "size 3"});
  test::expect_error<IndexError>([] { scatter_add(zeros({3}), 0, ints({-2}), zeros({1})); },
                                 {"scatter_add", "index -2"});
  test::expect_error<ShapeError>(
      [] {
        scatter(zeros({3, 2}), 0, ints({0, 0}, {1, 2}), zeros({1, 1}));
      },
      {"scatter", "src", "[1, 1]"});
  test::expect_error<DTypeError>([] { scatter_add(zeros({3}), 0, ints({0}), ints({1})); },
                                 {"scatter_add", "float32", "int64"});
}

// --- masks ---

TEST(Masked, FillValues) {
  Tensor x = test::iota({2, 3});
  Tensor row_mask = tensor({true, false, true});
  EXPECT_TRUE(test::all_close(masked_fill(x, row_mask, -1), tensor({-1.f, 1.f, -1.f, -1.f, 4.f, -1.f}, {2, 3})));
  EXPECT_TRUE(test::all_close(x, test::iota({2, 3})));  // out of place
  Tensor i = masked_fill(test::iota({3}, DType::i64), tensor({false, true, false}), 9);
  EXPECT_EQ(i.dtype(), DType::i64);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 9, 2}));
  Tensor mask = tensor({true, false, false, true}, {2, 2});
  EXPECT_TRUE(test::all_close(masked_fill(test::iota({2, 2}).t(), mask, 5), tensor({5.f, 2.f, 1.f, 5.f}, {2, 2})));
}

TEST(Masked, FillGradientsAndErrors) {
  Tensor mask = tensor({true, false, false, true, true, false}, {3, 2});
  test::expect_gradcheck([mask](const TensorList& x) { return masked_fill(x[0], mask, 3.0); },
                         {test::gradcheck_leaf_transposed(3, 2)});
  test::expect_gradcheck([mask](const TensorList& x) { return masked_fill(x[0] * x[0], mask, 3.0); },
                         {test::gradcheck_leaf({3, 2})}, true);
  test::expect_error<ShapeError>(
      [] {
        masked_fill(zeros({3}), tensor({true, false, true, false, true, false}, {2, 3}), 1);
      },
      {"masked_fill", "[2, 3]", "[3]"});
  test::expect_error<DTypeError>([] { masked_fill(zeros({2}), ints({1, 0}), 1); }, {"masked_fill", "bool", "int64"});
}

TEST(Masked, Select) {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f}, {2, 2});
  EXPECT_TRUE(test::all_close(masked_select(x, tensor({true, false, false, true}, {2, 2})), tensor({1.f, 4.f})));
  EXPECT_TRUE(test::all_close(masked_select(x, tensor({false, true})), tensor({2.f, 4.f})));  // mask broadcast
  EXPECT_TRUE(test::all_close(masked_select(x.t(), tensor({false, true})), tensor({3.f, 4.f})));
  EXPECT_TRUE(test::all_close(masked_select(tensor({1.f, 2.f}), tensor({true, false, false, true}, {2, 2})),
                              tensor({1.f, 2.f})));  // input broadcast
  EXPECT_EQ(masked_select(x, tensor({false, false})).sizes(), (Dims{0}));
  Tensor mask = tensor({true, false, true, true, false, true}, {2, 3});
  test::expect_gradcheck([mask](const TensorList& x) { return masked_select(x[0], mask); },
                         {test::gradcheck_leaf_transposed(2, 3)});
  test::expect_gradcheck(
      [](const TensorList& x) {
        return masked_select(x[0], tensor({true, false, true})).square();
      },
      {test::gradcheck_leaf({2, 3})}, true);
}

TEST(Nonzero, Coordinates) {
  Tensor x = tensor({0.f, 1.f, 2.f, 0.f, 0.f, 3.f}, {3, 2});
  Tensor nz = nonzero(x);
  EXPECT_EQ(nz.dtype(), DType::i64);
  EXPECT_EQ(nz.sizes(), (Dims{3, 2}));
  EXPECT_EQ(nz.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 0, 2, 1}));
  EXPECT_EQ(nonzero(x.t()).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 0, 1, 2}));
  EXPECT_EQ(nonzero(tensor({false, true, true})).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(nonzero(zeros({2, 3})).sizes(), (Dims{0, 2}));
  EXPECT_EQ(nonzero(ones({})).sizes(), (Dims{1, 0}));
  EXPECT_EQ(nonzero(tensor({NAN, 0.f})).sizes(), (Dims{1, 1}));  // NaN is nonzero
}

// --- one_hot and embedding ---

TEST(OneHot, Values) {
  Tensor h = one_hot(ints({0, 2, 1}), 3);
  EXPECT_EQ(h.dtype(), DType::i64);
  EXPECT_EQ(h.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 1, 0}));
  Tensor inferred = one_hot(ints({1, 3}, {2, 1}));
  EXPECT_EQ(inferred.sizes(), (Dims{2, 1, 4}));
  EXPECT_EQ(inferred.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0, 0, 0, 0, 0, 1}));
  test::expect_error<IndexError>([] { one_hot(ints({0, 3}), 3); }, {"one_hot", "index 3", "num_classes 3"});
  test::expect_error<IndexError>([] { one_hot(ints({-1}), 3); }, {"one_hot", "index -1"});
  test::expect_error<ValueError>([] { one_hot(zeros({0}, {.dtype = DType::i64})); }, {"one_hot", "empty"});
  test::expect_error<DTypeError>([] { one_hot(tensor({1.f}), 2); }, {"one_hot", "int64"});
}

TEST(Embedding, RowsAndGradients) {
  Tensor weight = test::iota({4, 2});
  Tensor e = embedding(weight, ints({1, 3, 1, 0}, {2, 2}));
  EXPECT_EQ(e.sizes(), (Dims{2, 2, 2}));
  EXPECT_TRUE(test::all_close(e, tensor({2.f, 3.f, 6.f, 7.f, 2.f, 3.f, 0.f, 1.f}, {2, 2, 2})));

  Tensor w = zeros({4, 2}, {.dtype = DType::f64}).requires_grad_();
  embedding(w, ints({1, 3, 1, 0})).sum().backward();
  EXPECT_TRUE(test::all_close(w.grad(), tensor({1.0, 1.0, 2.0, 2.0, 0.0, 0.0, 1.0, 1.0}, {4, 2})));
  // The padding row is looked up but gets no gradient; -3 counts from the end (row 1).
  Tensor wp = zeros({4, 2}, {.dtype = DType::f64}).requires_grad_();
  Tensor looked_up = embedding(wp, ints({1, 3, 1, 0}), -3);
  looked_up.sum().backward();
  EXPECT_TRUE(test::all_close(wp.grad(), tensor({1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0}, {4, 2})));

  Tensor indices = ints({2, 0, 2, 3, 1, 0}, {3, 2});
  test::expect_gradcheck([indices](const TensorList& x) { return embedding(x[0], indices); },
                         {test::gradcheck_leaf_transposed(4, 3)});
  test::expect_gradcheck([indices](const TensorList& x) { return embedding(x[0], indices, 2).square(); },
                         {test::gradcheck_leaf({4, 3})}, true);
}

TEST(Embedding, Errors) {
  test::expect_error<IndexError>(
      [] {
        embedding(zeros({4, 2}), ints({1, 4}));
      },
      {"embedding", "index 4", "num_embeddings 4"});
  test::expect_error<IndexError>([] { embedding(zeros({4, 2}), ints({1}), 4); }, {"embedding", "padding_idx 4"});
  test::expect_error<ShapeError>([] { embedding(zeros({4}), ints({1})); }, {"embedding", "2-D", "[4]"});
  test::expect_error<DTypeError>([] { embedding(zeros({4, 2}), tensor({1.f})); }, {"embedding", "int64"});
}
