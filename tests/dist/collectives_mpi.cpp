// The MPI communicator's collectives, run by mpirun on 2 and on 3 ranks (tests/CMakeLists.txt).
// Every rank fills its tensors with values that depend on its rank; the expected results are
// closed forms in the world size R (sum over r of r is R(R-1)/2, of r^2 (R-1)R(2R-1)/6), so
// they hold for any number of ranks.
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cajal/dist/dist.h"
#include "cajal/dist/mpi_communicator.h"
#include "dist/mpi_main.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using dist::ReduceOp;
using test::expect_error;

int R() { return dist::world_size(); }
int me() { return dist::rank(); }

// A one-element int64 tensor.
Tensor int64_tensor(int64_t v) {
  Tensor t = make_tensor({1}, DType::i64);
  *t.data_ptr<int64_t>() = v;
  return t;
}

// Turns checked mode on for a scope (on every rank: every rank runs every test).
struct CheckedScope {
  CheckedScope() { dist::world().set_checked(true); }
  ~CheckedScope() { dist::world().set_checked(false); }
};

TEST(World, IsMpiWithDistinctRanks) {
  EXPECT_TRUE(dist::is_initialized());
  EXPECT_TRUE(dist::is_distributed());
  EXPECT_EQ(dist::world().name(), "mpi");
  EXPECT_GE(R(), 2);
  // MPI_Init_thread asked for SERIALIZED; Open MPI grants it (or more).
  std::string level = dist::detail::mpi_thread_level();
  EXPECT_TRUE(level == "serialized" || level == "multiple") << level;
  Tensor all = dist::all_gather(int64_tensor(me()));
  ASSERT_EQ(all.sizes(), Dims({R(), 1}));
  for (int r = 0; r < R(); ++r) EXPECT_EQ(all.data_ptr<int64_t>()[r], r);
  // init() again is a no-op; another backend is refused.
  dist::init();
  dist::init(dist::Backend::Mpi);
  expect_error<ValueError>([] { dist::init(dist::Backend::Single); }, {"already runs the mpi backend"});
}

// Rank r's element i: one of +r, -r, r^2 (by i % 3), plus i. Small integers: exact in every dtype.
int64_t value(int r, int64_t i) {
  int64_t base = i % 3 == 0 ? r : (i % 3 == 1 ? -r : int64_t(r) * r);
  return base + i;
}
int64_t expected(ReduceOp op, int R, int64_t i) {
  int64_t n = R;
  switch (op) {
    case ReduceOp::Sum: {
      int64_t s = i % 3 == 0 ? n * (n - 1) / 2 : (i % 3 == 1 ? -n * (n - 1) / 2 : (n - 1) * n * (2 * n - 1) / 6);
      return s + n * i;
    }
    case ReduceOp::Max: return (i % 3 == 1 ? 0 : (i % 3 == 0 ? n - 1 : (n - 1) * (n - 1))) + i;
    case ReduceOp::Min: return (i % 3 == 1 ? -(n - 1) : 0) + i;
    default: return 0;
  }
}

template <typename T>
void check_reductions() {
  const DType dtype = dtype_v<T>;
  constexpr int64_t n = 17;
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min}) {
    Tensor t = make_tensor({n}, dtype);
    for (int64_t i = 0; i < n; ++i) t.data_ptr<T>()[i] = static_cast<T>(value(me(), i));
    uint32_t version = t.version();
    dist::all_reduce(t, op);
    EXPECT_GT(t.version(), version) << "the storage version is bumped";
    for (int64_t i = 0; i < n; ++i)
      EXPECT_EQ(t.data_ptr<T>()[i], static_cast<T>(expected(op, R(), i)))
          << dtype_name(dtype) << " " << dist::reduce_op_name(op) << " element " << i;
  }
}

TEST(AllReduce, SumMaxMinFloat32) { check_reductions<float>(); }
TEST(AllReduce, SumMaxMinFloat64) { check_reductions<double>(); }
TEST(AllReduce, SumMaxMinInt64) { check_reductions<int64_t>(); }
TEST(AllReduce, SumMaxMinInt32) { check_reductions<int32_t>(); }

TEST(AllReduce, Int64KeepsAll64Bits) {
  // (r + 1) * 10^12 + r: the sum needs more than 32 bits.
  Tensor t = int64_tensor(int64_t(me() + 1) * 1000000000000LL + me());
  dist::all_reduce(t);
  int64_t n = R();
  EXPECT_EQ(t.data_ptr<int64_t>()[0], 1000000000000LL * n * (n + 1) / 2 + n * (n - 1) / 2);
}

