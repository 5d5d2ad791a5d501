#pragma once
// The .npy files a reference script (tests/reference/<script>) writes, for a test suite that
// reads many of them: the script runs once, on first use, into a temporary folder.
//
//   const test::ReferenceNpy& reference() { static test::ReferenceNpy r("pruning_reference.py"); return r; }
//   Tensor w = reference().load("w");       // <folder>/w.npy
#include <string>

#include "cajal/io/npy.h"
#include "support/test_support.h"

namespace cajal::test {

class ReferenceNpy {
 public:
  explicit ReferenceNpy(const std::string& script) : dir_(temp_dir()) {
    ran_ = run_reference(script, dir_);
    if (!ran_) ADD_FAILURE() << script << " did not run";
  }
  // The array <name>.npy; an error (failing the test) when the script did not run.
  Tensor load(const std::string& name) const {
    if (!ran_) fail<IOError>("the reference script did not run; no ", name, ".npy");
    return load_npy(dir_ + "/" + name + ".npy");
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool ran_ = false;
};

}  // namespace cajal::test
