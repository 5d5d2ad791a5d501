// Printing matches PyTorch's str(tensor). Every expected string below is what
// PyTorch 1.13 prints for the same tensor, with two documented differences: dtypes are
// named without the "torch." prefix (dtype=float64), and grad_fn names come from cajal's
// op names in PyTorch's style (<MulBackward0>).
#include <cmath>
#include <sstream>

#include "support/test_support.h"

using namespace cajal;

namespace {
std::string str(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}
}  // namespace

TEST(Print, FloatFixedPoint) {
  EXPECT_EQ(str(tensor({1.5f, 2.25f, -3.0f})), "tensor([ 1.5000,  2.2500, -3.0000])");
  EXPECT_EQ(str(tensor({0.001f, 1.0f})), "tensor([0.0010, 1.0000])");
  EXPECT_EQ(str(tensor({0.1f, 100.f})), "tensor([  0.1000, 100.0000])");
  EXPECT_EQ(str(tensor({0.f, 10.5f})), "tensor([ 0.0000, 10.5000])");
}

TEST(Print, FloatIntegerValues) {
  EXPECT_EQ(str(tensor({1.f, 2.f, 3.f})), "tensor([1., 2., 3.])");
  EXPECT_EQ(str(tensor({0.f, 0.f})), "tensor([0., 0.])");
  EXPECT_EQ(str(tensor({-0.f, 1.f})), "tensor([-0., 1.])");
  EXPECT_EQ(str(tensor({NAN, 1.f})), "tensor([nan, 1.])");
}

TEST(Print, FloatScientific) {
  EXPECT_EQ(str(tensor({1e-5f, 1.0f})), "tensor([1.0000e-05, 1.0000e+00])");
  EXPECT_EQ(str(tensor({1e9f, 1.0f})), "tensor([1.0000e+09, 1.0000e+00])");
  EXPECT_EQ(str(tensor({1.f, 2000.f})), "tensor([1.0000e+00, 2.0000e+03])");  // integers, but range > 1000
  EXPECT_EQ(str(tensor({123456.7f, 1.f})), "tensor([1.2346e+05, 1.0000e+00])");
}

TEST(Print, NonFinite) {
  EXPECT_EQ(str(tensor({NAN, INFINITY, -1.5f})), "tensor([    nan,     inf, -1.5000])");
}

TEST(Print, Matrix) {
  EXPECT_EQ(str(tensor({1.f, -2.f, 3.5f, 4.f}, {2, 2})), "tensor([[ 1.0000, -2.0000],\n        [ 3.5000,  4.0000]])");
  EXPECT_EQ(str(tensor({1.f, 2.f, 3.f, 4.f}, {2, 2}).t()), "tensor([[1., 3.],\n        [2., 4.]])");
}

TEST(Print, ThreeDimensional) {
  EXPECT_EQ(str(arange(0, 12, 1, DType::f32).reshape({2, 2, 3})),
            "tensor([[[ 0.,  1.,  2.],\n         [ 3.,  4.,  5.]],\n\n        [[ 6.,  7.,  8.],\n         [ 9., 10., 11.]]])");
  EXPECT_EQ(str(arange(12).reshape({2, 2, 3})),
            "tensor([[[ 0,  1,  2],\n         [ 3,  4,  5]],\n\n        [[ 6,  7,  8],\n         [ 9, 10, 11]]])");
}

TEST(Print, IntegerAndBool) {
  EXPECT_EQ(str(tensor({1, -20, 300})), "tensor([  1, -20, 300])");
  EXPECT_EQ(str(tensor({int64_t{9007199254740993}, int64_t{-1}})), "tensor([9007199254740993,               -1])");
  EXPECT_EQ(str(tensor({true, false})), "tensor([ True, False])");
  EXPECT_EQ(str(tensor({1, 2}).to(DType::i32)), "tensor([1, 2], dtype=int32)");
  EXPECT_EQ(str(tensor({1, 2}).to(DType::u8)), "tensor([1, 2], dtype=uint8)");
}

TEST(Print, DtypeSuffix) {
  EXPECT_EQ(str(tensor({1.5, 2.0})), "tensor([1.5000, 2.0000], dtype=float64)");
  EXPECT_EQ(str(tensor({1.5f, 2.f}).to(DType::bf16)), "tensor([1.5000, 2.0000], dtype=bfloat16)");
}