TEST(AllReduce, ProdAndAvg) {
  Tensor p = int64_tensor(me() + 2);
  dist::all_reduce(p, ReduceOp::Prod);
  int64_t factorial = 1;
  for (int k = 2; k <= R() + 1; ++k) factorial *= k;
  EXPECT_EQ(p.data_ptr<int64_t>()[0], factorial);  // 2 * 3 * ... * (R + 1)

  Tensor a = tensor({float(me()), 2.0f * me() + 1}, {2});
  dist::all_reduce(a, ReduceOp::Avg);
  EXPECT_FLOAT_EQ(a.data_ptr<float>()[0], (R() - 1) / 2.0f);
  EXPECT_FLOAT_EQ(a.data_ptr<float>()[1], float(R()));  // mean of 1, 3, ..., 2R - 1
  Tensor d = tensor({double(me())}, {1});
  dist::all_reduce(d, ReduceOp::Avg);
  EXPECT_EQ(d.data_ptr<double>()[0], (R() - 1) / 2.0);
}

TEST(AllReduce, BoolMaxIsAnyMinIsAll) {
  Tensor b = tensor({me() == 0, true, false}, {3});
  Tensor c = b.clone();
  dist::all_reduce(b, ReduceOp::Max);
  dist::all_reduce(c, ReduceOp::Min);
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(c.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 0}));
}

TEST(AllReduce, Float64SumIsExact) {
  // Sums that are exactly representable come back with exactly those bits, whatever order MPI
  // adds in: 1 + (r + 1) 2^-30, and r 10^15 + 1 (below 2^53).
  Tensor t = tensor({1.0 + std::ldexp(double(me() + 1), -30), double(me()) * 1e15 + 1.0, -0.0}, {3});
  dist::all_reduce(t);
  const double n = R();
  const double want0 = n + std::ldexp(n * (n + 1) / 2, -30);
  const double want1 = n * (n - 1) / 2 * 1e15 + n;
  EXPECT_EQ(std::bit_cast<uint64_t>(t.data_ptr<double>()[0]), std::bit_cast<uint64_t>(want0));
  EXPECT_EQ(std::bit_cast<uint64_t>(t.data_ptr<double>()[1]), std::bit_cast<uint64_t>(want1));
  EXPECT_EQ(std::bit_cast<uint64_t>(t.data_ptr<double>()[2]), std::bit_cast<uint64_t>(-0.0));  // -0 + -0 = -0
}

TEST(AllReduce, RefusesWhatItCannotReduce) {
  // Refused on every rank before any communication, so the ranks stay in step.
  Tensor wide = make_tensor({3, 2}, DType::f32).t();  // a non-contiguous view
  expect_error<ValueError>([&] { dist::all_reduce(wide); }, {"dist::all_reduce", "contiguous", "strides [1, 2]"});
  expect_error<ValueError>([&] { dist::all_reduce_async(wide); }, {"all_reduce_async", "contiguous"});
  expect_error<ValueError>([&] { dist::broadcast(wide); }, {"broadcast", "contiguous"});
  expect_error<DTypeError>([] { dist::all_reduce(make_tensor({2}, DType::i64), ReduceOp::Avg); }, {"avg", "int64"});
  expect_error<DTypeError>([] { dist::all_reduce(make_tensor({2}, DType::bf16)); }, {"bfloat16"});
  expect_error<DTypeError>([] { dist::all_reduce(make_tensor({2}, DType::boolean)); }, {"bool", "max (any)"});
  expect_error<ValueError>([] { dist::all_reduce(Tensor()); }, {"undefined"});
  expect_error<ValueError>([] { dist::broadcast(make_tensor({2}, DType::f32), R()); }, {"root", "is not a rank"});
  // Still in step: a reduction after the refusals agrees.
  Tensor t = tensor({1.0f});
  dist::all_reduce(t);
  EXPECT_EQ(t.item<float>(), float(R()));
}

TEST(Broadcast, FromRootZeroAndOne) {
  for (int root : {0, 1}) {
    Tensor t = make_tensor({2, 3}, DType::f32);
    for (int i = 0; i < 6; ++i) t.data_ptr<float>()[i] = 10.0f * me() + i;
    dist::broadcast(t, root);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data_ptr<float>()[i], 10.0f * root + i) << "root " << root;
  }
  // Types MPI moves without reducing: bfloat16 and bool.
  Tensor h = make_tensor({2}, DType::bf16);
  h.data_ptr<bf16>()[0] = bf16(0.5f + me());
  h.data_ptr<bf16>()[1] = bf16(-3.0f * me());
  dist::broadcast(h, 1);
  EXPECT_EQ(float(h.data_ptr<bf16>()[0]), 1.5f);
  EXPECT_EQ(float(h.data_ptr<bf16>()[1]), -3.0f);
  Tensor b = tensor({me() == 1, me() != 1}, {2});
  dist::broadcast(b, 1);
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
}

