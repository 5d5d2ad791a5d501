#pragma once
// The main() of a gtest binary that mpirun starts on several ranks (tests/dist/*_mpi.cpp; see
// tests/CMakeLists.txt). It starts dist with the MPI backend and refuses a world of one;
// rank 0 prints gtest's usual report, the other ranks only their failures, prefixed
// "[rank r]"; and every rank exits with 1 when a test failed on any rank, so mpirun's status
// (and ctest's verdict) covers all of them.
//
//   CAJAL_MPI_TEST_MAIN()   // at the end of the test file
//
// Tests run on every rank in the same order and must make the same collectives on each: an
// ASSERT_* that returns early on one rank only leaves the others waiting (ctest's TIMEOUT
// ends that); prefer EXPECT_* around collectives.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "cajal/dist/dist.h"

namespace cajal::test {

// What a rank other than 0 prints: its failed assertions, nothing else.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_, result.file_name() ? result.file_name() : "?",
                 result.line_number(), result.message());
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result()->Failed())
      std::fprintf(stderr, "[rank %d] FAILED %s.%s\n", rank_, info.test_suite_name(), info.name());
  }

 private:
  int rank_;
};

inline int run_mpi_tests(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  dist::init(dist::Backend::Mpi);
  const int rank = dist::rank(), size = dist::world_size();
  if (size < 2) {
    std::fprintf(stderr, "this test needs at least 2 ranks: run it under mpirun -np 2 (got a world of %d)\n", size);
    dist::finalize();
    return 1;
  }
  if (rank != 0) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(rank));
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;

  // Every rank learns which ranks failed; rank 0 names them, and all exit alike.
  Tensor flag = make_tensor({1}, DType::i64);
  *flag.data_ptr<int64_t>() = failed;
  Tensor flags = dist::all_gather(flag);
  std::string failing;
  for (int r = 0; r < size; ++r)
    if (flags.data_ptr<int64_t>()[r] != 0) failing += (failing.empty() ? "" : ", ") + std::to_string(r);
  if (rank == 0) {
    if (failing.empty()) std::printf("all %d ranks passed\n", size);
    else std::printf("FAILED on rank(s) %s of %d\n", failing.c_str(), size);
    std::fflush(stdout);
  }
  dist::finalize();
  return failing.empty() ? 0 : 1;
}

}  // namespace cajal::test

#define CAJAL_MPI_TEST_MAIN() \
  int main(int argc, char** argv) { return ::cajal::test::run_mpi_tests(argc, argv); }
