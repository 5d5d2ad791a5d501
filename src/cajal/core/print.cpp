// Printing tensors the way PyTorch does (a port of torch/_tensor_str.py with its default
// print options: 4 digits, line width 80, summarized with "..." above 1000 elements).
// Two deliberate differences: dtypes print without the "torch." prefix, and grad_fn names
// are built from cajal's op names ("leaky_relu" -> <LeakyReluBackward0>).
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "cajal/autograd/node.h"
#include "cajal/core/tensor.h"

namespace cajal {

namespace {

constexpr int kPrecision = 4;
constexpr int kLineWidth = 80;
constexpr int64_t kThreshold = 1000;  // more elements than this are summarized
constexpr int64_t kEdgeItems = 3;     // elements kept at each end of a summarized dim

// Values are printed through long double, which holds every int64 and every double exactly.
using Value = long double;

// The indices of dim 0 that are shown: all, or the first and last kEdgeItems.
std::vector<int64_t> shown_indices(int64_t n, bool summarize) {
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < n; ++i)
    if (!summarize || n <= 2 * kEdgeItems || i < kEdgeItems || i >= n - kEdgeItems) idx.push_back(i);
  return idx;
}

// Every value that will be printed, in order.
void collect_shown(const Tensor& t, bool summarize, std::vector<Value>& out) {
  if (t.dim() <= 1 && !summarize) {
    std::vector<Value> v = t.to_vector<Value>();
    out.insert(out.end(), v.begin(), v.end());
    return;
  }
  if (t.dim() == 0) {
    out.push_back(t.item<Value>());
    return;
  }
  for (int64_t i : shown_indices(t.size(0), summarize)) collect_shown(t.select(0, i), summarize, out);
}

std::string printf_string(const char* fmt, Value x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}

// One formatter for the whole tensor, chosen from the values shown (torch's _Formatter).
class Formatter {
 public:
  Formatter(const std::vector<Value>& values, DType dtype) : floating_(is_floating(dtype)), boolean_(dtype == DType::boolean) {
    if (!floating_) {
      for (Value v : values) width_ = std::max(width_, raw(v).size());
      return;
    }
    std::vector<Value> nonzero_finite;
    for (Value v : values)
      if (std::isfinite(v) && v != 0) nonzero_finite.push_back(v);
    if (nonzero_finite.empty()) return;  // integer style, width 1
    Value lo = INFINITY, hi = 0;
    for (Value v : nonzero_finite) {
      lo = std::min(lo, std::fabs(v));
      hi = std::max(hi, std::fabs(v));
      int_mode_ = int_mode_ && v == std::ceil(v);
    }
    sci_mode_ = hi / lo > 1000 || hi > 1e8 || (!int_mode_ && lo < 1e-4);
    for (Value v : nonzero_finite) width_ = std::max(width_, raw(v).size());
  }

  size_t width() const { return width_; }
  // The value right-aligned to the common width.
  std::string format(Value v) const {
    std::string s = raw(v);
    return std::string(width_ > s.size() ? width_ - s.size() : 0, ' ') + s;
  }

 private:
  std::string raw(Value v) const {
    if (boolean_) return v != 0 ? "True" : "False";
    if (!floating_) return printf_string("%.0Lf", v);
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (sci_mode_) return printf_string("%.4Le", v);
    if (int_mode_) return printf_string("%.0Lf", v) + ".";
    return printf_string("%.4Lf", v);
  }

