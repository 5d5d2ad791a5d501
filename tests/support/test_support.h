#pragma once
// Shared test helpers: closeness checks, the PyTorch reference runner, temp files, sample
// tensors, error-message checks and gradient checks over several input layouts.
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>

#include "cajal/cajal.h"

namespace cajal::test {

// Asserts a and b have the same shape and |a - b| <= atol + rtol * |b| everywhere
// (NaNs must match NaNs). Reports the first differing element.
::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

// Runs tests/reference/<script> with /usr/bin/python3 and the given arguments; returns
// false (and records the output) when torch or numpy is missing or the script fails.
bool run_reference(const std::string& script, const std::string& args, std::string* output = nullptr);
// The same with Node.js (Debian's nodejs), for the ONNX Runtime oracle (tests/reference/onnx_runtime.js).
bool run_node_reference(const std::string& script, const std::string& args, std::string* output = nullptr);

// A fresh empty directory under the system temp dir, removed at exit.
std::string temp_dir();

// Float64 gradient check that fails the test with the mismatch.
void expect_gradcheck(const autograd::TestedFunction& f, const TensorList& inputs, bool second_order = false);

// Gradient checks of a one-input op on three layouts of a [3, 4] input: contiguous, transposed
// (a [4, 3] leaf seen through t()) and expanded (a [1, 4] leaf broadcast to [3, 4]).
// make_leaf builds each float64 leaf from its shape.
void expect_gradcheck_layouts(const std::function<Tensor(const Tensor&)>& op,
                              const std::function<Tensor(const Dims&)>& make_leaf, bool second_order = false);

// ------------------------------------------------------------------ sample tensors

// 0, 1, ..., n-1 in the given shape and dtype.
Tensor iota(const Dims& shape, DType dtype = DType::f32);

// A float64 tensor from double literals (so that f64({1, 2}) is not an integer tensor).
Tensor f64(std::initializer_list<double> values, const Dims& shape = {});

// Distinct, irregular float64 values sin(1.7 i + phase) that require grad: a gradcheck input.
Tensor gradcheck_leaf(const Dims& shape, double phase = 0.3);

// The same values in a non-contiguous [rows, cols] layout: the transpose of a [cols, rows] leaf.
Tensor gradcheck_leaf_transposed(int64_t rows, int64_t cols, double phase = 0.3);

// Normal random tensors (mean 0) from a fixed seed, so a test sees the same values on every
// run. A test file keeps one sampler; each call draws the next values of its sequence.
class NormalSampler {
 public:
  explicit NormalSampler(std::mt19937::result_type seed, double stddev = 1.0) : rng_(seed), stddev_(stddev) {}
  Tensor operator()(const Dims& shape, TensorOptions opts = {});

 private:
  std::mt19937 rng_;
  double stddev_;
};

// ------------------------------------------------------------------ errors

// The message of the E that f throws. Fails the test (and returns "") when f throws nothing
// or an exception of another type.
template <typename E = Error>
std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected an error, none was thrown";
  return "";
}

// Expects f to throw E with a message that contains every one of parts.
template <typename E = Error>
void expect_error(const std::function<void()>& f, std::initializer_list<std::string_view> parts) {
  std::string msg = error_message<E>(f);
  for (std::string_view part : parts)
    EXPECT_NE(msg.find(part), std::string::npos) << "message \"" << msg << "\" lacks \"" << part << "\"";
}

// Every example of a dataset, in order, stacked into one batch (data::collate).
data::Batch all_examples(const data::Dataset& dataset);

}  // namespace cajal::test
