// The messages of common mistakes: each error has the right type and names the op and
// the values involved (shapes, dims and their valid range, dtypes), so a user can fix the
// call from the message alone.
#include <functional>
#include <string>
#include <vector>

#include "support/test_support.h"

using namespace cajal;

namespace {

// Runs f, which must throw E, and checks that the message contains every part.
template <typename E>
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << parts.front() << "'";
  } catch (const E& e) {
    std::string msg = e.what();
    for (const std::string& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

Tensor iota(const Dims& shape) { return arange(0, numel_of(shape), 1, DType::f32).reshape(shape); }

}  // namespace

TEST(Errors, BroadcastMismatchShowsBothShapes) {
  expect_error<ShapeError>([] { iota({2, 3}) + iota({4}); }, {"add", "[2, 3]", "[4]", "3 vs 4"});
  expect_error<ShapeError>([] { iota({2, 3}) * iota({2, 1, 4}); }, {"mul", "[2, 3]", "[2, 1, 4]"});
  expect_error<ShapeError>([] { lt(iota({3}), iota({2})); }, {"lt", "[3]", "[2]"});
  expect_error<ShapeError>([] { where(tensor({true, false}), iota({3}), iota({3})); }, {"where", "[2]", "[3]"});
  expect_error<ShapeError>([] { zeros({3}).copy_(zeros({2})); }, {"copy_", "[2]", "[3]"});
  expect_error<ShapeError>([] {
    Tensor a = zeros({3});
    a += zeros({2, 3});
  }, {"add_", "[2, 3]", "[3]"});
}

TEST(Errors, BadDimShowsTheValidRange) {
  Tensor x = iota({2, 3});
  expect_error<IndexError>([&] { x.transpose(0, 2); }, {"transpose", "dim 2", "2 dimensions", "[-2, 1]"});
  expect_error<IndexError>([&] { x.select(-3, 0); }, {"select", "dim -3", "[-2, 1]"});
  expect_error<IndexError>([&] { x.size(5); }, {"size", "dim 5"});
  expect_error<IndexError>([&] { x.unsqueeze(4); }, {"unsqueeze", "dim 4", "[-3, 2]"});
  expect_error<IndexError>([&] { x.flatten(0, 2); }, {"flatten", "dim 2"});
  expect_error<IndexError>([&] { x.squeeze(2); }, {"squeeze", "dim 2"});
  expect_error<IndexError>([&] { x.permute({0, 2}); }, {"permute", "dim 2"});
}

TEST(Errors, IndicesOutOfRange) {
  Tensor x = iota({2, 3});
  expect_error<IndexError>([&] { x.select(1, 3); }, {"select", "index 3", "size 3"});
  expect_error<IndexError>([&] { x[-3]; }, {"select", "index -3", "size 2"});
  expect_error<IndexError>([&] { x.narrow(1, 2, 2); }, {"narrow", "start 2", "length 2", "size 3"});
  expect_error<IndexError>([&] { x.at<float>({0, 3}); }, {"at", "index 3", "size 3"});
  expect_error<IndexError>([&] { x.at<float>({1}); }, {"at", "1 indices", "2 dimensions"});
  expect_error<IndexError>([&] { scalar_tensor(1)[0]; }, {"select", "0-d"});
}

TEST(Errors, ViewAndReshape) {
  Tensor x = iota({2, 3});
  expect_error<ShapeError>([&] { x.t().view({6}); }, {"view", "[6]", "[3, 2]", "stride [1, 3]", "reshape"});
  expect_error<ShapeError>([&] { x.view({4, -1}); }, {"view", "[4, -1]", "size 6", "[2, 3]"});
  expect_error<ShapeError>([&] { x.view({-1, -1}); }, {"view", "only one dimension can be -1"});
  expect_error<ShapeError>([&] { x.reshape({5}); }, {"reshape", "[5]", "size 6"});
  expect_error<ShapeError>([&] { x.view({-2, 3}); }, {"view", "invalid size -2"});
  // fuzz/onnx_fuzz: a Reshape whose shape multiplies past int64 (signed overflow, UBSan).
  expect_error<ShapeError>([&] { x.reshape({13616352015155203, 645788, -1}); }, {"reshape", "more elements than int64 can count"});
  expect_error<ShapeError>([&] { x.unflatten(1, {2, 2}); }, {"unflatten", "[2, 2]", "size 3"});
  expect_error<ShapeError>([&] { x.expand({4, 3}); }, {"expand", "size 2", "cannot be expanded to 4", "[2, 3]", "[4, 3]"});
  expect_error<ShapeError>([&] { x.expand({3}); }, {"expand", "[3]", "[2, 3]"});
  expect_error<ShapeError>([&] { x.permute({1, 1}); }, {"permute", "repeats", "[1, 1]"});
  expect_error<ShapeError>([&] { x.permute({0}); }, {"permute", "[0]", "2"});
  expect_error<ShapeError>([&] { iota({2, 3, 4}).t(); }, {"t:", "3", "[2, 3, 4]"});
  expect_error<ValueError>([&] { x.slice(1, 0, 2, 0); }, {"slice", "step", "0"});
  expect_error<ValueError>([&] { x.flatten(1, 0); }, {"flatten", "start_dim 1", "end_dim 0"});
}

TEST(Errors, ItemAndElementAccess) {
  expect_error<ValueError>([] { iota({2, 3}).item(); }, {"item", "6 elements", "[2, 3]"});
  expect_error<ValueError>([] { zeros({0}).item(); }, {"item", "0 elements"});
  expect_error<DTypeError>([] { iota({2}).at<double>({0}); }, {"at", "float64", "float32"});
  expect_error<DTypeError>([] { iota({2}).data_ptr<int64_t>(); }, {"data_ptr", "int64", "float32"});
}

TEST(Errors, DTypeMistakes) {
  expect_error<DTypeError>([] { tensor({1, 2}).requires_grad_(); }, {"requires_grad_", "floating", "int64"});
  expect_error<DTypeError>([] { zeros({2}, {.dtype = DType::u8, .requires_grad = true}); }, {"requires_grad_", "uint8"});
  expect_error<DTypeError>([] { where(tensor({1.f, 0.f}), iota({2}), iota({2})); }, {"where", "condition", "bool", "float32"});
  expect_error<DTypeError>([] { where(tensor({1, 0}), iota({2}), 0); }, {"where", "int64"});
  expect_error<DTypeError>([] {
    Tensor i = tensor({1, 2});
    i += 0.5;
  }, {"add_", "float32", "int64"});
  expect_error<DTypeError>([] {
    Tensor i = tensor({1, 2});
    i /= tensor({2, 2});
  }, {"div_", "float32", "int64"});
  expect_error<DTypeError>([] { tensor({true}) - tensor({false}); }, {"sub", "bool", "logical_xor"});
  expect_error<DTypeError>([] { -tensor({true}); }, {"neg", "bool", "logical_not"});
  expect_error<DTypeError>([] { add(tensor({1, 2}), tensor({1, 2}), 0.5); }, {"add", "alpha", "int64"});
  expect_error<DTypeError>([] { pow(tensor({true}), tensor({true})); }, {"pow", "bool"});
}

TEST(Errors, ValueMistakes) {
  expect_error<ValueError>([] { pow(tensor({2, 3}), -2); }, {"pow", "negative", "-2"});
  expect_error<ValueError>([] { clamp(iota({2}), 3, 1); }, {"clamp", "min 3", "max 1"});
  expect_error<ValueError>([] { clamp(iota({2}), std::nullopt, std::nullopt); }, {"clamp", "min", "max"});
  expect_error<ValueError>([] { arange(0, 5, 0); }, {"arange", "step", "nonzero"});
  expect_error<ValueError>([] { arange(5, 0, 1); }, {"arange", "5", "0", "step"});
  expect_error<ValueError>([] { linspace(0, 1, -3); }, {"linspace", "-3"});
  expect_error<ValueError>([] { eye(-1); }, {"eye", "-1"});
  expect_error<ShapeError>([] { zeros({2, -1}); }, {"negative size", "[2, -1]"});
  expect_error<ShapeError>([] { tensor({1.f, 2.f, 3.f}, {2, 2}); }, {"3 values", "[2, 2]"});
  expect_error<ValueError>([] { from_blob(nullptr, {2}, DType::f32); }, {"from_blob", "null", "[2]"});
  expect_error<ShapeError>([] {
    float buf[4];
    from_blob(buf, {2, 2}, {1}, DType::f32);
  }, {"from_blob", "[2, 2]", "[1]"});
}

TEST(Errors, AutogradMistakes) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  expect_error<AutogradError>([&] { (x * 2).backward(); }, {"backward", "one-element", "[2]", "pass a gradient"});
  expect_error<ShapeError>([&] { (x * 2).backward(tensor({1.0})); }, {"backward", "[1]", "[2]"});
  expect_error<AutogradError>([] { tensor({1.0}).backward(); }, {"backward", "does not require grad"});
  expect_error<AutogradError>([&] { x.add_(1); }, {"add_", "leaf", "requires grad", "NoGradGuard"});
  expect_error<AutogradError>([&] { (x * 2).requires_grad_(false); }, {"requires_grad_", "leaf", "detach"});
  expect_error<AutogradError>([] { tensor({1.0}).register_hook([](const Tensor& g) { return g; }); },
                              {"register_hook", "does not require grad"});
  expect_error<AutogradError>([&] { autograd::grad({(x * 2).sum()}, {x, tensor({1.0}).requires_grad_()}); },
                              {"grad", "input 1", "allow_unused"});
  expect_error<ValueError>([&] { autograd::backward({x.sum(), x.sum()}, {tensor({1.0})}); }, {"backward", "2 outputs", "1 gradients"});
  expect_error<ValueError>([] { autograd::gradcheck([](const TensorList& in) { return in[0]; }, {tensor({1.f}).requires_grad_()}); },
                           {"gradcheck", "input 0", "float64"});
  expect_error<AutogradError>([&] { x.as_strided({1}, {1}, 0); }, {"as_strided", "view ops"});
}