  bool floating_, boolean_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  size_t width_ = 1;
};

// The parts joined by sep.
std::string join(std::vector<std::string>::const_iterator first, std::vector<std::string>::const_iterator last,
                 const std::string& sep) {
  std::string out;
  for (auto it = first; it != last; ++it) {
    if (it != first) out += sep;
    out += *it;
  }
  return out;
}

// "[" + the parts joined by a comma, `newlines` line breaks and `indent` spaces + "]".
std::string bracketed(const std::vector<std::string>& parts, size_t newlines, int indent) {
  std::string sep(1, ',');
  sep.append(newlines, '\n').append(static_cast<size_t>(indent), ' ');
  std::string out(1, '[');
  out += join(parts.begin(), parts.end(), sep);
  out += ']';
  return out;
}

// torch's _vector_str: elements wrapped to the line width.
std::string vector_str(const Tensor& t, int indent, bool summarize, const Formatter& f) {
  auto per_line = static_cast<size_t>(std::max<int64_t>(1, (kLineWidth - indent) / static_cast<int64_t>(f.width() + 2)));
  std::vector<Value> v = t.to_vector<Value>();
  std::vector<std::string> cells;
  int64_t n = t.size(0);
  for (int64_t i : shown_indices(n, summarize)) {
    if (summarize && n > 2 * kEdgeItems && i == n - kEdgeItems) cells.push_back(" ...");
    cells.push_back(f.format(v[static_cast<size_t>(i)]));
  }
  std::vector<std::string> lines;
  for (size_t i = 0; i < cells.size(); i += per_line)
    lines.push_back(join(cells.begin() + static_cast<std::ptrdiff_t>(i),
                         cells.begin() + static_cast<std::ptrdiff_t>(std::min(cells.size(), i + per_line)), ", "));
  return bracketed(lines, 1, indent + 1);
}

// torch's _tensor_str_with_formatter: nested brackets, blank lines between blocks.
std::string tensor_str(const Tensor& t, int indent, bool summarize, const Formatter& f) {
  if (t.dim() == 0) return f.format(t.item<Value>());
  if (t.dim() == 1) return vector_str(t, indent, summarize, f);
  std::vector<std::string> slices;
  int64_t n = t.size(0);
  for (int64_t i : shown_indices(n, summarize)) {
    if (summarize && n > 2 * kEdgeItems && i == n - kEdgeItems) slices.push_back("...");
    slices.push_back(tensor_str(t.select(0, i), indent + 1, summarize, f));
  }
  return bracketed(slices, static_cast<size_t>(t.dim() - 1), indent + 1);
}

// "leaky_relu" -> "LeakyReluBackward0", as PyTorch names its backward nodes.
std::string backward_name(const char* op) {
  std::string out;
  bool upper = true;
  for (const char* c = op; *c; ++c) {
    if (*c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(*c))) : *c;
    upper = false;
  }
  return out + "Backward0";
}

std::string shape_tuple(const Dims& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + (d.size() == 1 ? ",)" : ")");
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  NoGradGuard no_grad;  // select() below must not record history
  const std::string prefix = "tensor(";
  const int indent = static_cast<int>(prefix.size());
  std::vector<std::string> suffixes;
  bool default_dtype = t.dtype() == DType::f32 || t.dtype() == DType::i64 || t.dtype() == DType::boolean;
  std::string body;
  if (t.numel() == 0) {
    if (t.dim() != 1) suffixes.push_back("size=" + shape_tuple(t.sizes()));
    if (t.dtype() != DType::f32) suffixes.push_back(std::string("dtype=") + dtype_name(t.dtype()));
    body = "[]";
  } else {
    if (!default_dtype) suffixes.push_back(std::string("dtype=") + dtype_name(t.dtype()));
    bool summarize = t.numel() > kThreshold;
    std::vector<Value> shown;
    collect_shown(t, summarize, shown);
    body = tensor_str(t, indent, summarize, Formatter(shown, t.dtype()));
  }
  if (t.grad_fn()) suffixes.push_back("grad_fn=<" + backward_name(t.grad_fn()->name()) + ">");
  else if (t.requires_grad()) suffixes.push_back("requires_grad=True");

  // torch's _add_suffixes: a suffix that would overflow the line starts a new one.
  std::string out = prefix + body;
  size_t newline = out.rfind('\n');
  size_t last_line = newline == std::string::npos ? out.size() + 2 : out.size() - newline + 1;  // as torch counts
  for (const std::string& s : suffixes) {
    if (last_line + s.size() + 2 > kLineWidth) {
      out += ",\n" + std::string(static_cast<size_t>(indent), ' ') + s;
      last_line = static_cast<size_t>(indent) + s.size();
    } else {
      out += ", " + s;
      last_line += s.size() + 2;
    }
  }
  return os << out << ')';
}

std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace cajal
