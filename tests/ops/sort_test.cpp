// sort, argsort and topk: values and indices against hand-sorted results, stability and
// NaN placement as in PyTorch, float64 gradient checks, and errors.
#include <cmath>
#include <limits>

#include "support/test_support.h"

using namespace cajal;

namespace {

std::vector<int64_t> indices_of(const Tensor& t) { return t.to_vector<int64_t>(); }

}  // namespace

TEST(Sort, ValuesAndIndices) {
  ValuesIndices s = sort(tensor({3.f, 1.f, 2.f}));
  EXPECT_TRUE(test::all_close(s.values, tensor({1.f, 2.f, 3.f})));
  EXPECT_EQ(s.indices.dtype(), DType::i64);
  EXPECT_EQ(indices_of(s.indices), (std::vector<int64_t>{1, 2, 0}));
  ValuesIndices d = sort(tensor({3.f, 1.f, 2.f}), 0, true);
  EXPECT_TRUE(test::all_close(d.values, tensor({3.f, 2.f, 1.f})));
  EXPECT_EQ(indices_of(d.indices), (std::vector<int64_t>{0, 2, 1}));

  Tensor m = tensor({4.f, 1.f, 3.f, 2.f, 6.f, 0.f}, {2, 3});
  ValuesIndices rows = sort(m);  // along the last dim
  EXPECT_TRUE(test::all_close(rows.values, tensor({1.f, 3.f, 4.f, 0.f, 2.f, 6.f}, {2, 3})));
  EXPECT_EQ(indices_of(rows.indices), (std::vector<int64_t>{1, 2, 0, 2, 0, 1}));
  ValuesIndices cols = sort(m, 0, true);
  EXPECT_TRUE(test::all_close(cols.values, tensor({4.f, 6.f, 3.f, 2.f, 1.f, 0.f}, {2, 3})));
  EXPECT_EQ(indices_of(cols.indices), (std::vector<int64_t>{0, 1, 0, 1, 0, 1}));
  // A non-contiguous input sorts the same as its contiguous copy.
  ValuesIndices t = sort(m.t(), 0);
  EXPECT_TRUE(test::all_close(t.values, tensor({1.f, 0.f, 3.f, 2.f, 4.f, 6.f}, {3, 2})));
  EXPECT_EQ(indices_of(t.indices), (std::vector<int64_t>{1, 2, 2, 0, 0, 1}));
  // Integers, and a 0-d tensor.
  EXPECT_EQ(indices_of(sort(tensor({5, -2, 9, 0})).values), (std::vector<int64_t>{-2, 0, 5, 9}));
  EXPECT_EQ(sort(tensor({7.f}, {})).values.item<float>(), 7.f);
}

TEST(Sort, StableAndNaNLast) {
  Tensor ties = tensor({2.f, 1.f, 2.f, 1.f, 2.f});
  EXPECT_EQ(indices_of(sort(ties).indices), (std::vector<int64_t>{1, 3, 0, 2, 4}));
  EXPECT_EQ(indices_of(sort(ties, -1, true).indices), (std::vector<int64_t>{0, 2, 4, 1, 3}));
  float inf = std::numeric_limits<float>::infinity();
  Tensor x = tensor({NAN, 1.f, -inf, 2.f, NAN});
  ValuesIndices up = sort(x);
  EXPECT_TRUE(test::all_close(up.values, tensor({-inf, 1.f, 2.f, NAN, NAN})));
  EXPECT_EQ(indices_of(up.indices), (std::vector<int64_t>{2, 1, 3, 0, 4}));
  ValuesIndices down = sort(x, 0, true);
  EXPECT_TRUE(test::all_close(down.values, tensor({NAN, NAN, 2.f, 1.f, -inf})));
  EXPECT_EQ(indices_of(down.indices), (std::vector<int64_t>{0, 4, 3, 1, 2}));
}

TEST(Sort, Argsort) {
  Tensor m = tensor({4.f, 1.f, 3.f, 2.f, 6.f, 0.f}, {2, 3});
  EXPECT_EQ(indices_of(argsort(m)), (std::vector<int64_t>{1, 2, 0, 2, 0, 1}));
  EXPECT_EQ(indices_of(argsort(m, 0, true)), (std::vector<int64_t>{0, 1, 0, 1, 0, 1}));
}

TEST(Sort, ManyRowsInParallel) {
  // Enough rows for the kernel to split them across threads: every row must come out
  // ordered, and the indices must point at the values.
  Tensor x = test::gradcheck_leaf({4096, 33}).detach();
  ValuesIndices s = sort(x, 1);
  EXPECT_TRUE(test::all_close(s.values, gather(x, 1, s.indices)));
  Tensor later = s.values.narrow(1, 1, 32), earlier = s.values.narrow(1, 0, 32);
  EXPECT_TRUE(all(ge(later, earlier)).item<bool>());
  EXPECT_TRUE(test::all_close(sum(s.values, {1}), sum(x, {1}), 1e-12, 1e-12));
}

TEST(Sort, Gradients) {
  test::expect_gradcheck([](const TensorList& x) { return sort(x[0], 1).values; },
                         {test::gradcheck_leaf_transposed(3, 4)});
  test::expect_gradcheck([](const TensorList& x) { return sort(x[0], 0, true).values.square(); },
                         {test::gradcheck_leaf({4, 3})}, true);
}

TEST(TopK, LargestAndSmallest) {
  Tensor x = tensor({1.f, 5.f, 3.f, 5.f, 2.f});
  ValuesIndices top = topk(x, 2);
  EXPECT_TRUE(test::all_close(top.values, tensor({5.f, 5.f})));
  EXPECT_EQ(indices_of(top.indices), (std::vector<int64_t>{1, 3}));
  ValuesIndices low = topk(x, 3, 0, false);
  EXPECT_TRUE(test::all_close(low.values, tensor({1.f, 2.f, 3.f})));
  EXPECT_EQ(indices_of(low.indices), (std::vector<int64_t>{0, 4, 2}));
  Tensor m = tensor({4.f, 1.f, 3.f, 2.f, 6.f, 0.f}, {2, 3});
  ValuesIndices per_column = topk(m, 1, 0);
  EXPECT_EQ(per_column.values.sizes(), (Dims{1, 3}));
  EXPECT_TRUE(test::all_close(per_column.values, tensor({4.f, 6.f, 3.f}, {1, 3})));
  EXPECT_EQ(indices_of(per_column.indices), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(topk(m, 0).values.sizes(), (Dims{2, 0}));
}

TEST(TopK, GradientsAndErrors) {
  test::expect_gradcheck([](const TensorList& x) { return topk(x[0], 2, 1).values; },
                         {test::gradcheck_leaf_transposed(3, 5)});
  test::expect_gradcheck([](const TensorList& x) { return topk(x[0], 2, 0, false).values.square(); },
                         {test::gradcheck_leaf({4, 3})}, true);
  test::expect_error<ValueError>([] { topk(zeros({2, 3}), 4); }, {"topk: k 4 is out of range for dim -1 of size 3"});
  EXPECT_THROW(topk(zeros({3}), -1), ValueError);
  EXPECT_THROW(sort(zeros({3}), 1), IndexError);
}
