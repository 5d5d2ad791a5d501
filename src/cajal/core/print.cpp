// Printing tensors the way PyTorch does.
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "cajal/autograd/node.h"
#include "cajal/core/tensor.h"

namespace cajal {

namespace {

struct Format {
  bool integral = false;
  bool scientific = false;
  int precision = 4;
  int width = 1;
};

Format choose_format(const std::vector<double>& v, DType dt) {
  Format f;
  f.integral = !is_floating(dt);
  std::vector<double> finite;
  for (double x : v)
    if (std::isfinite(x)) finite.push_back(std::fabs(x));
  if (!f.integral && !finite.empty()) {
    double mx = *std::max_element(finite.begin(), finite.end());
    double mn = *std::min_element(finite.begin(), finite.end());
    bool all_int = std::all_of(v.begin(), v.end(), [](double x) { return !std::isfinite(x) || x == std::floor(x); });
    if (all_int && mx < 1e8) {
      f.precision = 0;
    } else if (mx >= 1e8 || (mn > 0 && mn < 1e-4) || (mn > 0 && mx / mn > 1000)) {
      f.scientific = true;
    }
  }
  return f;
}

std::string format_value(double x, DType dt, const Format& f) {
  std::ostringstream os;
  if (dt == DType::boolean) return x != 0 ? "True" : "False";
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (f.integral) {
    os << static_cast<int64_t>(x);
  } else if (f.scientific) {
    os << std::scientific << std::setprecision(f.precision) << x;
  } else if (f.precision == 0) {
    os << std::fixed << std::setprecision(0) << x << '.';
  } else {
    os << std::fixed << std::setprecision(f.precision) << x;
  }
  return os.str();
}

void print_dim(std::ostream& os, const Tensor& t, const std::vector<std::string>& cells, int64_t& next, int64_t d,
               int indent, int width) {
  if (d == t.dim()) {
    os << std::setw(width) << cells[static_cast<size_t>(next++)];
    return;
  }
  os << '[';
  int64_t n = t.sizes()[d];
  for (int64_t i = 0; i < n; ++i) {
    if (i > 0) {
      os << ',';
      if (d == t.dim() - 1) {
        os << ' ';
      } else {
        os << std::string(static_cast<size_t>(t.dim() - d - 1), '\n') << std::string(static_cast<size_t>(indent + d + 1), ' ');
      }
    }
    print_dim(os, t, cells, next, d + 1, indent, width);
  }
  os << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  std::vector<double> v = t.to_vector<double>();
  Format f = choose_format(v, t.dtype());
  std::vector<std::string> cells;
  int width = 1;
  for (double x : v) {
    cells.push_back(format_value(x, t.dtype(), f));
    width = std::max(width, static_cast<int>(cells.back().size()));
  }
  os << "tensor(";
  if (t.dim() == 0) {
    os << cells[0];
  } else if (t.numel() == 0) {
    os << "[]";
  } else {
    int64_t next = 0;
    print_dim(os, t, cells, next, 0, 7, width);
  }
  bool default_dtype = t.dtype() == DType::f32 || t.dtype() == DType::i64 || t.dtype() == DType::boolean;
  if (t.numel() == 0 && t.dim() > 1) os << ", size=" << t.sizes();
  if (!default_dtype) os << ", dtype=" << dtype_name(t.dtype());
  if (t.grad_fn()) os << ", grad_fn=<" << t.grad_fn()->name() << "Backward>";
  else if (t.requires_grad()) os << ", requires_grad=True";
  return os << ')';
}

std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace cajal
