#pragma once
// Grad mode: whether ops record history. Thread-local, switched by RAII guards.

namespace cajal::autograd {

struct GradMode {
  static bool enabled();
  static void set_enabled(bool on);
};

// Anomaly mode: backward checks every gradient a node produces and names the forward op
// whose backward produced NaN or infinity.
struct AnomalyMode {
  static bool enabled();
  static void set_enabled(bool on);
};

}  // namespace cajal::autograd

namespace cajal {

// Disables recording in a scope (inference, optimizer updates): NoGradGuard g;
class NoGradGuard {
 public:
  NoGradGuard() : prev_(autograd::GradMode::enabled()) { autograd::GradMode::set_enabled(false); }
  ~NoGradGuard() { autograd::GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
 private:
  bool prev_;
};

// Sets grad mode to `on` in a scope.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : prev_(autograd::GradMode::enabled()) { autograd::GradMode::set_enabled(on); }
  ~GradModeGuard() { autograd::GradMode::set_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;
 private:
  bool prev_;
};

class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() : prev_(autograd::AnomalyMode::enabled()) { autograd::AnomalyMode::set_enabled(true); }
  ~DetectAnomalyGuard() { autograd::AnomalyMode::set_enabled(prev_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;
 private:
  bool prev_;
};

}  // namespace cajal
