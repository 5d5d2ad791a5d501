// Dtype conversions (to), bfloat16 rounding, and PyTorch's type promotion for mixed
// inputs. Expected values and dtypes are what PyTorch 1.13 gives for the same calls.
#include <cmath>
#include <cstring>
#include <limits>

#include "support/test_support.h"

using namespace cajal;

namespace {
uint16_t bits_of(bf16 b) { return b.bits; }
float float_of_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

TEST(BFloat16, RoundsToNearestEven) {
  // torch.tensor([...]).to(torch.bfloat16).view(torch.int16)
  EXPECT_EQ(bits_of(bf16(1.0f)), 0x3f80);
  EXPECT_EQ(bits_of(bf16(1.00390625f)), 0x3f80);   // halfway, rounds down to the even 1.0
  EXPECT_EQ(bits_of(bf16(1.01171875f)), 0x3f82);   // halfway, rounds up to the even 1.015625
  EXPECT_EQ(bits_of(bf16(1.0078125f + 1e-6f)), 0x3f81);  // just above a representable value
  EXPECT_EQ(bits_of(bf16(-1.00390625f)), 0xbf80);
  EXPECT_EQ(bits_of(bf16(0.1f)), 15821);
  EXPECT_EQ(bits_of(bf16(65504.f)), 18304);        // 65536 in bfloat16
  EXPECT_EQ(bits_of(bf16(1e-40f)), 1);             // subnormals round too
  EXPECT_EQ(bits_of(bf16(3.4028235e38f)), 0x7f80); // the largest float rounds to infinity
  EXPECT_EQ(bits_of(bf16(std::numeric_limits<float>::infinity())), 0x7f80);
  EXPECT_EQ(bits_of(bf16(-std::numeric_limits<float>::infinity())), 0xff80);
  EXPECT_EQ(static_cast<float>(bf16(0.1f)), 0.10009765625f);
}

TEST(BFloat16, NaNStaysNaN) {
  // A NaN whose payload sits only in the low 16 bits must not round to infinity.
  float low_payload_nan = float_of_bits(0x7f800001u);
  ASSERT_TRUE(std::isnan(low_payload_nan));
  EXPECT_TRUE(std::isnan(static_cast<float>(bf16(low_payload_nan))));
  EXPECT_TRUE(std::isnan(static_cast<float>(bf16(std::nanf("")))));
  EXPECT_TRUE(std::isnan(static_cast<float>(bf16(-std::nanf("")))));
  Tensor t = tensor({NAN, 1.f}).to(DType::bf16);
  EXPECT_TRUE(std::isnan(t.to_vector<float>()[0]));
}

TEST(Conversion, FloatToBFloat16AndBack) {
  Tensor x = tensor({1.00390625f, 1.01171875f, 3.4028235e38f, 0.1f, -2.5f});
  Tensor b = x.to(DType::bf16);
  EXPECT_EQ(b.dtype(), DType::bf16);
  EXPECT_EQ(b.element_size(), 2u);
  std::vector<float> back = b.to(DType::f32).to_vector<float>();
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], 1.015625f);
  EXPECT_TRUE(std::isinf(back[2]));
  EXPECT_EQ(back[3], 0.10009765625f);
  EXPECT_EQ(back[4], -2.5f);
  // float64 goes through float32 on the way down.
  EXPECT_EQ(tensor({1.00390625}).to(DType::bf16).item<float>(), 1.0f);
}

