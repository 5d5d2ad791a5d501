// Tensor basics: creation, element access, copies and dtype handling of the handle.
// Oracle: the values PyTorch gives for the same calls (noted beside each expectation).
#include <limits>

#include "support/test_support.h"

using namespace cajal;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

TEST(Creation, ZerosOnesFullEmpty) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.sizes(), (Dims{2, 3}));
  EXPECT_EQ(z.strides(), (Dims{3, 1}));
  EXPECT_EQ(z.dtype(), DType::f32);
  EXPECT_EQ(values(z), std::vector<double>(6, 0.0));
  EXPECT_EQ(values(ones({4}, {.dtype = DType::i32})), std::vector<double>(4, 1.0));
  EXPECT_EQ(ones({4}, {.dtype = DType::i32}).dtype(), DType::i32);
  Tensor f = full({2}, 2.5, {.dtype = DType::f64});
  EXPECT_EQ(f.dtype(), DType::f64);
  EXPECT_EQ(values(f), (std::vector<double>{2.5, 2.5}));
  EXPECT_EQ(values(full({3}, true, {.dtype = DType::boolean})), (std::vector<double>{1, 1, 1}));
  Tensor e = empty({3, 0, 2});
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(e.sizes(), (Dims{3, 0, 2}));
  Tensor s = zeros({});
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_TRUE(ones({2}, {.requires_grad = true}).requires_grad());
}

TEST(Creation, LikeVariantsKeepShapeAndDtype) {
  Tensor base = tensor({1.0, 2.0, 3.0, 4.0}, {2, 2}).requires_grad_();
  for (const Tensor& t : {zeros_like(base), ones_like(base), full_like(base, 7), empty_like(base)}) {
    EXPECT_EQ(t.sizes(), (Dims{2, 2}));
    EXPECT_EQ(t.dtype(), DType::f64);
    EXPECT_FALSE(t.requires_grad());  // like torch.*_like: requires_grad is not inherited
    EXPECT_FALSE(t.impl()->storage == base.impl()->storage);
  }
  EXPECT_EQ(values(full_like(base, 7)), std::vector<double>(4, 7.0));
  EXPECT_EQ(values(ones_like(base)), std::vector<double>(4, 1.0));
}