TEST(AllGather, StacksAlongANewFirstDimInRankOrder) {
  Tensor t = make_tensor({2, 3}, DType::f64);
  for (int i = 0; i < 6; ++i) t.data_ptr<double>()[i] = 100.0 * me() + i;
  Tensor all = dist::all_gather(t);
  ASSERT_EQ(all.sizes(), Dims({R(), 2, 3}));
  EXPECT_EQ(all.dtype(), DType::f64);
  EXPECT_TRUE(all.is_contiguous());
  for (int r = 0; r < R(); ++r)
    for (int i = 0; i < 6; ++i) EXPECT_EQ(all.data_ptr<double>()[r * 6 + i], 100.0 * r + i);
  EXPECT_EQ(all.flatten(0, 1).sizes(), Dims({2 * R(), 3}));  // concatenation, when wanted

  // A non-contiguous input is gathered in its logical order.
  Tensor base = make_tensor({3, 2}, DType::i32);
  for (int i = 0; i < 6; ++i) base.data_ptr<int32_t>()[i] = 10 * me() + i;
  Tensor g = dist::all_gather(base.t());  // [2, 3]: element (j, k) is base (k, j)
  ASSERT_EQ(g.sizes(), Dims({R(), 2, 3}));
  for (int r = 0; r < R(); ++r)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) EXPECT_EQ(g.data_ptr<int32_t>()[r * 6 + j * 3 + k], 10 * r + k * 2 + j);

  // Empty tensors and 0-d tensors.
  EXPECT_EQ(dist::all_gather(make_tensor({0, 4}, DType::f32)).sizes(), Dims({R(), 0, 4}));
  Tensor s = dist::all_gather(scalar_tensor(double(me()), DType::f64));
  ASSERT_EQ(s.sizes(), Dims({R()}));
  for (int r = 0; r < R(); ++r) EXPECT_EQ(s.data_ptr<double>()[r], r);
}

TEST(AllReduceAsync, TwoReductionsOverlapLocalWork) {
  Tensor a = make_tensor({100000}, DType::f32);
  Tensor b = make_tensor({37}, DType::f64);
  for (int64_t i = 0; i < a.numel(); ++i) a.data_ptr<float>()[i] = float(me() + (i % 7));
  for (int64_t i = 0; i < b.numel(); ++i) b.data_ptr<double>()[i] = double(me() * i);
  std::unique_ptr<dist::Work> wa = dist::all_reduce_async(a, ReduceOp::Sum);
  std::unique_ptr<dist::Work> wb = dist::all_reduce_async(b, ReduceOp::Avg);

  // Local work meanwhile, on other tensors, polling the reductions now and then.
  Tensor x = make_tensor({64, 64}, DType::f32);
  x.fill_(0.5f);
  double local = 0;
  for (int step = 0; step < 20; ++step) {
    local += x.matmul(x).sum().item<double>();
    wa->test();
    wb->test();
  }
  EXPECT_EQ(local, 20.0 * 64 * 64 * (64 * 0.25));
  wb->wait();
  wa->wait();
  wa->wait();  // waiting again is fine
  EXPECT_TRUE(wa->test());
  EXPECT_TRUE(wb->test());
  const double n = R();
  for (int64_t i = 0; i < a.numel(); ++i)
    ASSERT_EQ(a.data_ptr<float>()[i], float(n * (n - 1) / 2 + n * (i % 7))) << "element " << i;
  for (int64_t i = 0; i < b.numel(); ++i) ASSERT_EQ(b.data_ptr<double>()[i], (n - 1) / 2 * i) << "element " << i;
}

TEST(AllReduceAsync, PollingWithTestAloneCompletes) {
  Tensor t = tensor({double(me())}, {1});
  std::unique_ptr<dist::Work> w = dist::all_reduce_async(t, ReduceOp::Max);
  while (!w->test()) std::this_thread::yield();
  EXPECT_EQ(t.item<double>(), R() - 1);
  // A Work dropped unfinished is waited for by its destructor (the ranks stay in step).
  Tensor u = tensor({1.0f});
  dist::all_reduce_async(u).reset();
  EXPECT_EQ(u.item<float>(), float(R()));
}

