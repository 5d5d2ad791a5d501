// Linear algebra: values against NumPy (tests/reference/linalg_reference.py) for every
// batching rule and for operands stored row-major, column-major, with padded rows or with
// strides BLAS cannot read; float64 gradient checks (first and second order); dtypes;
// error messages.
#include <cmath>
#include <fstream>
#include <limits>

#include "cajal/kernels/cpu/gemm.h"
#include "support/test_support.h"

using namespace cajal;

namespace {

test::NormalSampler normal(20240611);

// ------------------------------------------------------------------ NumPy reference

struct ReferenceCase {
  std::string id, op, dtype;
};

const std::string& reference_dir() {
  static const std::string dir = [] {
    std::string d = test::temp_dir();
    test::run_reference("linalg_reference.py", d);
    return d;
  }();
  return dir;
}

std::vector<ReferenceCase> reference_cases() {
  std::vector<ReferenceCase> cases;
  std::ifstream manifest(reference_dir() + "/manifest.txt");
  ReferenceCase c;
  while (manifest >> c.id >> c.op >> c.dtype) cases.push_back(c);
  return cases;
}

Tensor load(const ReferenceCase& c, const std::string& name) { return load_npy(reference_dir() + "/" + c.id + "_" + name + ".npy"); }

// The same values stored in different ways, to reach every path of the GEMM kernel.
enum class Layout { Contiguous, ColumnMajor, PaddedRows, Strided, RowsOutermost };
constexpr Layout kLayouts[] = {Layout::Contiguous, Layout::ColumnMajor, Layout::PaddedRows, Layout::Strided,
                               Layout::RowsOutermost};

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::Contiguous: return "contiguous";
    case Layout::ColumnMajor: return "column-major";
    case Layout::PaddedRows: return "padded rows";
    case Layout::Strided: return "strided";
    case Layout::RowsOutermost: return "rows outermost";
  }
  return "";
}

// t's values inside a larger zero tensor whose last dim has `total` entries, every `step`-th one.
Tensor embedded(const Tensor& t, int64_t total, int64_t step) {
  Dims shape = t.sizes();
  int64_t n = shape[shape.size() - 1];
  shape[shape.size() - 1] = total;
  Tensor big = zeros(shape, {.dtype = t.dtype()});
  Tensor part = big.slice(-1, 0, n * step, step);
  part.copy_(t);
  return part;
}

Tensor with_layout(const Tensor& t, Layout layout) {
  int64_t n = t.sizes().empty() ? 0 : t.sizes().back();
  switch (layout) {
    case Layout::Contiguous: return t;
    case Layout::ColumnMajor: return t.dim() < 2 ? t : t.transpose(-2, -1).contiguous().transpose(-2, -1);
    case Layout::PaddedRows: return embedded(t, n + 3, 1);           // rows further apart than their length
    case Layout::Strided: return embedded(t, 2 * n + 1, 2);          // columns 2 apart: BLAS needs a copy
    case Layout::RowsOutermost: return t.dim() < 3 ? t : t.transpose(0, -2).contiguous().transpose(0, -2);
  }
  return t;
}

double tolerance(DType dt) { return dt == DType::f32 ? 1e-5 : (dt == DType::f64 ? 1e-12 : 0); }

TEST(LinalgReference, ValuesMatchNumPyForEveryLayout) {
  std::vector<ReferenceCase> cases = reference_cases();
  ASSERT_EQ(cases.size(), 54u);
  for (const ReferenceCase& c : cases) {
    Tensor a = load(c, "a"), b = load(c, "b"), expected = load(c, "out");
    double tol = tolerance(a.dtype());
    for (Layout la : kLayouts) {
      for (Layout lb : kLayouts) {
        SCOPED_TRACE(c.id + " " + c.op + " " + c.dtype + ", a " + layout_name(la) + ", b " + layout_name(lb));
        Tensor x = with_layout(a, la), y = with_layout(b, lb);
        Tensor out;
        if (c.op == "matmul") out = matmul(x, y);
        else if (c.op == "addmm") out = addmm(load(c, "c"), x, y, 0.5, 2.0);
        else out = linear(x, y, load(c, "c"));
        EXPECT_EQ(out.dtype(), a.dtype());
        EXPECT_TRUE(test::all_close(out, expected, tol, tol));
      }
    }
    // int32 follows the same (integer, exact) path as int64.
    if (c.op == "matmul" && c.dtype == "int64") {
      EXPECT_TRUE(test::all_close(matmul(a.to(DType::i32), b.to(DType::i32)), expected.to(DType::i32), 0, 0)) << c.id;
    }
  }
}

