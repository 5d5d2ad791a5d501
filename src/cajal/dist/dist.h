#pragma once
// dist: data-parallel training's communication layer, as free functions on one world.
//
//   int main() {
//     cajal::dist::init();                       // MPI when started by mpirun, else a world of one
//     cajal::Tensor g = ...;                     // contiguous, the same numel and dtype on every rank
//     cajal::dist::all_reduce(g, cajal::dist::ReduceOp::Avg);
//     if (cajal::dist::rank() == 0) std::cout << g;
//   }                                            // dist::finalize() runs at exit
//
//   mpirun -np 4 ./train                         # 4 processes, ranks 0..3 (add -H host1,host2 for machines)
//   ./train                                      # 1 process, rank 0 of 1, no MPI started
//
// The collectives are Communicator's (dist/communicator.h, which states their rules: in place
// on contiguous tensors, all_gather stacks along a new first dim, Avg is sum / size, checked
// mode, CommError). Every rank must call the same collectives in the same order.
//
// Thread safety: init() and finalize() from the main thread; collectives from one thread at a
// time (MPI is started with MPI_THREAD_SERIALIZED; if the library grants only FUNNELED, from
// the thread that called init()). OpenMP threads inside ops never call MPI.
//
// A rank that fails should call dist::abort(code) (MPI_Abort) rather than return from main:
// the other ranks would otherwise wait in their next collective, and MPI_Finalize, until the
// job's time limit.
#include <memory>
#include <string>

#include "cajal/dist/communicator.h"

namespace cajal::dist {

enum class Backend : uint8_t {
  Auto,    // MPI when an MPI launcher started the process, else Single
  Single,  // a world of one, even under mpirun (each process alone)
  Mpi,     // MPI; a ValueError if cajal was built without it
};

// Starts the world; call it once, first thing in main, on every rank. Auto detects an MPI
// launcher by its environment: OMPI_COMM_WORLD_SIZE (Open MPI's mpirun), PMI_SIZE / PMI_RANK
// (MPICH, Intel MPI, srun --mpi=pmi2), PMIX_RANK (PMIx: srun --mpi=pmix, Open MPI 5). Without
// them the process gets the single communicator and MPI is never initialized, so a program
// (`cajal train`) runs as it did before dist existed. Built without MPI, a launcher that
// reports more than one process is a ValueError (the processes would silently each train
// alone). MPI is initialized with MPI_Init_thread(MPI_THREAD_SERIALIZED) unless the program
// initialized it already (then cajal neither re-initializes nor finalizes it).
// CAJAL_DIST_CHECKED=1 in the environment (of any rank) turns checked mode on for the world.
// Registers finalize() to run at exit. Calling init() again with Auto or the backend already
// running does nothing; another backend, or init() after finalize(), is a ValueError.
void init(Backend backend = Backend::Auto);

// Frees the world's communicator and, if init() started MPI, calls MPI_Finalize. Safe to
// call twice, and without init(). MPI_Finalize waits for every rank: all ranks must reach
// it. Afterwards world() throws: MPI cannot be started again in the same process.
void finalize();

// The world's communicator. Before init(), a process that was not started by an MPI
// launcher gets a single communicator (so library code can ask for rank() and world_size()
// unconditionally); one that was gets a ValueError saying to call init().
Communicator& world();

bool is_initialized();
// True when the world has more than one process.
bool is_distributed();
int rank();
int world_size();
// True when this build of cajal has the MPI backend (CAJAL_WITH_MPI).
bool mpi_available();
// True when the environment names an MPI launcher (the test init() Auto makes).
bool launched_by_mpi();

// The collectives on world(), as Communicator's (dist/communicator.h).
void all_reduce(const Tensor& t, ReduceOp op = ReduceOp::Sum);
std::unique_ptr<Work> all_reduce_async(const Tensor& t, ReduceOp op = ReduceOp::Sum);
void broadcast(const Tensor& t, int root = 0);
Tensor all_gather(const Tensor& t);
void barrier();
// Ends every process of the job with exit status `code` (MPI_Abort); never returns.
[[noreturn]] void abort(int code);

}  // namespace cajal::dist
