#include "support/test_support.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>
#include <sstream>

namespace cajal::test {

::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.sizes() != b.sizes()) {
    std::ostringstream os;
    os << "shapes differ: " << a.sizes() << " vs " << b.sizes();
    return ::testing::AssertionFailure() << os.str();
  }
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    bool both_nan = std::isnan(x[i]) && std::isnan(y[i]);
    bool same_inf = std::isinf(x[i]) && x[i] == y[i];
    if (both_nan || same_inf) continue;
    if (!(std::fabs(x[i] - y[i]) <= atol + rtol * std::fabs(y[i])))
      return ::testing::AssertionFailure() << "element " << i << ": " << x[i] << " vs " << y[i]
                                           << " (rtol " << rtol << ", atol " << atol << ")";
  }
  return ::testing::AssertionSuccess();
}

namespace {

// Runs `program` on tests/reference/<script> with `args`; a failure is recorded with its output.
bool run_script(const std::string& program, const std::string& script, const std::string& args, std::string* output) {
  std::string cmd = program + " " + CAJAL_REFERENCE_DIR + "/" + script + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return false;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  int rc = pclose(pipe);
  if (output) *output = out;
  if (rc != 0) ADD_FAILURE() << "reference script " << script << " failed:\n" << out;
  return rc == 0;
}

}  // namespace

bool run_reference(const std::string& script, const std::string& args, std::string* output) {
  return run_script(CAJAL_PYTHON, script, args, output);
}

bool run_node_reference(const std::string& script, const std::string& args, std::string* output) {
  return run_script(CAJAL_NODE, script, args, output);
}

std::string temp_dir() {
  static int counter = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("cajal_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  static std::vector<std::filesystem::path> made;
  if (made.empty()) std::atexit([] { for (auto& d : made) std::filesystem::remove_all(d); });
  made.push_back(dir);
  return dir.string();
}

void expect_gradcheck(const autograd::TestedFunction& f, const TensorList& inputs, bool second_order) {
  auto r = second_order ? autograd::gradgradcheck(f, inputs) : autograd::gradcheck(f, inputs);
  EXPECT_TRUE(r.ok) << (second_order ? "second-order " : "") << "gradcheck: " << r.message;
}

void expect_gradcheck_layouts(const std::function<Tensor(const Tensor&)>& op,
                              const std::function<Tensor(const Dims&)>& make_leaf, bool second_order) {
  expect_gradcheck([&](const TensorList& in) { return op(in[0]); }, {make_leaf({3, 4})}, second_order);
  expect_gradcheck([&](const TensorList& in) { return op(in[0].t()); }, {make_leaf({4, 3})}, second_order);
  expect_gradcheck([&](const TensorList& in) { return op(in[0].expand({3, 4})); }, {make_leaf({1, 4})}, second_order);
}

Tensor iota(const Dims& shape, DType dtype) { return arange(0, numel_of(shape), 1, dtype).reshape(shape); }

Tensor f64(std::initializer_list<double> values, const Dims& shape) { return tensor(values, shape); }

Tensor gradcheck_leaf(const Dims& shape, double phase) {
  Tensor t = sin(arange(0, numel_of(shape), 1, DType::f64) * 1.7 + phase).reshape(shape);
  return t.requires_grad_();
}

Tensor gradcheck_leaf_transposed(int64_t rows, int64_t cols, double phase) {
  Tensor t = gradcheck_leaf({cols, rows}, phase).detach().t();
  EXPECT_FALSE(t.is_contiguous());
  return t.requires_grad_();
}

Tensor NormalSampler::operator()(const Dims& shape, TensorOptions opts) {
  // A fresh distribution per call: the values depend only on the generator's state (a kept
  // distribution would carry a spare value from one call to the next).
  std::normal_distribution<double> dist(0.0, stddev_);
  std::vector<double> values(static_cast<size_t>(numel_of(shape)));
  for (double& v : values) v = dist(rng_);
  return from_vector(values, shape, opts);
}

data::Batch all_examples(const data::Dataset& dataset) {
  std::vector<data::Example> examples;
  for (int64_t i = 0; i < dataset.size(); ++i) examples.push_back(dataset.get(i));
  return data::collate(examples);
}

}  // namespace cajal::test