TEST(LinalgReference, BroadcastBatchOfExpandedOperand) {
  // An expanded (stride 0) batch dim reaches the kernel as a shared matrix.
  std::vector<ReferenceCase> cases = reference_cases();
  const ReferenceCase& c = cases[7];  // [3, 4] @ [2, 4, 5]
  ASSERT_EQ(c.op, "matmul");
  Tensor a = load(c, "a"), b = load(c, "b");
  ASSERT_EQ(a.sizes(), (Dims{3, 4}));
  EXPECT_TRUE(test::all_close(matmul(a.expand({2, 3, 4}), b), load(c, "out"), 1e-12, 1e-12));
  EXPECT_TRUE(test::all_close(bmm(a.expand({2, 3, 4}), b), load(c, "out"), 1e-12, 1e-12));
}

// ------------------------------------------------------------------ values and dtypes

TEST(Linalg, MemberMatmulAndMmBmmAgreeWithMatmul) {
  Tensor a = normal({3, 4}), b = normal({4, 5}), ba = normal({2, 3, 4}), bb = normal({2, 4, 5});
  EXPECT_TRUE(test::all_close(a.matmul(b), matmul(a, b), 0, 0));
  EXPECT_TRUE(test::all_close(mm(a, b), matmul(a, b), 0, 0));
  EXPECT_TRUE(test::all_close(bmm(ba, bb), matmul(ba, bb), 0, 0));
}

TEST(Linalg, DotAndOuter) {
  Tensor a = tensor({1.0, 2.0, 3.0}), b = tensor({4.0, -5.0, 6.0});
  Tensor d = dot(a, b);
  EXPECT_EQ(d.dim(), 0);
  EXPECT_DOUBLE_EQ(d.item(), 4.0 - 10.0 + 18.0);
  Tensor o = outer(a, tensor({2.0, -1.0}));
  EXPECT_TRUE(test::all_close(o, tensor({2.0, -1.0, 4.0, -2.0, 6.0, -3.0}, {3, 2}), 0, 0));
}

TEST(Linalg, MixedDtypesFollowResultType) {
  Tensor a = normal({3, 4}), b = normal({4, 2}, {.dtype = DType::f64});
  Tensor out = matmul(a, b);
  EXPECT_EQ(out.dtype(), DType::f64);
  EXPECT_TRUE(test::all_close(out, matmul(a.to(DType::f64), b), 1e-12, 1e-12));
  Tensor ints = tensor({1, 2, 3, 4}, {4, 1});
  EXPECT_EQ(matmul(a, ints).dtype(), DType::f32);
  EXPECT_EQ(linear(a, b.t(), tensor({1.f, 2.f})).dtype(), DType::f64);
}

TEST(Linalg, BFloat16ComputesInFloat32) {
  Tensor a = normal({5, 7}).to(DType::bf16), b = normal({7, 3}).to(DType::bf16);
  Tensor out = matmul(a, b);
  EXPECT_EQ(out.dtype(), DType::bf16);
  // One rounding of the float32 product of the same (bfloat16) values.
  Tensor expected = matmul(a.to(DType::f32), b.to(DType::f32)).to(DType::bf16);
  EXPECT_TRUE(test::all_close(out, expected, 0, 0));
  Tensor bias = normal({3}).to(DType::bf16);
  EXPECT_TRUE(test::all_close(linear(a, b.t(), bias), (matmul(a.to(DType::f32), b.to(DType::f32)) + bias.to(DType::f32)).to(DType::bf16), 1e-2, 1e-2));
}

TEST(Linalg, OutputIsWrittenNotAccumulated) {
  // The output is allocated uninitialized: recycle a NaN-filled buffer of the same size.
  { Tensor junk = full({48, 40}, std::numeric_limits<float>::quiet_NaN()); }
  Tensor out = matmul(ones({48, 6}), ones({6, 40}));
  EXPECT_TRUE(test::all_close(out, full({48, 40}, 6.0f), 0, 0));
  { Tensor junk = full({2, 3, 40}, std::numeric_limits<float>::quiet_NaN()); }
  EXPECT_TRUE(test::all_close(matmul(ones({2, 3, 0}), ones({0, 40})), zeros({2, 3, 40}), 0, 0));  // k == 0
}

TEST(Linalg, AddmmWithZeroBetaIgnoresInput) {
  Tensor input = full({2, 3}, std::numeric_limits<float>::quiet_NaN());
  Tensor a = normal({2, 4}), b = normal({4, 3});
  EXPECT_TRUE(test::all_close(addmm(input, a, b, 0, 3), matmul(a, b) * 3.0f, 1e-6, 1e-6));
}