TEST(Creation, Arange) {
  Tensor a = arange(5);
  EXPECT_EQ(a.dtype(), DType::i64);  // torch.arange(5) is int64
  EXPECT_EQ(values(a), (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(values(arange(2, 11, 3)), (std::vector<double>{2, 5, 8}));
  EXPECT_EQ(values(arange(5, 0, -2)), (std::vector<double>{5, 3, 1}));
  Tensor f = arange(0, 1, 0.1);
  EXPECT_EQ(f.dtype(), DType::f32);  // a float argument gives the default float type
  ASSERT_EQ(f.numel(), 10);          // torch.arange(0, 1, 0.1) has 10 elements
  EXPECT_FLOAT_EQ(f.at<float>({9}), 0.9f);
  EXPECT_EQ(arange(0, 3, 1, DType::f64).dtype(), DType::f64);
  EXPECT_EQ(arange(3, 3).numel(), 0);
  EXPECT_THROW(arange(0, 3, 0), ValueError);
  EXPECT_THROW(arange(0, 3, -1), ValueError);
}

TEST(Creation, Linspace) {
  // torch.linspace(0, 1, 5) and torch.linspace(-1, 1, 4)
  EXPECT_TRUE(test::all_close(linspace(0, 1, 5), tensor({0.f, 0.25f, 0.5f, 0.75f, 1.f})));
  Tensor l = linspace(-1, 1, 4, {.dtype = DType::f64});
  EXPECT_EQ(l.dtype(), DType::f64);
  EXPECT_TRUE(test::all_close(l, tensor({-1.0, -1.0 / 3, 1.0 / 3, 1.0}), 1e-15, 0));
  EXPECT_EQ(l.at<double>({3}), 1.0);  // the end point is exact
  EXPECT_EQ(values(linspace(2, 3, 1)), (std::vector<double>{2}));
  EXPECT_EQ(linspace(2, 3, 0).numel(), 0);
  EXPECT_THROW(linspace(0, 1, -1), ValueError);
}

TEST(Creation, Eye) {
  EXPECT_EQ(values(eye(3)), (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  Tensor r = eye(2, 3, {.dtype = DType::i64});
  EXPECT_EQ(r.sizes(), (Dims{2, 3}));
  EXPECT_EQ(r.dtype(), DType::i64);
  EXPECT_EQ(values(r), (std::vector<double>{1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(values(eye(3, 2)), (std::vector<double>{1, 0, 0, 1, 0, 0}));
  EXPECT_EQ(eye(0).numel(), 0);
}

TEST(Creation, TensorFromInitializerLists) {
  Tensor f = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  EXPECT_EQ(f.dtype(), DType::f32);
  EXPECT_EQ(f.sizes(), (Dims{2, 3}));
  EXPECT_EQ(f.at<float>({1, 0}), 4.f);
  EXPECT_EQ(tensor({1.0, 2.0}).dtype(), DType::f64);
  Tensor i = tensor({1, 2, 3});
  EXPECT_EQ(i.dtype(), DType::i64);  // torch.tensor([1, 2, 3]) is int64
  EXPECT_EQ(i.at<int64_t>({2}), 3);
  Tensor b = tensor({true, false, true});
  EXPECT_EQ(b.dtype(), DType::boolean);
  EXPECT_EQ(b.to_vector<bool>(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(tensor({1, 2}, {}, {.dtype = DType::f32}).dtype(), DType::f32);
  EXPECT_THROW(tensor({1.f, 2.f, 3.f}, {2, 2}), ShapeError);
}

TEST(Creation, FromVectorCopies) {
  std::vector<int32_t> v = {5, 6, 7, 8};
  Tensor t = from_vector(v, {2, 2});
  EXPECT_EQ(t.dtype(), DType::i32);
  v[0] = 100;  // the tensor owns a copy
  EXPECT_EQ(t.at<int32_t>({0, 0}), 5);
  Tensor d = from_vector(std::vector<uint8_t>{1, 2, 255}, {}, TensorOptions{.dtype = DType::f64});
  EXPECT_EQ(d.dtype(), DType::f64);
  EXPECT_EQ(values(d), (std::vector<double>{1, 2, 255}));
  Tensor b = from_vector(std::vector<bool>{true, false});
  EXPECT_EQ(b.dtype(), DType::boolean);
  EXPECT_EQ(values(b), (std::vector<double>{1, 0}));
}

// NaN and values beyond int64 convert to INT64_MIN as on x86 (PyTorch there); a narrower
// integer takes its low bits (0). Before, the cast was undefined (fuzz/onnx_fuzz, UBSan).
TEST(Creation, NonFiniteFloatsConvertToIntegersWithoutUndefinedBehaviour) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = from_vector(std::vector<double>{nan, inf, -inf, 1e19, -2.5, 300});
  const int64_t lowest = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(x.to(DType::i64).to_vector<int64_t>(), (std::vector<int64_t>{lowest, lowest, lowest, lowest, -2, 300}));
  EXPECT_EQ(x.to(DType::u8).to(DType::i64).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0, 0, 254, 44}));
  EXPECT_EQ(x.to(DType::f32).to(DType::i32).to(DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 0, 0, 0, -2, 300}));
}

TEST(Creation, FromBlobSharesMemory) {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  Tensor t = from_blob(buf, {2, 3}, DType::f32);
  EXPECT_EQ(t.raw_data(), static_cast<void*>(buf));
  buf[4] = 50;  // writes by the owner show in the tensor
  EXPECT_EQ(t.at<float>({1, 1}), 50.f);
  t.at<float>({0, 2}) = 30;  // and writes through the tensor reach the buffer
  EXPECT_EQ(buf[2], 30.f);
  t.mul_(2);  // in-place ops write into the caller's memory
  EXPECT_EQ(buf[0], 2.f);
  EXPECT_EQ(buf[5], 12.f);

  // Explicit strides: the transpose of the buffer, still no copy.
  Tensor tt = from_blob(buf, {3, 2}, {1, 3}, DType::f32);
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(values(tt), (std::vector<double>{2, 8, 4, 100, 60, 12}));

  bool freed = false;
  {
    Tensor owned = from_blob(buf, {6}, DType::f32, [&](void* p) { freed = p == buf; });
    Tensor view = owned.slice(0, 1, 3);
    owned = Tensor();
    EXPECT_FALSE(freed);  // a view keeps the memory alive
  }
  EXPECT_TRUE(freed);
}

TEST(Access, ItemAtToVector) {
  Tensor t = tensor({1.5f, -2.f, 3.f, 4.25f}, {2, 2});
  EXPECT_EQ(t.at<float>({1, 1}), 4.25f);
  EXPECT_EQ(t.at<float>({-1, 0}), 3.f);  // negative indices count from the end
  t.at<float>({0, 1}) = 9.f;
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1.5f, 9.f, 3.f, 4.25f}));
  EXPECT_EQ(t.to_vector<int64_t>(), (std::vector<int64_t>{1, 9, 3, 4}));  // truncation toward zero
  EXPECT_EQ(tensor({-2.75f}).item<int64_t>(), -2);
  EXPECT_EQ(tensor({7}).item<double>(), 7.0);
  EXPECT_EQ(scalar_tensor(2.5, DType::f64).item(), 2.5);
  EXPECT_EQ(t.select(1, 1).select(0, 1).item<float>(), 4.25f);  // item of a 0-d view
  EXPECT_THROW(t.item(), ValueError);
  EXPECT_THROW(t.at<double>({0, 0}), DTypeError);
  EXPECT_THROW(t.at<float>({0}), IndexError);
  EXPECT_THROW(t.at<float>({2, 0}), IndexError);
  EXPECT_THROW(t.data_ptr<int64_t>(), DTypeError);
}

TEST(Copies, CloneIsDeepContiguousMayAlias) {
  Tensor a = arange(6).reshape({2, 3});
  Tensor c = a.clone();
  EXPECT_NE(c.raw_data(), a.raw_data());
  c.at<int64_t>({0, 0}) = 42;
  EXPECT_EQ(a.at<int64_t>({0, 0}), 0);

  EXPECT_EQ(a.contiguous().raw_data(), a.raw_data());  // already contiguous: same memory
  Tensor t = a.t();
  EXPECT_FALSE(t.is_contiguous());
  Tensor tc = t.contiguous();
  EXPECT_TRUE(tc.is_contiguous());
  EXPECT_NE(tc.raw_data(), a.raw_data());
  EXPECT_EQ(tc.strides(), (Dims{2, 1}));
  EXPECT_EQ(values(tc), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(values(t.clone()), values(tc));
}

TEST(Copies, CopyAndFillInPlace) {
  Tensor a = zeros({2, 3});
  a.copy_(tensor({1, 2, 3}));  // broadcasting and converting int64 -> float32
  EXPECT_EQ(values(a), (std::vector<double>{1, 2, 3, 1, 2, 3}));
  Tensor col = a.select(1, 1);
  col.fill_(-1);
  EXPECT_EQ(values(a), (std::vector<double>{1, -1, 3, 1, -1, 3}));
  uint32_t v = a.version();
  a.zero_();
  EXPECT_EQ(a.version(), v + 1);
  EXPECT_EQ(values(a), std::vector<double>(6, 0.0));
  EXPECT_THROW(a.copy_(zeros({4})), ShapeError);
  EXPECT_THROW(a.copy_(zeros({2, 2, 3})), ShapeError);  // the source may not be larger
  EXPECT_THROW(a[0].copy_(zeros({1, 3})), ShapeError);  // nor have more dims (torch: shape [3] vs [1, 3])
}

TEST(DType, Names) {
  EXPECT_STREQ(dtype_name(DType::f32), "float32");
  EXPECT_STREQ(dtype_name(DType::bf16), "bfloat16");
  EXPECT_STREQ(dtype_name(DType::boolean), "bool");
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  EXPECT_EQ(dtype_size(DType::i64), 8u);
  EXPECT_EQ(dtype_size(DType::boolean), 1u);
  EXPECT_TRUE(is_floating(DType::bf16));
  EXPECT_FALSE(is_floating(DType::i32));
  EXPECT_FALSE(is_integral(DType::boolean));
  EXPECT_TRUE(is_integral(DType::boolean, true));
  EXPECT_EQ(tensor({1.f}).element_size(), 4u);
}
