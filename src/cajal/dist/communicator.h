#pragma once
// Communicator: the seam between cajal and whatever moves tensors between processes.
//
// A Communicator is a fixed group of `size()` processes, each knowing its own `rank()`
// (0 .. size-1), and offers collectives on CPU tensors: every process of the group must
// call the same collectives in the same order, with tensors of the same dtype and number of
// elements (and, for all_gather, shape). Two implementations exist today:
//
//   SingleCommunicator  ("single") a world of one process: every collective is a no-op or a
//                       copy. What a program gets when it was not started by mpirun, or when
//                       cajal was built without MPI, so single-process code needs no branch.
//   MPI                 ("mpi", dist/mpi_communicator.cpp) MPI_COMM_WORLD through the MPI C
//                       API: one process per rank, started by mpirun/srun, across machines.
//
// A later NCCL (or Gloo) backend is another subclass; nothing above dist/ changes. Most code
// uses the free functions of dist/dist.h on dist::world() rather than this class directly.
//
// Rules every implementation keeps (the base class checks them before calling one):
//   - In-place collectives (all_reduce, all_reduce_async, broadcast) need a defined,
//     contiguous tensor: a non-contiguous view is refused with a ValueError (write through a
//     contiguous buffer and copy_ it back). They bump the storage's version counter, so a
//     tensor saved for backward and then reduced is caught by autograd. Collectives record
//     no autograd history: they are not differentiable.
//   - all_gather takes any layout (its input is only read) and returns a new contiguous
//     tensor stacked along a new first dim: [size(), *t.sizes()], rank r's tensor at index r.
//     Call .flatten(0, 1) on the result for concatenation along the existing first dim.
//   - Dtypes: every dtype can be broadcast and gathered. Reductions: f32, f64, i64, i32, i8,
//     u8 with Sum, Prod, Max, Min; Avg on f32 and f64 only; bool with Max (any) and Min (all);
//     bf16 is refused (MPI has no bfloat16: reduce a float32 copy). Refusals are DTypeErrors.
//   - ReduceOp::Avg is Sum followed by a division by size() on every rank, done here in the
//     base class (for all_reduce_async: when the Work completes), so backends see only
//     Sum/Prod/Max/Min.
//   - Mismatched calls (one rank reduces 6 elements, another 8, or one broadcasts while
//     another reduces) are undefined behaviour, as in MPI: a hang, an MPI error, or wrong
//     numbers. In *checked* mode (set_checked(true), or CAJAL_DIST_CHECKED=1 at dist::init)
//     every collective first compares (collective, dtype, numel, shape, op/root) across ranks
//     with one small all-reduce and throws the same ValueError on every rank when they
//     differ, naming the field and this rank's value. It costs one extra latency-bound
//     round trip per collective; meant for debugging.
//   - Communication failures (an MPI error code) throw CommError (an IOError) naming the
//     operation, the MPI call, this rank and the world size.
//   - Thread safety: none. Call collectives from one thread at a time (the MPI backend asks
//     for MPI_THREAD_SERIALIZED; with only MPI_THREAD_FUNNELED granted, from the thread that
//     called dist::init). A Work may be waited on from that thread only.
#include <cstdint>
#include <memory>
#include <string>

#include "cajal/core/error.h"
#include "cajal/core/tensor.h"

namespace cajal::dist {

// A communication failure reported by the backend (an MPI error code, a lost peer).
class CommError : public IOError {
  using IOError::IOError;
};

enum class ReduceOp : uint8_t { Sum, Prod, Max, Min, Avg };
const char* reduce_op_name(ReduceOp op);  // "sum", "prod", "max", "min", "avg"

// A collective in flight (all_reduce_async). The tensor it writes must stay untouched (not
// read, not written) until wait() returns or test() returns true.
class Work {
 public:
  virtual ~Work() = default;
  // Blocks until the operation has completed on this rank; throws CommError if it failed.
  // Calling it again after completion returns at once.
  virtual void wait() = 0;
  // Returns true once the operation has completed (then wait() returns at once), false while
  // it is still running. Also drives progress: MPI implementations such as Open MPI advance a
  // non-blocking collective only inside MPI calls, so code that overlaps work with a
  // reduction should call test() now and then (a backward hook per bucket does).
  virtual bool test() = 0;
  // Destroying a Work that has not completed waits for it (errors are then swallowed): the
  // backend may still be writing into the tensor, and MPI forbids abandoning a collective.
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual std::string name() const = 0;  // "mpi", "single"
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // In place: t becomes the elementwise reduction of every rank's t.
  void all_reduce(const Tensor& t, ReduceOp op = ReduceOp::Sum);
  // Starts the same reduction and returns at once; t holds the result after wait()/test().
  // In checked mode the cross-rank comparison runs first and blocks.
  std::unique_ptr<Work> all_reduce_async(const Tensor& t, ReduceOp op = ReduceOp::Sum);
  // In place: every rank's t becomes root's t.
  void broadcast(const Tensor& t, int root = 0);
  // Every rank's t stacked along a new first dim: [size(), *t.sizes()], same dtype.
  Tensor all_gather(const Tensor& t);
  // Returns once every rank has called barrier().
  virtual void barrier() = 0;
  // Ends every process of the job with exit status `code`, at once: what a rank that hit an
  // error it cannot report to the others calls, instead of returning and leaving them waiting
  // in their next collective. Flushes stdout/stderr first. Never returns.
  [[noreturn]] virtual void abort(int code) = 0;

  // Checked mode (see the header comment). A collective setting: call it on every rank with
  // the same value, between the same two collectives.
  void set_checked(bool on) { checked_ = on; }
  bool checked() const { return checked_; }

 protected:
  Communicator() = default;

  // The backend's part. The base class has already checked the arguments: t is defined,
  // contiguous, of a dtype the op supports; op is never Avg; root is in [0, size()).
  virtual void all_reduce_impl(const Tensor& t, ReduceOp op) = 0;
  virtual std::unique_ptr<Work> all_reduce_async_impl(const Tensor& t, ReduceOp op) = 0;
  virtual void broadcast_impl(const Tensor& t, int root) = 0;
  // `in` is contiguous; `out` is contiguous [size(), *in.sizes()], to be filled.
  virtual void all_gather_impl(const Tensor& in, const Tensor& out) = 0;

  // Checked mode: throws the same ValueError on every rank unless all ranks passed the same
  // signature. The default all-reduces a small int64 tensor (MIN of the values and of their
  // negations) with all_reduce_impl; a backend that cannot reduce CPU tensors overrides it.
  virtual void check_consistent(const char* op, const Tensor& t, int64_t op_or_root);

  // "rank 1 of 3", for messages.
  std::string where() const;

 private:
  bool checked_ = false;
};

// The world of one process: rank 0 of 1. Reductions and broadcasts leave t as it is (Avg
// divides by 1), all_gather returns a copy of t with a leading dim of 1, barrier returns, and
// abort flushes stdout/stderr and ends the process with _Exit(code).
class SingleCommunicator final : public Communicator {
 public:
  std::string name() const override { return "single"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void barrier() override {}
  [[noreturn]] void abort(int code) override;

 protected:
  void all_reduce_impl(const Tensor&, ReduceOp) override {}
  std::unique_ptr<Work> all_reduce_async_impl(const Tensor& t, ReduceOp op) override;
  void broadcast_impl(const Tensor&, int) override {}
  void all_gather_impl(const Tensor& in, const Tensor& out) override;
};

}  // namespace cajal::dist