TEST(Linalg, IntegerAddmmAndOverflowWraps) {
  Tensor a = tensor({1, 2, 3, 4}, {2, 2}), b = tensor({5, 6, 7, 8}, {2, 2});
  EXPECT_TRUE(test::all_close(addmm(tensor({10, 20}), a, b, 2, 3), tensor({77, 106, 149, 190}, {2, 2}), 0, 0));
  // 2^62 * 4 wraps to 0 in two's complement, as in PyTorch (and in NumPy).
  Tensor big = full({1, 4}, static_cast<double>(int64_t{1} << 62), {.dtype = DType::i64});
  EXPECT_EQ(matmul(big, ones({4, 1}, {.dtype = DType::i64})).item<int64_t>(), 0);
}

TEST(Linalg, KernelWritesAnyOutputLayout) {
  // Ops hand the kernel fresh contiguous outputs; the kernel also accepts views.
  Tensor a = normal({2, 3, 4}, {.dtype = DType::f64}), b = normal({4, 5}, {.dtype = DType::f64});
  Tensor initial = normal({2, 3, 5}, {.dtype = DType::f64});
  Tensor expected = initial * 0.5 + matmul(a, b) * 2.0;
  for (Layout layout : {Layout::ColumnMajor, Layout::Strided, Layout::RowsOutermost}) {
    SCOPED_TRACE(layout_name(layout));
    Tensor out = with_layout(initial, layout);
    kernels::gemm(a, b, out, 2.0, 0.5);
    EXPECT_TRUE(test::all_close(out, expected, 1e-12, 1e-12));
  }
}

// ------------------------------------------------------------------ gradients

Tensor leaf(const Dims& shape) { return normal(shape, {.dtype = DType::f64, .requires_grad = true}); }

// A leaf whose storage is not row-major: the transpose of a contiguous [cols, rows] tensor.
Tensor transposed_leaf(int64_t rows, int64_t cols) { return normal({cols, rows}, {.dtype = DType::f64}).t().detach().requires_grad_(); }

// A leaf BLAS cannot read in place (columns 2 apart).
Tensor strided_leaf(int64_t rows, int64_t cols) {
  return normal({rows, 2 * cols}, {.dtype = DType::f64}).slice(1, 0, 2 * cols, 2).detach().requires_grad_();
}

TEST(LinalgGrad, MatmulEveryBatchingRule) {
  const std::pair<Dims, Dims> shapes[] = {
      {{4}, {4}},       {{4}, {4, 3}},          {{3, 4}, {4}},       {{2, 3, 4}, {4}},  {{4}, {2, 4, 3}},
      {{3, 4}, {4, 2}}, {{2, 3, 4}, {4, 2}},    {{3, 4}, {2, 4, 2}}, {{2, 1, 3, 4}, {3, 4, 2}},
  };
  for (const auto& [sa, sb] : shapes) {
    SCOPED_TRACE(::testing::Message() << sa << " @ " << sb);
    test::expect_gradcheck([](const TensorList& x) { return matmul(x[0], x[1]); }, {leaf(sa), leaf(sb)});
  }
}

TEST(LinalgGrad, TransposedAndStridedInputs) {
  auto f = [](const TensorList& x) { return matmul(x[0], x[1]); };
  test::expect_gradcheck(f, {transposed_leaf(3, 4), transposed_leaf(4, 2)});
  test::expect_gradcheck(f, {strided_leaf(3, 4), strided_leaf(4, 2)});
  test::expect_gradcheck([](const TensorList& x) { return matmul(x[0].transpose(-2, -1), x[1].t()); },
                         {leaf({2, 4, 3}), leaf({2, 4})});
}

TEST(LinalgGrad, MmBmmAddmmDotOuter) {
  test::expect_gradcheck([](const TensorList& x) { return mm(x[0], x[1].t()); }, {leaf({3, 4}), leaf({2, 4})});
  test::expect_gradcheck([](const TensorList& x) { return bmm(x[0], x[1]); }, {leaf({2, 3, 4}), leaf({2, 4, 2})});
  test::expect_gradcheck([](const TensorList& x) { return addmm(x[0], x[1], x[2], 0.5, -2.0); },
                         {leaf({3}), leaf({2, 4}), transposed_leaf(4, 3)});
  test::expect_gradcheck([](const TensorList& x) { return addmm(x[0], x[1], x[2]); }, {leaf({2, 1}), leaf({2, 4}), leaf({4, 3})});
  test::expect_gradcheck([](const TensorList& x) { return dot(x[0], x[1]); }, {leaf({5}), leaf({5})});
  test::expect_gradcheck([](const TensorList& x) { return outer(x[0], x[1]); }, {leaf({3}), leaf({4})});
}