TEST(Conversion, BetweenAllDTypes) {
  Tensor f = tensor({2.7f, -2.7f, 300.f, 0.f});
  // torch: float -> int64 truncates toward zero
  EXPECT_EQ(f.to(DType::i64).to_vector<int64_t>(), (std::vector<int64_t>{2, -2, 300, 0}));
  EXPECT_EQ(f.to(DType::i32).dtype(), DType::i32);
  EXPECT_EQ(f.to(DType::i32).to_vector<int32_t>(), (std::vector<int32_t>{2, -2, 300, 0}));
  // float -> bool: nonzero (and NaN) are true
  EXPECT_EQ(tensor({0.f, 0.5f, NAN, -1.f}).to(DType::boolean).to_vector<bool>(),
            (std::vector<bool>{false, true, true, true}));
  EXPECT_EQ(tensor({true, false}).to(DType::f32).to_vector<float>(), (std::vector<float>{1.f, 0.f}));
  EXPECT_EQ(tensor({0, 3, -1}).to(DType::boolean).to_vector<bool>(), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(tensor({1, 200}).to(DType::u8).to_vector<int64_t>(), (std::vector<int64_t>{1, 200}));
  // torch.tensor([2.7, -1., 300.]).to(torch.uint8): narrow integers wrap around
  EXPECT_EQ(tensor({2.7f, -1.f, 300.f}).to(DType::u8).to_vector<int64_t>(), (std::vector<int64_t>{2, 255, 44}));
  EXPECT_EQ(tensor({-1, 256}).to(DType::u8).to_vector<int64_t>(), (std::vector<int64_t>{255, 0}));
  EXPECT_EQ(full({1}, -1, {.dtype = DType::u8}).item<int64_t>(), 255);
  EXPECT_EQ((from_vector(std::vector<uint8_t>{1}) + -1).item<int64_t>(), 0);  // torch: tensor([0], dtype=torch.uint8)
  Tensor d = tensor({0.1f}).to(DType::f64);
  EXPECT_EQ(d.item<double>(), static_cast<double>(0.1f));  // exact widening
  EXPECT_EQ(tensor({0.1}).to(DType::f32).item<float>(), 0.1f);  // rounding narrowing
  EXPECT_EQ(tensor({1, 2}).to(DType::bf16).to_vector<float>(), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(tensor({257}).to(DType::bf16).item<float>(), 256.f);  // 257 is not representable: rounds to even
  // to() of the same dtype returns the same tensor (no copy), like PyTorch
  EXPECT_TRUE(f.to(DType::f32).is_same(f));
  // Non-contiguous input converts in logical order.
  Tensor t = tensor({1, 2, 3, 4}, {2, 2}).t().to(DType::f64);
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1, 3, 2, 4}));
}

TEST(Promotion, PromoteTypesTable) {
  EXPECT_EQ(promote_types(DType::boolean, DType::i64), DType::i64);
  EXPECT_EQ(promote_types(DType::u8, DType::i32), DType::i32);
  EXPECT_EQ(promote_types(DType::i32, DType::i64), DType::i64);
  EXPECT_EQ(promote_types(DType::i64, DType::bf16), DType::bf16);
  EXPECT_EQ(promote_types(DType::bf16, DType::f32), DType::f32);
  EXPECT_EQ(promote_types(DType::f32, DType::f64), DType::f64);
  EXPECT_EQ(promote_types(DType::i64, DType::f32), DType::f32);
  EXPECT_EQ(promote_types(DType::u8, DType::u8), DType::u8);
}

TEST(Promotion, TensorTensor) {
  Tensor i64 = tensor({1, 2});
  Tensor i32 = from_vector(std::vector<int32_t>{1, 2});
  Tensor u8 = from_vector(std::vector<uint8_t>{1, 2});
  Tensor f32 = tensor({1.f, 2.f});
  Tensor f64 = tensor({1.0, 2.0});
  Tensor bf = f32.to(DType::bf16);
  Tensor b = tensor({true, false});
  EXPECT_EQ((u8 + i32).dtype(), DType::i32);
  EXPECT_EQ((i32 * i64).dtype(), DType::i64);
  EXPECT_EQ((b + i32).dtype(), DType::i32);
  EXPECT_EQ((b + b).dtype(), DType::boolean);
  EXPECT_EQ((b + b).to_vector<bool>(), (std::vector<bool>{true, false}));  // bool add is logical or
  EXPECT_EQ((i64 + f32).dtype(), DType::f32);
  EXPECT_EQ((f32 + f64).dtype(), DType::f64);
  EXPECT_EQ((bf + i64).dtype(), DType::bf16);
  EXPECT_EQ((bf + f32).dtype(), DType::f32);
  Tensor q = i64 / tensor({2, 2});
  EXPECT_EQ(q.dtype(), DType::f32);  // int / int is true division in float32
  EXPECT_EQ(q.to_vector<float>(), (std::vector<float>{0.5f, 1.f}));
  Tensor sum_u8 = u8 + from_vector(std::vector<uint8_t>{255, 255});
  EXPECT_EQ(sum_u8.to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));  // uint8 wraps around
}

