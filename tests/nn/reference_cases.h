#pragma once
// Reads the cases that tests/reference/conv_reference.py writes: a manifest line
// "<id> <op> <key>=<value> ..." per case and <id>_<name>.npy files, for the convolution
// and pooling tests.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace cajal::test {

struct ReferenceCase {
  std::string dir, id, op;
  std::map<std::string, std::string> args;

  bool has(const std::string& key) const { return args.count(key) > 0; }
  const std::string& text(const std::string& key) const { return args.at(key); }
  // "2,1" -> {2, 1}
  std::vector<int64_t> ints(const std::string& key) const {
    std::vector<int64_t> values;
    std::stringstream in(args.at(key));
    for (std::string part; std::getline(in, part, ',');) values.push_back(std::stoll(part));
    return values;
  }
  std::vector<double> numbers(const std::string& key) const {
    std::vector<double> values;
    std::stringstream in(args.at(key));
    for (std::string part; std::getline(in, part, ',');) values.push_back(std::stod(part));
    return values;
  }
  int64_t integer(const std::string& key, int64_t fallback) const { return has(key) ? ints(key).at(0) : fallback; }
  bool flag(const std::string& key, bool fallback) const { return has(key) ? text(key) == "1" : fallback; }
  // A size argument: one number or one per dim.
  template <size_t D>
  ExpandingArray<D> sizes(const std::string& key, int64_t fallback) const {
    if (!has(key)) return ExpandingArray<D>(fallback);
    std::vector<int64_t> v = ints(key);
    if (v.size() == 1) return ExpandingArray<D>(v[0]);
    std::array<int64_t, D> a{};
    std::copy(v.begin(), v.end(), a.begin());
    return ExpandingArray<D>(a);
  }
  Tensor load(const std::string& name) const { return load_npy(dir + "/" + id + "_" + name + ".npy"); }
  std::string describe() const {
    std::string s = id + " " + op;
    for (const auto& [k, v] : args) s += " " + k + "=" + v;
    return s;
  }
};

// Runs conv_reference.py for `group` ("conv" or "pool") once per test program and returns
// its cases (and the directory of its files in dir_out).
inline std::vector<ReferenceCase> reference_cases(const std::string& group, std::string* dir_out = nullptr) {
  static std::map<std::string, std::string> dirs;  // group -> directory of a successful run
  if (!dirs.count(group)) {
    std::string fresh = temp_dir();
    if (!run_reference("conv_reference.py", fresh + " " + group)) return {};
    dirs[group] = fresh;
  }
  const std::string& dir = dirs[group];
  if (dir_out) *dir_out = dir;
  std::vector<ReferenceCase> cases;
  std::ifstream manifest(dir + "/manifest.txt");
  for (std::string line; std::getline(manifest, line);) {
    std::stringstream in(line);
    ReferenceCase c;
    c.dir = dir;
    in >> c.id >> c.op;
    for (std::string token; in >> token;) {
      size_t eq = token.find('=');
      c.args[token.substr(0, eq)] = token.substr(eq + 1);
    }
    cases.push_back(c);
  }
  return cases;
}

// The module reprs the reference wrote (reprs.txt), by index.
inline std::vector<std::string> reference_reprs(const std::string& dir) {
  std::vector<std::string> reprs;
  std::ifstream in(dir + "/reprs.txt");
  for (std::string line; std::getline(in, line);) reprs.push_back(line.substr(line.find('\t') + 1));
  return reprs;
}

// |a - b| <= rtol * (|b| + max|b|): relative closeness, with an absolute floor at the
// result's scale, since entries that are sums of many terms may cancel to near zero.
inline ::testing::AssertionResult close_to_scale(const Tensor& a, const Tensor& b, double rtol) {
  double scale = b.numel() == 0 ? 0 : b.abs().max().item<double>();
  return all_close(a.to(DType::f64), b.to(DType::f64), rtol, rtol * scale);
}

}  // namespace cajal::test
