// The MPI backend: collectives on a duplicate of MPI_COMM_WORLD through the MPI C API.
// Compiled only when cajal is built with CAJAL_WITH_MPI (CMakeLists.txt leaves it out
// otherwise); the only file of cajal that includes <mpi.h>.
#include "cajal/dist/mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace cajal::dist {

namespace {

bool finalized() {
  int done = 0;
  MPI_Finalized(&done);
  return done != 0;
}

std::string error_text(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) return "MPI error code " + std::to_string(rc);
  return std::string(text, static_cast<size_t>(len));
}

// The MPI type of one element. bool travels as uint8 (0/1: MAX is "any", MIN "all"); bf16
// as uint16, moved but never reduced (Communicator refuses that before we get here).
MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i64: return MPI_INT64_T;
    case DType::i32: return MPI_INT32_T;
    case DType::u8: return MPI_UINT8_T;
    case DType::boolean: return MPI_UINT8_T;
    case DType::bf16: return MPI_UINT16_T;
    case DType::i8: return MPI_INT8_T;
  }
  fail<DTypeError>("dist: no MPI type for dtype ", static_cast<int>(t));
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return MPI_SUM;
    case ReduceOp::Prod: return MPI_PROD;
    case ReduceOp::Max: return MPI_MAX;
    case ReduceOp::Min: return MPI_MIN;
    case ReduceOp::Avg: break;  // done by Communicator as Sum, then a division
  }
  fail<ValueError>("dist: reduce op ", reduce_op_name(op), " has no MPI op");
}

// Throws the CommError for a failed MPI call: "dist::all_reduce (rank 1 of 3, mpi):
// MPI_Allreduce failed: MPI_ERR_TRUNCATE: message truncated".
void check(int rc, const std::string& where, const char* op, const char* call) {
  if (rc == MPI_SUCCESS) return;
  fail<CommError>("dist::", op, " (", where, ", mpi): ", call, " failed: ", error_text(rc));
}