TEST(Promotion, TensorAndZeroDimTensor) {
  Tensor i32 = from_vector(std::vector<int32_t>{1, 2});
  // A 0-d tensor of the same category does not widen a dimensioned one ...
  Tensor r = i32 + scalar_tensor(5, DType::i64);
  EXPECT_EQ(r.dtype(), DType::i32);
  EXPECT_EQ(r.to_vector<int32_t>(), (std::vector<int32_t>{6, 7}));
  EXPECT_EQ((tensor({1.f}) + scalar_tensor(1, DType::f64)).dtype(), DType::f32);
  EXPECT_EQ((tensor({1.f}).to(DType::bf16) + scalar_tensor(1, DType::f64)).dtype(), DType::bf16);
  // ... but a higher category wins with its own dtype.
  EXPECT_EQ((tensor({1, 2}) + scalar_tensor(2.5, DType::f64)).dtype(), DType::f64);
  EXPECT_EQ((tensor({true}) + scalar_tensor(1, DType::i32)).dtype(), DType::i32);
  // Two 0-d tensors promote normally.
  EXPECT_EQ((scalar_tensor(1, DType::i32) + scalar_tensor(1, DType::f64)).dtype(), DType::f64);
  EXPECT_EQ(result_type(scalar_tensor(1, DType::f64), i32), DType::f64);
}

TEST(Promotion, TensorAndScalar) {
  Tensor ints = tensor({1, 2, 3});
  Tensor r = ints * 2.5;
  EXPECT_EQ(r.dtype(), DType::f32);  // int tensor * float -> default float
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{2.5f, 5.f, 7.5f}));
  EXPECT_EQ((ints * 2).dtype(), DType::i64);
  Tensor d = tensor({1.0, 2.0}) + 0.1;
  EXPECT_EQ(d.dtype(), DType::f64);  // a number never narrows or widens a float tensor
  EXPECT_EQ(d.to_vector<double>()[0], 1.1);  // computed in double, 0.1 not rounded to float
  EXPECT_EQ((tensor({1.f}) + 0.1).dtype(), DType::f32);
  EXPECT_EQ((tensor({true, false}) + 1).dtype(), DType::i64);
  EXPECT_EQ((tensor({true, false}) * 2.5).dtype(), DType::f32);
  EXPECT_EQ(scalar_like(true, tensor({false})).dtype(), DType::boolean);  // torch: bool tensor with True stays bool
  EXPECT_EQ((tensor({true, false}) + true).dtype(), DType::boolean);
  EXPECT_EQ((tensor({true, false}) + true).to_vector<bool>(), (std::vector<bool>{true, true}));
  Tensor i32 = from_vector(std::vector<int32_t>{1, 2});
  EXPECT_EQ((i32 + 1).dtype(), DType::i32);
  EXPECT_EQ((i32 / 2).dtype(), DType::f32);
  EXPECT_EQ((i32 / 2).to_vector<float>(), (std::vector<float>{0.5f, 1.f}));
  EXPECT_EQ((2.5 - i32).dtype(), DType::f32);
  EXPECT_EQ((2.5 - i32).to_vector<float>(), (std::vector<float>{1.5f, 0.5f}));
  EXPECT_EQ((tensor({1.f}).to(DType::bf16) * 3).dtype(), DType::bf16);
  EXPECT_EQ((scalar_tensor(2, DType::i32) + 2.5).dtype(), DType::f32);
  EXPECT_EQ(scalar_like(2.5, ints).dtype(), DType::f32);
  EXPECT_EQ(scalar_like(2, ints).dtype(), DType::i64);
  EXPECT_EQ(scalar_like(2, tensor({1.0})).dtype(), DType::f64);
}

TEST(Promotion, BFloat16ArithmeticRoundsResult) {
  Tensor a = tensor({1.f, 256.f}).to(DType::bf16);
  Tensor r = a + tensor({0.00390625f, 1.f}).to(DType::bf16);
  EXPECT_EQ(r.dtype(), DType::bf16);
  // 1 + 2^-8 is halfway between bf16 neighbours: rounds to even 1.0; 257 rounds to 256.
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{1.f, 256.f}));
  Tensor e = tensor({0.f, 1.f}).to(DType::bf16).exp();
  EXPECT_EQ(e.dtype(), DType::bf16);
  EXPECT_EQ(e.to_vector<float>(), (std::vector<float>{1.f, 2.71875f}));  // torch: tensor([1.0000, 2.7188])
}