TEST(Print, ZeroDimAndEmpty) {
  EXPECT_EQ(str(scalar_tensor(3.5)), "tensor(3.5000)");
  EXPECT_EQ(str(scalar_tensor(7, DType::i64)), "tensor(7)");
  EXPECT_EQ(str(zeros({0})), "tensor([])");
  EXPECT_EQ(str(zeros({2, 0})), "tensor([], size=(2, 0))");
  EXPECT_EQ(str(zeros({0}, {.dtype = DType::i64})), "tensor([], dtype=int64)");  // no values to tell the dtype
  EXPECT_EQ(str(zeros({0, 3}, {.dtype = DType::boolean})), "tensor([], size=(0, 3), dtype=bool)");
  EXPECT_EQ(str(Tensor()), "tensor(undefined)");
}

TEST(Print, LongRowsWrapAtEightyColumns) {
  EXPECT_EQ(str(arange(0, 30, 1, DType::f32) * 1.5),
            "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
            "        12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,\n"
            "        24.0000, 25.5000, 27.0000, 28.5000, 30.0000, 31.5000, 33.0000, 34.5000,\n"
            "        36.0000, 37.5000, 39.0000, 40.5000, 42.0000, 43.5000])");
  EXPECT_EQ(str((arange(0, 20, 1, DType::f32) * 0.5).requires_grad_()),
            "tensor([0.0000, 0.5000, 1.0000, 1.5000, 2.0000, 2.5000, 3.0000, 3.5000, 4.0000,\n"
            "        4.5000, 5.0000, 5.5000, 6.0000, 6.5000, 7.0000, 7.5000, 8.0000, 8.5000,\n"
            "        9.0000, 9.5000], requires_grad=True)");
}

TEST(Print, LargeTensorsAreSummarized) {
  EXPECT_EQ(str(arange(2000).reshape({2, 1000})),
            "tensor([[   0,    1,    2,  ...,  997,  998,  999],\n"
            "        [1000, 1001, 1002,  ..., 1997, 1998, 1999]])");
  EXPECT_EQ(str(arange(0, 1200, 1, DType::f32).reshape({20, 60})),
            "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 5.7000e+01, 5.8000e+01,\n"
            "         5.9000e+01],\n"
            "        [6.0000e+01, 6.1000e+01, 6.2000e+01,  ..., 1.1700e+02, 1.1800e+02,\n"
            "         1.1900e+02],\n"
            "        [1.2000e+02, 1.2100e+02, 1.2200e+02,  ..., 1.7700e+02, 1.7800e+02,\n"
            "         1.7900e+02],\n"
            "        ...,\n"
            "        [1.0200e+03, 1.0210e+03, 1.0220e+03,  ..., 1.0770e+03, 1.0780e+03,\n"
            "         1.0790e+03],\n"
            "        [1.0800e+03, 1.0810e+03, 1.0820e+03,  ..., 1.1370e+03, 1.1380e+03,\n"
            "         1.1390e+03],\n"
            "        [1.1400e+03, 1.1410e+03, 1.1420e+03,  ..., 1.1970e+03, 1.1980e+03,\n"
            "         1.1990e+03]])");
}

TEST(Print, Autograd) {
  Tensor x = tensor({1.5f, 2.f}).requires_grad_();
  EXPECT_EQ(str(x), "tensor([1.5000, 2.0000], requires_grad=True)");
  EXPECT_EQ(str(scalar_tensor(2.0).requires_grad_()), "tensor(2., requires_grad=True)");
  EXPECT_EQ(str(x * 2), "tensor([3., 4.], grad_fn=<MulBackward0>)");
  EXPECT_EQ(str(x.exp()), "tensor([4.4817, 7.3891], grad_fn=<ExpBackward0>)");
  EXPECT_EQ(str(x.view({2, 1})), "tensor([[1.5000],\n        [2.0000]], grad_fn=<ViewBackward0>)");
  EXPECT_EQ(str(leaky_relu(x)), "tensor([1.5000, 2.0000], grad_fn=<LeakyReluBackward0>)");
  EXPECT_EQ(to_string(x.detach()), "tensor([1.5000, 2.0000])");
}
