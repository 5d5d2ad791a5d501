#pragma once
// The MPI backend of Communicator (mpi_communicator.cpp, compiled only when cajal is built
// with CAJAL_WITH_MPI). This header does not include <mpi.h>: nothing above dist/ sees MPI.
// Most code reaches the backend through dist::init() and dist::world() (dist/dist.h).
#include <climits>
#include <cstdint>
#include <memory>

#include "cajal/dist/communicator.h"

namespace cajal::dist {

// A communicator over its own duplicate of MPI_COMM_WORLD (same ranks, a separate context, so
// a program's own MPI traffic cannot match cajal's), with MPI_ERRORS_RETURN so MPI failures
// become CommErrors. MPI must be initialized (dist::init() does it). Collective: every rank
// calls it. `max_count` is the most elements one MPI call carries: larger tensors travel in
// pieces, since MPI counts are ints (the tests lower it to exercise the pieces).
std::unique_ptr<Communicator> make_mpi_communicator(int64_t max_count = INT_MAX);

namespace detail {
// MPI_Init_thread asking for MPI_THREAD_SERIALIZED, unless MPI is already initialized (by
// the program itself): returns true when this call initialized MPI, and so owns finalizing.
bool mpi_init();
// MPI_Finalize, unless MPI is already finalized.
void mpi_finalize();
// The thread support MPI granted: "single", "funneled", "serialized" or "multiple".
const char* mpi_thread_level();
}  // namespace detail

}  // namespace cajal::dist
