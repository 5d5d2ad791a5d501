#pragma once
// Shared test helpers: closeness checks, the PyTorch reference runner, temp files.
#include <gtest/gtest.h>

#include <string>

#include "cajal/cajal.h"

namespace cajal::test {

// Asserts a and b have the same shape and |a - b| <= atol + rtol * |b| everywhere
// (NaNs must match NaNs). Reports the first differing element.
::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

// Runs tests/reference/<script> with /usr/bin/python3 and the given arguments; returns
// false (and records the output) when torch or numpy is missing or the script fails.
bool run_reference(const std::string& script, const std::string& args, std::string* output = nullptr);

// A fresh empty directory under the system temp dir, removed at exit.
std::string temp_dir();

// Float64 gradient check that fails the test with the mismatch.
void expect_gradcheck(const autograd::TestedFunction& f, const TensorList& inputs, bool second_order = false);

}  // namespace cajal::test
