// Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax/ArgMin
// and CumSum. Every Reduce* op shares one function: it works out the axes (an attribute, or
// since ReduceSum-13 an input), then applies the op's formula from one table.
#include <algorithm>

#include "cajal/onnx/import_ops.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"

namespace cajal::onnx {

namespace {

// The dims a Reduce* node reduces, sorted; every dim when none are given.
Dims reduce_dims(const Node& node, const Tensor& x, const TensorList& in, bool* noop) {
  std::vector<int64_t> axes = node.get_ints("axes");
  if (optional_input(in, 1).defined()) axes = int_values(in[1]);
  *noop = axes.empty() && node.get_int("noop_with_empty_axes", 0) != 0;
  Dims dims;
  if (axes.empty()) {
    for (int64_t d = 0; d < x.dim(); ++d) dims.push_back(d);
    return dims;
  }
  for (int64_t a : axes) dims.push_back(onnx_axis(node, a, x.dim()));
  std::sort(dims.begin(), dims.end());
  if (std::adjacent_find(dims.begin(), dims.end()) != dims.end()) fail<IOError>(node.where(), ": repeated axes");
  return dims;
}

// Max, Min and Prod reduce one dim at a time in cajal: fold them over `dims`, keeping each
// reduced dim (size 1) so the others keep their positions.
template <typename One>
Tensor fold_dims(const Tensor& x, const Dims& dims, bool keepdim, One one) {
  Tensor y = x;
  for (int64_t d : dims) y = one(y, d);
  if (keepdim) return y;
  for (size_t k = dims.size(); k-- > 0;) y = y.squeeze(dims[k]);  // the last first: earlier dims keep their index
  return y;
}

using ReduceFn = Tensor (*)(const Tensor& x, const Dims& dims, bool keepdim);

const std::map<std::string, ReduceFn>& reduce_ops() {
  static const std::map<std::string, ReduceFn> ops = {
      {"ReduceSum", [](const Tensor& x, const Dims& d, bool k) { return sum(x, d, k); }},
      {"ReduceMean", [](const Tensor& x, const Dims& d, bool k) { return mean(x.is_floating_point() ? x : x.to(DType::f64), d, k); }},
      {"ReduceMax", [](const Tensor& x, const Dims& d, bool k) {
         return fold_dims(x, d, k, [](const Tensor& y, int64_t dim) { return max(y, dim, true).values; });
       }},
      {"ReduceMin", [](const Tensor& x, const Dims& d, bool k) {
         return fold_dims(x, d, k, [](const Tensor& y, int64_t dim) { return min(y, dim, true).values; });
       }},
      {"ReduceProd", [](const Tensor& x, const Dims& d, bool k) {
         return fold_dims(x, d, k, [](const Tensor& y, int64_t dim) { return prod(y, dim, true); });
       }},
      {"ReduceL1", [](const Tensor& x, const Dims& d, bool k) { return sum(abs(x), d, k); }},
      {"ReduceL2", [](const Tensor& x, const Dims& d, bool k) {
         return sqrt(sum(x.is_floating_point() ? x * x : (x * x).to(DType::f64), d, k));
       }},
      {"ReduceLogSum", [](const Tensor& x, const Dims& d, bool k) { return log(sum(x, d, k)); }},
      {"ReduceLogSumExp", [](const Tensor& x, const Dims& d, bool k) { return logsumexp(x, d, k); }},
      {"ReduceSumSquare", [](const Tensor& x, const Dims& d, bool k) { return sum(x * x, d, k); }},
  };
  return ops;
}

TensorList run_reduce(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  bool noop = false;
  Dims dims = reduce_dims(node, x, in, &noop);
  if (noop) return {x};
  bool keepdim = node.get_int("keepdims", 1) != 0;
  Tensor y = reduce_ops().at(node.op_type)(x, dims, keepdim);
  // cajal sums integers into int64 and takes means in floating point; ONNX keeps the input's type.
  return {y.dtype() == x.dtype() ? y : y.to(x.dtype())};
}

// ArgMax/ArgMin along one axis; select_last_index picks the last of equal extremes, found
// as the first one in the flipped tensor.
TensorList run_arg(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t dim = onnx_axis(node, node.get_int("axis", 0), x.dim());
  bool keepdim = node.get_int("keepdims", 1) != 0;
  bool last = node.get_int("select_last_index", 0) != 0;
  bool is_max = node.op_type == "ArgMax";
  Tensor source = last ? flip(x, {dim}) : x;
  Tensor index = is_max ? argmax(source, dim, keepdim) : argmin(source, dim, keepdim);
  if (last) index = (x.size(dim) - 1) - index;
  return {index};
}

// CumSum along the axis input; `exclusive` leaves out each element itself and `reverse`
// sums from the end.
TensorList run_cumsum(const Node& node, const TensorList& in) {
  const Tensor& x = in.at(0);
  int64_t dim = onnx_axis(node, static_cast<int64_t>(scalar_value(in.at(1))), x.dim());
  bool reverse = node.get_int("reverse", 0) != 0;
  Tensor y = cumsum(reverse ? flip(x, {dim}) : x, dim);
  if (node.get_int("exclusive", 0) != 0) y = y - (reverse ? flip(x, {dim}) : x);
  if (reverse) y = flip(y, {dim});
  return {y.dtype() == x.dtype() ? y : y.to(x.dtype())};
}

}  // namespace

void register_reduce_ops(OpTable& table) {
  for (const auto& [name, fn] : reduce_ops()) table[name] = {run_reduce, 1};
  table["ArgMax"] = {run_arg, 1};
  table["ArgMin"] = {run_arg, 1};
  table["CumSum"] = {run_cumsum, 11};
}

}  // namespace cajal::onnx