TEST(LinalgGrad, Linear) {
  auto with_bias = [](const TensorList& x) { return linear(x[0], x[1], x[2]); };
  auto without_bias = [](const TensorList& x) { return linear(x[0], x[1]); };
  test::expect_gradcheck(with_bias, {leaf({2, 3, 4}), leaf({5, 4}), leaf({5})});
  test::expect_gradcheck(with_bias, {leaf({4}), transposed_leaf(5, 4), leaf({5})});
  test::expect_gradcheck(with_bias, {strided_leaf(3, 4), leaf({5, 4}), leaf({5})});
  test::expect_gradcheck(without_bias, {leaf({3, 4}), leaf({2, 4})});
}

TEST(LinalgGrad, SecondOrder) {
  test::expect_gradcheck([](const TensorList& x) { return matmul(x[0], x[1]); }, {leaf({2, 1, 3, 4}), leaf({3, 4, 2})}, true);
  test::expect_gradcheck([](const TensorList& x) { return matmul(x[0], x[1]); }, {leaf({2, 3, 4}), transposed_leaf(4, 2)}, true);
  test::expect_gradcheck([](const TensorList& x) { return tanh(linear(x[0], x[1], x[2])); },
                         {leaf({2, 3, 4}), leaf({5, 4}), leaf({5})}, true);
  test::expect_gradcheck([](const TensorList& x) { return addmm(x[0], x[1], x[2], 0.5, 2.0); },
                         {leaf({3}), leaf({2, 4}), leaf({4, 3})}, true);
  // x^T A x: its Hessian in x is A + A^T.
  test::expect_gradcheck([](const TensorList& x) { return dot(x[0], matmul(x[1], x[0])); }, {leaf({4}), leaf({4, 4})}, true);
}

// ------------------------------------------------------------------ errors

TEST(LinalgErrors, ShapesAndDtypesNameTheOpAndValues) {
  EXPECT_EQ(test::error_message<ShapeError>([] { matmul(zeros({32, 784}), zeros({128, 10})); }),
            "matmul: shapes [32, 784] and [128, 10] cannot be multiplied (784 != 128)");
  EXPECT_EQ(test::error_message<ShapeError>([] { matmul(zeros({3}), zeros({4})); }),
            "matmul: shapes [3] and [4] cannot be multiplied (3 != 4)");
  EXPECT_EQ(test::error_message<ShapeError>([] { matmul(zeros({}), zeros({4})); }),
            "matmul: both arguments need at least 1 dimension, got shapes [] and [4]");
  EXPECT_EQ(test::error_message<ShapeError>([] { matmul(zeros({2, 3, 4}), zeros({5, 4, 6})); }),
            "matmul: batch dims of shapes [2, 3, 4] and [5, 4, 6] cannot be broadcast (2 vs 5)");
  EXPECT_EQ(test::error_message<ShapeError>([] { mm(zeros({2, 3, 4}), zeros({4, 6})); }),
            "mm: expected 2-D tensors, got shapes [2, 3, 4] and [4, 6]");
  EXPECT_EQ(test::error_message<ShapeError>([] { bmm(zeros({2, 3, 4}), zeros({3, 4, 6})); }),
            "bmm: batch sizes of shapes [2, 3, 4] and [3, 4, 6] differ (2 != 3)");
  EXPECT_EQ(test::error_message<ShapeError>([] { addmm(zeros({5, 2, 6}), zeros({2, 4}), zeros({4, 6})); }),
            "addmm: input of shape [5, 2, 6] does not broadcast to the product's shape [2, 6]");
  EXPECT_EQ(test::error_message<ShapeError>([] { dot(zeros({3}), zeros({4})); }),
            "dot: shapes [3] and [4] cannot be multiplied (3 != 4)");
  EXPECT_EQ(test::error_message<ShapeError>([] { outer(zeros({3, 1}), zeros({4})); }),
            "outer: expected 1-D tensors, got shapes [3, 1] and [4]");
  EXPECT_EQ(test::error_message<ShapeError>([] { linear(zeros({32, 784}), zeros({10, 128})); }),
            "linear: input of shape [32, 784] does not match weight of shape [10, 128] (784 != 128)");
  EXPECT_EQ(test::error_message<ShapeError>([] { linear(zeros({2, 4}), zeros({3, 4}), zeros({4})); }),
            "linear: bias of shape [4] does not match weight of shape [3, 4] (expected [3])");
  EXPECT_EQ(test::error_message<DTypeError>([] { matmul(tensor({true, false}), tensor({true, true})); }),
            "matmul: bool tensors cannot be multiplied; convert them with to()");
  EXPECT_EQ(test::error_message<DTypeError>(
                [] { addmm(tensor({1, 2}), tensor({1, 2}, {1, 2}), tensor({1, 2, 3, 4}, {2, 2}), 0.5); }),
            "addmm: alpha (1) and beta (0.5) must be integers for int64 tensors");
}

}  // namespace
