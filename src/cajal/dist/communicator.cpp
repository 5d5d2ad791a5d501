#include "cajal/dist/communicator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace cajal::dist {

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Prod: return "prod";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
    case ReduceOp::Avg: return "avg";
  }
  return "?";
}

namespace {

std::string shape_string(const Tensor& t) {
  std::string s = "[";
  for (size_t i = 0; i < t.sizes().size(); ++i) s += (i ? ", " : "") + std::to_string(t.sizes()[i]);
  return s + "]";
}

// A tensor an in-place collective may write: defined and contiguous.
void check_inplace(const char* op, const Tensor& t) {
  check_defined(op, t);
  if (!t.is_contiguous()) {
    std::string strides = "[";
    for (size_t i = 0; i < t.strides().size(); ++i) strides += (i ? ", " : "") + std::to_string(t.strides()[i]);
    fail<ValueError>("dist::", op, ": the tensor must be contiguous (sizes ", shape_string(t), ", strides ", strides,
                     "]): reduce a contiguous copy and copy_ it back");
  }
}

void check_reducible(const char* op, DType dtype, ReduceOp rop) {
  if (dtype == DType::bf16)
    fail<DTypeError>("dist::", op, ": bfloat16 tensors cannot be reduced (MPI has no bfloat16 type); reduce a float32 copy");
  if (dtype == DType::boolean && rop != ReduceOp::Max && rop != ReduceOp::Min)
    fail<DTypeError>("dist::", op, ": op ", reduce_op_name(rop), " on a bool tensor; use max (any) or min (all)");
  if (rop == ReduceOp::Avg && !is_floating(dtype))
    fail<DTypeError>("dist::", op, ": op avg needs a float32 or float64 tensor, got ", dtype_name(dtype),
                     "; reduce with sum and divide");
}

// t /= n for Avg; t is contiguous f32 or f64.
void divide(const Tensor& t, int n) {
  if (n == 1) return;
  auto run = [&]<typename T>() {
    T* p = t.data_ptr<T>();
    const T d = static_cast<T>(n);
    for (int64_t i = 0, e = t.numel(); i < e; ++i) p[i] /= d;
  };
  if (t.dtype() == DType::f32) run.operator()<float>();
  else run.operator()<double>();
}

// The Work of an Avg reduction: the sum in flight, then the division once it completes.
class AvgWork final : public Work {
 public:
  AvgWork(std::unique_ptr<Work> inner, Tensor t, int n) : inner_(std::move(inner)), t_(std::move(t)), n_(n) {}
  void wait() override {
    inner_->wait();
    finish();
  }
  bool test() override {
    if (done_) return true;
    if (!inner_->test()) return false;
    finish();
    return true;
  }

 private:
  void finish() {
    if (done_) return;
    divide(t_, n_);
    done_ = true;
  }
  std::unique_ptr<Work> inner_;
  Tensor t_;
  int n_;
  bool done_ = false;
};

class DoneWork final : public Work {
 public:
  void wait() override {}
  bool test() override { return true; }
};

// A small stable number for a string (FNV-1a), kept non-negative so it can be negated.
int64_t fingerprint(const char* s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ull;
  return static_cast<int64_t>(h >> 2);
}

}  // namespace

std::string Communicator::where() const {
  return "rank " + std::to_string(rank()) + " of " + std::to_string(size());
}

void Communicator::all_reduce(const Tensor& t, ReduceOp op) {
  check_inplace("all_reduce", t);
  check_reducible("all_reduce", t.dtype(), op);
  if (checked_) check_consistent("all_reduce", t, static_cast<int64_t>(op));
  all_reduce_impl(t, op == ReduceOp::Avg ? ReduceOp::Sum : op);
  if (op == ReduceOp::Avg) divide(t, size());
  t.bump_version();
}

