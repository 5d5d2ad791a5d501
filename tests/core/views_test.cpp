// Views never copy: every view shares its base's storage, and writes through a view show
// in the base. Geometry (sizes, strides, offset) is checked against what PyTorch reports
// for the same calls (Tensor.size(), .stride(), .storage_offset()); gradients of the view
// ops against finite differences.
#include "support/test_support.h"

using namespace cajal;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

// True when v is a view into base's memory (same storage, no copy).
bool shares_storage(const Tensor& v, const Tensor& base) { return v.impl()->storage == base.impl()->storage; }

// 0, 1, ..., n-1 as float32 in the given shape.
Tensor iota(const Dims& shape) { return arange(0, numel_of(shape), 1, DType::f32).reshape(shape); }

// Float64 inputs for gradient checks, with distinct values.
Tensor f64_input(const Dims& shape) {
  return sin(arange(0, numel_of(shape), 1, DType::f64) * 0.37 + 0.1).reshape(shape).detach().requires_grad_();
}
}  // namespace

TEST(Views, ViewSharesAndInfersMinusOne) {
  Tensor base = iota({2, 3, 4});
  Tensor v = base.view({6, -1});
  EXPECT_EQ(v.sizes(), (Dims{6, 4}));
  EXPECT_EQ(v.strides(), (Dims{4, 1}));
  EXPECT_TRUE(shares_storage(v, base));
  EXPECT_EQ(v.raw_data(), base.raw_data());
  v.at<float>({5, 3}) = -1;
  EXPECT_EQ(base.at<float>({1, 2, 3}), -1);
  EXPECT_EQ(base.view({-1}).sizes(), (Dims{24}));
  EXPECT_EQ(base.view({2, 1, 12}).strides(), (Dims{12, 12, 1}));
  EXPECT_EQ(zeros({0, 3}).view({-1, 3}).sizes(), (Dims{0, 3}));
  EXPECT_EQ(scalar_tensor(3).view({1, 1}).sizes(), (Dims{1, 1}));
  EXPECT_THROW(base.view({5, -1}), ShapeError);
  EXPECT_THROW(base.view({-1, -1}), ShapeError);
  EXPECT_THROW(base.view({7, 4}), ShapeError);
}

TEST(Views, ViewOfNonContiguous) {
  Tensor base = iota({2, 3, 4});
  Tensor t = base.transpose(0, 1);  // [3, 2, 4], strides [4, 12, 1]
  // Splitting the contiguous last dim is a view (torch: strides (4, 12, 2, 1)) ...
  Tensor split = t.view({3, 2, 2, 2});
  EXPECT_EQ(split.strides(), (Dims{4, 12, 2, 1}));
  EXPECT_TRUE(shares_storage(split, base));
  EXPECT_EQ(values(split), values(t));
  // ... merging dims 1 and 2 (strides 12 and 1) is not.
  EXPECT_THROW(t.view({3, 8}), ShapeError);
  EXPECT_THROW(iota({3, 4}).t().view({-1}), ShapeError);
  // A size-1 dim does not block a view: x[:, 0:1] of a [4, 2] tensor views as [2, 2].
  Tensor col = iota({4, 2}).slice(1, 0, 1);
  Tensor cv = col.view({2, 2});
  EXPECT_EQ(cv.strides(), (Dims{4, 2}));
  EXPECT_EQ(values(cv), (std::vector<double>{0, 2, 4, 6}));
}