TEST(Barrier, NoRankLeavesBeforeAllArrive) {
  // Each rank but 0 writes a file and then enters the barrier (rank 1 late); rank 0, once out
  // of the barrier, must see every file. The folder name comes from rank 0.
  Tensor tag = int64_tensor(std::chrono::steady_clock::now().time_since_epoch().count());
  dist::broadcast(tag, 0);
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("cajal_barrier_" + std::to_string(tag.data_ptr<int64_t>()[0]));
  if (me() == 0) fs::create_directories(dir);
  dist::barrier();
  if (me() != 0) {
    if (me() == 1) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::ofstream(dir / std::to_string(me())) << "here";
  }
  dist::barrier();
  if (me() == 0) {
    for (int r = 1; r < R(); ++r) EXPECT_TRUE(fs::exists(dir / std::to_string(r))) << "rank " << r;
  }
  dist::barrier();
  if (me() == 0) fs::remove_all(dir);
}

TEST(Checked, MismatchesThrowTheSameErrorOnEveryRank) {
  CheckedScope checked;
  // The number of elements differs: 4 + r.
  expect_error<ValueError>([] { dist::all_reduce(make_tensor({4 + me()}, DType::f32)); },
                           {"dist::all_reduce (checked mode, rank ", "number of elements: from 4 to " + std::to_string(3 + R()),
                            std::to_string(4 + me()) + " here"});
  expect_error<ValueError>([] { dist::all_reduce_async(make_tensor({4 + me()}, DType::f32)); },
                           {"all_reduce_async", "number of elements"});
  // The dtype differs.
  expect_error<ValueError>([] { dist::all_reduce(make_tensor({4}, me() == 0 ? DType::f32 : DType::f64)); },
                           {"the dtype: from float32 to float64"});
  // The reduce op, the root, the collective.
  expect_error<ValueError>([] { dist::all_reduce(make_tensor({4}, DType::f32), me() == 0 ? ReduceOp::Sum : ReduceOp::Max); },
                           {"the reduce op"});
  expect_error<ValueError>([] { dist::broadcast(make_tensor({4}, DType::f32), me() == 0 ? 0 : 1); }, {"the root: from 0 to 1"});
  expect_error<ValueError>(
      [] {
        Tensor t = make_tensor({4}, DType::f32);
        if (me() == 0) dist::all_reduce(t);
        else dist::broadcast(t, 0);
      },
      {"the collective"});
  // all_gather needs the same shape, not only the same number of elements.
  expect_error<ValueError>([] { dist::all_gather(make_tensor(me() == 0 ? Dims{2, 3} : Dims{3, 2}, DType::f32)); },
                           {"dist::all_gather", "the shape"});
  // Matching calls pass the check and still agree afterwards.
  Tensor t = tensor({float(me())});
  dist::all_reduce(t, ReduceOp::Max);
  EXPECT_EQ(t.item<float>(), float(R() - 1));
  Tensor g = dist::all_gather(make_tensor({2, 3}, DType::f32));
  EXPECT_EQ(g.sizes(), Dims({R(), 2, 3}));
}

TEST(Pieces, TensorsLargerThanOneMpiCallTravelInPieces) {
  // At most 5 elements per MPI call: 23 elements take 5 pieces.
  std::unique_ptr<dist::Communicator> comm = dist::make_mpi_communicator(5);
  EXPECT_EQ(comm->rank(), me());
  EXPECT_EQ(comm->size(), R());
  constexpr int64_t n = 23;
  Tensor t = make_tensor({n}, DType::f64);
  for (int64_t i = 0; i < n; ++i) t.data_ptr<double>()[i] = double(value(me(), i));
  Tensor s = t.clone(), m = t.clone(), b = t.clone();
  comm->all_reduce(s, ReduceOp::Sum);
  std::unique_ptr<dist::Work> w = comm->all_reduce_async(m, ReduceOp::Min);
  comm->broadcast(b, R() - 1);
  w->wait();
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(s.data_ptr<double>()[i], double(expected(ReduceOp::Sum, R(), i))) << i;
    EXPECT_EQ(m.data_ptr<double>()[i], double(expected(ReduceOp::Min, R(), i))) << i;
    EXPECT_EQ(b.data_ptr<double>()[i], double(value(R() - 1, i))) << i;
  }
  Tensor all = comm->all_gather(t);
  ASSERT_EQ(all.sizes(), Dims({R(), n}));
  for (int r = 0; r < R(); ++r)
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(all.data_ptr<double>()[r * n + i], double(value(r, i))) << r << " " << i;
}

}  // namespace
}  // namespace cajal

CAJAL_MPI_TEST_MAIN()
