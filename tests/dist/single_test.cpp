// The single-process communicator, and dist::init() in a process no MPI launcher started:
// a world of one, whatever the build, so `cajal train` runs as it did before dist existed.
#include <cstdlib>

#include "cajal/dist/dist.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using dist::ReduceOp;
using test::expect_error;

TEST(Single, IsAWorldOfOne) {
  dist::SingleCommunicator c;
  EXPECT_EQ(c.name(), "single");
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  c.barrier();
}

TEST(Single, ReductionsAndBroadcastKeepTheValues) {
  dist::SingleCommunicator c;
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Max, ReduceOp::Min, ReduceOp::Avg}) {
    Tensor t = tensor({1.5, -2.0, 3.25}, {3});
    uint32_t version = t.version();
    c.all_reduce(t, op);
    EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1.5, -2.0, 3.25})) << dist::reduce_op_name(op);
    EXPECT_GT(t.version(), version);
  }
  Tensor i = tensor({4, 5}, {2});
  c.all_reduce(i, ReduceOp::Max);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{4, 5}));
  c.broadcast(i, 0);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{4, 5}));
  std::unique_ptr<dist::Work> w = c.all_reduce_async(i, ReduceOp::Sum);
  EXPECT_TRUE(w->test());
  w->wait();
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{4, 5}));
}

TEST(Single, AllGatherAddsADimOfOneAndCopies) {
  dist::SingleCommunicator c;
  Tensor base = tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {3, 2});
  Tensor g = c.all_gather(base.t());  // non-contiguous input: logical order
  ASSERT_EQ(g.sizes(), Dims({1, 2, 3}));
  EXPECT_EQ(g.to_vector<float>(), (std::vector<float>{1, 3, 5, 2, 4, 6}));
  base.fill_(0);
  EXPECT_EQ(g.to_vector<float>(), (std::vector<float>{1, 3, 5, 2, 4, 6})) << "a copy, not a view";
  EXPECT_EQ(c.all_gather(scalar_tensor(7, DType::i64)).sizes(), Dims({1}));
}

TEST(Single, RefusesTheSameMistakesAsMpi) {
  dist::SingleCommunicator c;
  Tensor view = make_tensor({3, 2}, DType::f32).t();
  expect_error<ValueError>([&] { c.all_reduce(view); }, {"dist::all_reduce", "contiguous"});
  expect_error<ValueError>([&] { c.broadcast(make_tensor({2}, DType::f32), 1); }, {"root 1", "rank 0 of 1"});
  expect_error<DTypeError>([&] { c.all_reduce(make_tensor({2}, DType::i64), ReduceOp::Avg); }, {"avg", "int64"});
  expect_error<DTypeError>([&] { c.all_reduce(make_tensor({2}, DType::bf16)); }, {"bfloat16"});
  expect_error<DTypeError>([&] { c.all_reduce(make_tensor({2}, DType::boolean), ReduceOp::Sum); }, {"bool"});
  expect_error<ValueError>([&] { c.all_gather(Tensor()); }, {"all_gather", "undefined"});
  c.set_checked(true);  // one rank always agrees with itself
  Tensor t = tensor({2.f});
  c.all_reduce(t);
  EXPECT_EQ(t.item<float>(), 2.f);
  EXPECT_EQ(c.all_gather(t).sizes(), Dims({1, 1}));
}

// The process-wide world: before init, after init without a launcher, after finalize. One test,
// in order, since finalize cannot be undone.
TEST(World, InitWithoutALauncherIsAWorldOfOne) {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"}) unsetenv(name);
  EXPECT_FALSE(dist::launched_by_mpi());
  EXPECT_FALSE(dist::is_initialized());
  EXPECT_EQ(dist::world_size(), 1);  // before init: a world of one
  EXPECT_EQ(dist::rank(), 0);

  // Started by a launcher but init() forgotten: refused, naming init().
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  EXPECT_TRUE(dist::launched_by_mpi());
  expect_error<ValueError>([] { dist::world(); }, {"dist::init() was not called"});
  unsetenv("OMPI_COMM_WORLD_SIZE");

  dist::init();
  EXPECT_TRUE(dist::is_initialized());
  EXPECT_EQ(dist::world().name(), "single");
  EXPECT_EQ(dist::world_size(), 1);
  EXPECT_EQ(dist::rank(), 0);
  EXPECT_FALSE(dist::is_distributed());
  EXPECT_FALSE(dist::world().checked());
  dist::init();  // again: nothing happens
  dist::init(dist::Backend::Single);
  expect_error<ValueError>([] { dist::init(dist::Backend::Mpi); }, {"already runs the single backend"});

  Tensor t = tensor({3.0, 4.0}, {2});
  dist::all_reduce(t, ReduceOp::Avg);
  dist::broadcast(t);
  dist::barrier();
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{3.0, 4.0}));
  EXPECT_EQ(dist::all_gather(t).sizes(), Dims({1, 2}));
  dist::all_reduce_async(t)->wait();

  dist::finalize();
  dist::finalize();  // twice is fine
  EXPECT_FALSE(dist::is_initialized());
  expect_error<ValueError>([] { dist::world(); }, {"after dist::finalize"});
  expect_error<ValueError>([] { dist::init(); }, {"after dist::finalize"});
}

}  // namespace
}  // namespace cajal