class MpiWork final : public Work {
 public:
  MpiWork(std::vector<MPI_Request> requests, Tensor t, std::string where)
      : requests_(std::move(requests)), t_(std::move(t)), where_(std::move(where)) {}
  ~MpiWork() override {
    // MPI forbids freeing or cancelling a non-blocking collective: wait for it, so MPI does
    // not write into memory that is gone. An error here has nowhere to go.
    if (!done_ && !finalized()) MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
  }
  void wait() override {
    if (done_) return;
    int rc = MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    done_ = true;
    check(rc, where_, "all_reduce_async", "MPI_Waitall");
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    int rc = MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag, MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) done_ = true;
    check(rc, where_, "all_reduce_async", "MPI_Testall");
    done_ = flag != 0;
    return done_;
  }

 private:
  std::vector<MPI_Request> requests_;
  Tensor t_;  // keeps the buffer alive while MPI writes into it
  std::string where_;
  bool done_ = false;
};

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(int64_t max_count) : max_count_(std::clamp<int64_t>(max_count, 1, INT_MAX)) {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_COMM_WORLD", "init", "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    where_ = where();
  }
  ~MpiCommunicator() override {
    if (!finalized()) MPI_Comm_free(&comm_);
  }

  std::string name() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void barrier() override { check(MPI_Barrier(comm_), where_, "barrier", "MPI_Barrier"); }

  [[noreturn]] void abort(int code) override {
    std::fflush(nullptr);
    MPI_Abort(comm_, code);
    std::_Exit(code);  // MPI_Abort does not return; in case an implementation does
  }

 protected:
  void all_reduce_impl(const Tensor& t, ReduceOp op) override {
    check_cpu("all_reduce", t);
    MPI_Datatype type = mpi_type(t.dtype());
    for_pieces(t, [&](char* p, int count) {
      check(MPI_Allreduce(MPI_IN_PLACE, p, count, type, mpi_op(op), comm_), where_, "all_reduce", "MPI_Allreduce");
    });
  }

  std::unique_ptr<Work> all_reduce_async_impl(const Tensor& t, ReduceOp op) override {
    check_cpu("all_reduce_async", t);
    MPI_Datatype type = mpi_type(t.dtype());
    std::vector<MPI_Request> requests;
    for_pieces(t, [&](char* p, int count) {
      MPI_Request request = MPI_REQUEST_NULL;
      int rc = MPI_Iallreduce(MPI_IN_PLACE, p, count, type, mpi_op(op), comm_, &request);
      if (rc != MPI_SUCCESS && !requests.empty()) {
        // Pieces already started must finish before their buffer can be let go.
        MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
      }
      check(rc, where_, "all_reduce_async", "MPI_Iallreduce");
      requests.push_back(request);
    });
    return std::make_unique<MpiWork>(std::move(requests), t, where_);
  }

  void broadcast_impl(const Tensor& t, int root) override {
    check_cpu("broadcast", t);
    MPI_Datatype type = mpi_type(t.dtype());
    for_pieces(t, [&](char* p, int count) {
      check(MPI_Bcast(p, count, type, root, comm_), where_, "broadcast", "MPI_Bcast");
    });
  }

  void all_gather_impl(const Tensor& in, const Tensor& out) override {
    check_cpu("all_gather", in);
    MPI_Datatype type = mpi_type(in.dtype());
    const int64_t n = in.numel();
    const size_t esize = in.element_size();
    char* src = static_cast<char*>(in.raw_data());
    char* dst = static_cast<char*>(out.raw_data());
    if (n <= max_count_) {
      int count = static_cast<int>(n);
      check(MPI_Allgather(src, count, type, dst, count, type, comm_), where_, "all_gather", "MPI_Allgather");
      return;
    }
    // In pieces: piece k of every rank lands at (rank * n + offset) elements, so each rank's
    // block is received as one element of a type `count` long whose extent is the whole
    // per-rank stride n.
    for (int64_t offset = 0; offset < n; offset += max_count_) {
      int count = static_cast<int>(std::min<int64_t>(max_count_, n - offset));
      MPI_Datatype block, strided;
      MPI_Type_contiguous(count, type, &block);
      MPI_Type_create_resized(block, 0, static_cast<MPI_Aint>(n * static_cast<int64_t>(esize)), &strided);
      MPI_Type_commit(&strided);
      int rc = MPI_Allgather(src + offset * esize, count, type, dst + offset * esize, 1, strided, comm_);
      MPI_Type_free(&strided);
      MPI_Type_free(&block);
      check(rc, where_, "all_gather", "MPI_Allgather");
    }
  }

 private:
  void check_cpu(const char* op, const Tensor& t) const {
    if (t.device().type != DeviceType::CPU)
      fail<ValueError>("dist::", op, ": the mpi backend takes CPU tensors, got one on ", t.device());
  }

  // Calls fn(pointer, count) for consecutive pieces of at most max_count_ elements.
  template <typename F>
  void for_pieces(const Tensor& t, F&& fn) const {
    char* p = static_cast<char*>(t.raw_data());
    const int64_t n = t.numel();
    const size_t esize = t.element_size();
    for (int64_t offset = 0; offset < n; offset += max_count_)
      fn(p + offset * esize, static_cast<int>(std::min<int64_t>(max_count_, n - offset)));
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  int64_t max_count_;
  std::string where_;
};

int g_thread_level = MPI_THREAD_SINGLE;

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(int64_t max_count) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized || finalized())
    fail<ValueError>("dist: the MPI communicator needs MPI initialized and not finalized: call dist::init() first");
  return std::make_unique<MpiCommunicator>(max_count);
}

namespace detail {

bool mpi_init() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) {
    MPI_Query_thread(&g_thread_level);
    return false;
  }
  // SERIALIZED lets any one thread at a time make the calls (a communication thread, or
  // backward hooks on another thread than main); FUNNELED would tie them to this thread.
  int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &g_thread_level);
  if (rc != MPI_SUCCESS) fail<CommError>("dist::init: MPI_Init_thread failed: ", error_text(rc));
  return true;
}

void mpi_finalize() {
  if (!finalized()) MPI_Finalize();
}

const char* mpi_thread_level() {
  switch (g_thread_level) {
    case MPI_THREAD_SINGLE: return "single";
    case MPI_THREAD_FUNNELED: return "funneled";
    case MPI_THREAD_SERIALIZED: return "serialized";
    case MPI_THREAD_MULTIPLE: return "multiple";
    default: return "unknown";
  }
}

}  // namespace detail

}  // namespace cajal::dist