std::unique_ptr<Work> Communicator::all_reduce_async(const Tensor& t, ReduceOp op) {
  check_inplace("all_reduce_async", t);
  check_reducible("all_reduce_async", t.dtype(), op);
  if (checked_) check_consistent("all_reduce_async", t, static_cast<int64_t>(op));
  std::unique_ptr<Work> work = all_reduce_async_impl(t, op == ReduceOp::Avg ? ReduceOp::Sum : op);
  t.bump_version();
  if (op == ReduceOp::Avg && size() > 1) return std::make_unique<AvgWork>(std::move(work), t, size());
  return work;
}

void Communicator::broadcast(const Tensor& t, int root) {
  check_inplace("broadcast", t);
  if (root < 0 || root >= size())
    fail<ValueError>("dist::broadcast: root ", root, " is not a rank of this world (", where(), ")");
  if (checked_) check_consistent("broadcast", t, root);
  broadcast_impl(t, root);
  t.bump_version();
}

Tensor Communicator::all_gather(const Tensor& t) {
  check_defined("all_gather", t);
  if (checked_) check_consistent("all_gather", t, 0);
  Tensor in = t.is_contiguous() ? t : t.detach().contiguous();
  Dims shape = t.sizes();
  shape.insert(0, size());
  Tensor out = make_tensor(shape, t.dtype());
  all_gather_impl(in, out);
  return out;
}

void Communicator::check_consistent(const char* op, const Tensor& t, int64_t op_or_root) {
  // The fields every rank must agree on; the shape counts only for all_gather, whose result
  // it shapes (reductions and broadcasts need the same number of elements only).
  constexpr int kFields = 5;
  const bool gather = std::strcmp(op, "all_gather") == 0;
  int64_t shape_print = 0;
  if (gather) shape_print = fingerprint(shape_string(t).c_str());
  const int64_t mine[kFields] = {fingerprint(op), static_cast<int64_t>(t.dtype()), t.numel(), shape_print, op_or_root};
  Tensor sig = make_tensor({2 * kFields}, DType::i64);
  int64_t* s = sig.data_ptr<int64_t>();
  for (int i = 0; i < kFields; ++i) {
    s[i] = mine[i];
    s[kFields + i] = -mine[i];
  }
  all_reduce_impl(sig, ReduceOp::Min);
  auto lo = [&](int i) { return s[i]; };
  auto hi = [&](int i) { return -s[kFields + i]; };
  auto differs = [&](int i) { return lo(i) != hi(i); };
  const std::string head = std::string("dist::") + op + " (checked mode, " + where() + "): ranks disagree on ";
  if (differs(0)) fail<ValueError>(head, "the collective: some ranks called another collective than ", op);
  if (differs(1))
    fail<ValueError>(head, "the dtype: from ", dtype_name(static_cast<DType>(lo(1))), " to ",
                     dtype_name(static_cast<DType>(hi(1))), ", ", dtype_name(t.dtype()), " here");
  if (differs(2))
    fail<ValueError>(head, "the number of elements: from ", lo(2), " to ", hi(2), ", ", t.numel(), " here (shape ",
                     shape_string(t), ")");
  if (differs(3)) fail<ValueError>(head, "the shape: ", shape_string(t), " here");
  if (differs(4)) {  // all_gather passes 0 everywhere: only reductions and broadcasts get here
    if (std::strcmp(op, "broadcast") == 0)
      fail<ValueError>(head, "the root: from ", lo(4), " to ", hi(4), ", ", op_or_root, " here");
    fail<ValueError>(head, "the reduce op: ", reduce_op_name(static_cast<ReduceOp>(op_or_root)), " here");
  }
}

void SingleCommunicator::abort(int code) {
  std::fflush(nullptr);
  std::_Exit(code);
}

std::unique_ptr<Work> SingleCommunicator::all_reduce_async_impl(const Tensor&, ReduceOp) {
  return std::make_unique<DoneWork>();
}

void SingleCommunicator::all_gather_impl(const Tensor& in, const Tensor& out) {
  if (in.numel() > 0) std::memcpy(out.raw_data(), in.raw_data(), static_cast<size_t>(in.numel()) * in.element_size());
}

}  // namespace cajal::dist
