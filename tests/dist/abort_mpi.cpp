// dist::abort brings the whole job down: rank 1 aborts while the other ranks wait in a
// barrier that rank 1 never enters. Without MPI_Abort they would wait until ctest's timeout;
// the ctest entry (tests/CMakeLists.txt) passes when mpirun exits with rank 1's code, 7, and
// fails on any other status or on the timeout.
#include <cstdio>

#include "cajal/dist/dist.h"
#include "dist/mpi_main.h"

namespace cajal {
namespace {

TEST(Abort, OneRankEndsTheJob) {
  if (dist::rank() == 1) {
    std::fprintf(stderr, "rank 1: aborting with code 7\n");
    dist::abort(7);
  }
  dist::barrier();  // never returns: rank 1 does not come
  ADD_FAILURE() << "rank " << dist::rank() << " left a barrier that rank 1 never entered";
}

}  // namespace
}  // namespace cajal

CAJAL_MPI_TEST_MAIN()