TEST(Views, ReshapeCopiesOnlyWhenItMust) {
  Tensor base = iota({3, 4});
  Tensor r = base.reshape({4, 3});
  EXPECT_TRUE(shares_storage(r, base));
  Tensor tr = base.t().reshape({12});
  EXPECT_FALSE(shares_storage(tr, base));  // a transpose cannot be flattened without a copy
  EXPECT_EQ(values(tr), (std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  Tensor sl = base.slice(1, 0, 4, 2).reshape({3, 2, 1});  // stride-2 columns: still a view
  EXPECT_TRUE(shares_storage(sl, base));
  EXPECT_EQ(values(sl), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_THROW(base.reshape({5, -1}), ShapeError);
}

TEST(Views, TransposeAndPermute) {
  Tensor base = iota({2, 3, 4});
  Tensor t = base.transpose(-1, 0);
  EXPECT_EQ(t.sizes(), (Dims{4, 3, 2}));
  EXPECT_EQ(t.strides(), (Dims{1, 4, 12}));
  EXPECT_TRUE(shares_storage(t, base));
  EXPECT_EQ(t.at<float>({3, 2, 1}), base.at<float>({1, 2, 3}));
  Tensor p = base.permute({2, 0, 1});
  EXPECT_EQ(p.sizes(), (Dims{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Dims{1, 12, 4}));
  p.at<float>({1, 1, 2}) = 100;
  EXPECT_EQ(base.at<float>({1, 2, 1}), 100);
  Tensor m = iota({2, 3});
  EXPECT_EQ(m.t().sizes(), (Dims{3, 2}));
  EXPECT_EQ(values(m.t()), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(iota({3}).t().sizes(), (Dims{3}));  // t() of 1-D is itself
  EXPECT_THROW(base.t(), ShapeError);
  EXPECT_THROW(base.permute({0, 1}), ShapeError);
  EXPECT_THROW(base.permute({0, 1, 1}), ShapeError);
  EXPECT_THROW(base.transpose(0, 3), IndexError);
}

TEST(Views, SliceWithStepAndNegativeIndices) {
  Tensor base = iota({10});
  Tensor s = base.slice(0, 1, 8, 3);  // base[1:8:3]
  EXPECT_EQ(values(s), (std::vector<double>{1, 4, 7}));
  EXPECT_EQ(s.strides(), (Dims{3}));
  EXPECT_EQ(s.offset(), 1);
  EXPECT_TRUE(shares_storage(s, base));
  EXPECT_EQ(values(base.slice(0, -3, -1)), (std::vector<double>{7, 8}));  // base[-3:-1]
  EXPECT_EQ(base.slice(0, -100, 100).numel(), 10);                        // clamped like Python
  EXPECT_EQ(base.slice(0, 6, 2).numel(), 0);                              // empty, not an error
  EXPECT_EQ(values(base.slice(0, 0, 10, 4)), (std::vector<double>{0, 4, 8}));
  s.fill_(-5);
  EXPECT_EQ(values(base), (std::vector<double>{0, -5, 2, 3, -5, 5, 6, -5, 8, 9}));
  // Slicing a slice composes offsets and strides: m[1:, ::2][:, 1]
  Tensor m = iota({3, 5});
  Tensor ss = m.slice(0, 1, 3).slice(1, 0, 5, 2).select(1, 1);
  EXPECT_EQ(ss.offset(), 7);
  EXPECT_EQ(values(ss), (std::vector<double>{7, 12}));
  EXPECT_THROW(base.slice(0, 0, 5, 0), ValueError);
  EXPECT_THROW(base.slice(0, 0, 5, -1), ValueError);
}

TEST(Views, NarrowAndSelect) {
  Tensor base = iota({3, 4});
  Tensor n = base.narrow(1, 1, 2);
  EXPECT_EQ(n.sizes(), (Dims{3, 2}));
  EXPECT_EQ(values(n), (std::vector<double>{1, 2, 5, 6, 9, 10}));
  EXPECT_TRUE(shares_storage(n, base));
  EXPECT_EQ(values(base.narrow(0, -1, 1)), (std::vector<double>{8, 9, 10, 11}));
  EXPECT_THROW(base.narrow(1, 3, 2), IndexError);
  Tensor row = base[1];
  EXPECT_EQ(row.sizes(), (Dims{4}));
  EXPECT_EQ(row.offset(), 4);
  EXPECT_EQ(values(row), (std::vector<double>{4, 5, 6, 7}));
  Tensor col = base.select(1, -1);
  EXPECT_EQ(values(col), (std::vector<double>{3, 7, 11}));
  EXPECT_EQ(col.strides(), (Dims{4}));
  col.fill_(0);
  EXPECT_EQ(base.at<float>({2, 3}), 0);
  Tensor elem = base[2][1];
  EXPECT_EQ(elem.dim(), 0);
  EXPECT_EQ(elem.item<float>(), 9);
  EXPECT_THROW(base[3], IndexError);
  EXPECT_THROW(base.select(1, -5), IndexError);
  EXPECT_THROW(elem[0], IndexError);
}

TEST(Views, ExpandUsesStrideZero) {
  Tensor base = iota({3, 1});
  Tensor e = base.expand({2, 3, 4});
  EXPECT_EQ(e.sizes(), (Dims{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Dims{0, 1, 0}));
  EXPECT_TRUE(shares_storage(e, base));
  EXPECT_EQ(e.at<float>({1, 2, 3}), 2);
  base.at<float>({2, 0}) = 50;  // one element of the base is every element of its row
  EXPECT_EQ(e.at<float>({0, 2, 0}), 50);
  EXPECT_EQ(e.at<float>({1, 2, 3}), 50);
  EXPECT_EQ(base.expand({-1, 5}).sizes(), (Dims{3, 5}));
  EXPECT_EQ(iota({2}).expand_as(zeros({3, 2})).strides(), (Dims{0, 1}));
  EXPECT_THROW(base.expand({3, 4}).expand({4, 4}), ShapeError);
  EXPECT_THROW(base.expand({4}), ShapeError);
  // Arithmetic on an expanded view reads each base element many times.
  EXPECT_EQ(values((e + 1).sum()), (std::vector<double>{8.0 * (0 + 1 + 50) + 24}));
}

TEST(Views, SqueezeUnsqueeze) {
  Tensor base = iota({1, 3, 1, 2});
  EXPECT_EQ(base.squeeze().sizes(), (Dims{3, 2}));
  EXPECT_EQ(base.squeeze(2).sizes(), (Dims{1, 3, 2}));
  EXPECT_EQ(base.squeeze(1).sizes(), (Dims{1, 3, 1, 2}));  // not size 1: unchanged
  EXPECT_EQ(base.squeeze(-4).sizes(), (Dims{3, 1, 2}));
  EXPECT_TRUE(shares_storage(base.squeeze(), base));
  Tensor m = iota({3, 2});
  EXPECT_EQ(m.unsqueeze(0).sizes(), (Dims{1, 3, 2}));
  EXPECT_EQ(m.unsqueeze(0).strides(), (Dims{6, 2, 1}));
  EXPECT_EQ(m.unsqueeze(1).strides(), (Dims{2, 2, 1}));
  EXPECT_EQ(m.unsqueeze(-1).sizes(), (Dims{3, 2, 1}));
  EXPECT_EQ(m.unsqueeze(-1).strides(), (Dims{2, 1, 1}));
  EXPECT_EQ(scalar_tensor(1).unsqueeze(0).sizes(), (Dims{1}));
  EXPECT_TRUE(shares_storage(m.t().unsqueeze(1), m));
  EXPECT_EQ(values(m.t().unsqueeze(1)), values(m.t()));
  EXPECT_THROW(m.unsqueeze(3), IndexError);
  EXPECT_THROW(m.squeeze(2), IndexError);
}

TEST(Views, FlattenUnflatten) {
  Tensor base = iota({2, 3, 4});
  EXPECT_EQ(base.flatten().sizes(), (Dims{24}));
  EXPECT_EQ(base.flatten(1).sizes(), (Dims{2, 12}));
  EXPECT_EQ(base.flatten(0, 1).sizes(), (Dims{6, 4}));
  EXPECT_EQ(base.flatten(-2, -1).sizes(), (Dims{2, 12}));
  EXPECT_TRUE(shares_storage(base.flatten(1), base));
  EXPECT_EQ(scalar_tensor(5).flatten().sizes(), (Dims{1}));
  Tensor u = base.flatten(1).unflatten(1, {3, -1});
  EXPECT_EQ(u.sizes(), (Dims{2, 3, 4}));
  EXPECT_TRUE(shares_storage(u, base));
  EXPECT_EQ(values(u), values(base));
  Tensor tf = base.transpose(1, 2).flatten(1);  // non-contiguous: a copy with the right order
  EXPECT_EQ(tf.sizes(), (Dims{2, 12}));
  EXPECT_EQ(tf.at<float>({0, 1}), 4);
  EXPECT_THROW(base.flatten(2, 1), ValueError);
  EXPECT_THROW(base.unflatten(1, {2, 2}), ShapeError);
}

TEST(Views, ContiguityFlags) {
  Tensor base = iota({2, 3});
  EXPECT_TRUE(base.is_contiguous());
  EXPECT_FALSE(base.t().is_contiguous());
  EXPECT_TRUE(zeros({2, 0}).is_contiguous());  // empty tensors are contiguous, as in PyTorch
  EXPECT_TRUE(zeros({0, 3}).t().is_contiguous());
  EXPECT_TRUE(base[1].is_contiguous());
  EXPECT_FALSE(base.select(1, 0).is_contiguous());
  EXPECT_FALSE(base.slice(1, 0, 1).t().is_contiguous());  // sizes [1, 2], strides [1, 3]
  EXPECT_FALSE(base.unsqueeze(0).expand({2, 2, 3}).is_contiguous());
  EXPECT_TRUE(base.unsqueeze(1).is_contiguous());
}

TEST(Views, WritesThroughChainedViews) {
  Tensor base = zeros({4, 4});
  Tensor v = base.t().slice(0, 1, 4, 2).select(1, 3);  // base[3, 1::2]
  v.fill_(7);
  EXPECT_EQ(values(base[3]), (std::vector<double>{0, 7, 0, 7}));
  EXPECT_EQ(values(base.sum()), (std::vector<double>{14}));
  Tensor w = base.view({2, 8}).narrow(1, 2, 3);
  w.add_(scalar_tensor(1.f));  // in-place op through a view
  EXPECT_EQ(values(base[0]), (std::vector<double>{0, 0, 1, 1}));
  EXPECT_EQ(values(base[1]), (std::vector<double>{1, 0, 0, 0}));
  EXPECT_EQ(base.version(), w.version());  // one version counter per storage
}

TEST(ViewGradients, MatchFiniteDifferences) {
  Tensor x = f64_input({2, 3, 4});
  test::expect_gradcheck([](const TensorList& in) { return in[0].view({4, -1}) * 2; }, {x});
  test::expect_gradcheck([](const TensorList& in) { return in[0].transpose(0, 2).reshape({-1}); }, {x});
  test::expect_gradcheck([](const TensorList& in) { return in[0].permute({1, 2, 0}).square(); }, {x});
  test::expect_gradcheck([](const TensorList& in) { return in[0].slice(2, 1, 4, 2).exp(); }, {x});
  test::expect_gradcheck([](const TensorList& in) { return in[0].slice(0, -1, 2).slice(1, 0, 3, 2); }, {x});
  test::expect_gradcheck([](const TensorList& in) { return in[0].select(1, -1) * in[0].select(2, 0).narrow(1, 0, 2).sum(); }, {x});
  test::expect_gradcheck([](const TensorList& in) { return in[0].narrow(2, 1, 2).flatten(); }, {x});
  test::expect_gradcheck([](const TensorList& in) { return in[0].unsqueeze(1).squeeze(1).unflatten(2, {2, 2}); }, {x});
  test::expect_gradcheck([](const TensorList& in) { return in[0].transpose(0, 1).contiguous().view({3, 8}); }, {x});
  Tensor col = f64_input({3, 1});
  test::expect_gradcheck([](const TensorList& in) { return in[0].expand({2, 3, 4}).tanh(); }, {col});
  test::expect_gradcheck([](const TensorList& in) { return in[0].t().squeeze() * in[0].squeeze(); }, {col});
  // Second order through views.
  Tensor strided = f64_input({3, 2, 4}).detach().transpose(0, 2).requires_grad_();  // [4, 2, 3], non-contiguous
  test::expect_gradcheck([](const TensorList& in) {
    return sin(in[0].slice(2, 0, 3, 2)) * in[0].select(1, 1).unsqueeze(1).narrow(2, 0, 2);
  }, {strided}, true);
}

TEST(ViewGradients, SliceBackwardScattersIntoZeros) {
  Tensor x = zeros({2, 5}).requires_grad_();
  Tensor y = x.slice(1, 1, 5, 2) * tensor({3.f, 4.f});
  y.sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0, 3, 0, 4, 0, 0, 3, 0, 4, 0}));
  Tensor z = zeros({3}).requires_grad_();
  z.expand({4, 3}).sum().backward();
  EXPECT_EQ(values(z.grad()), (std::vector<double>{4, 4, 4}));
}
