#include "cajal/dist/dist.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#ifdef CAJAL_WITH_MPI
#include "cajal/dist/mpi_communicator.h"
#endif

namespace cajal::dist {

namespace {

struct State {
  std::unique_ptr<Communicator> world;  // set by init()
  Backend backend = Backend::Auto;      // the one running (Single or Mpi) once initialized
  bool initialized = false;
  bool finalized = false;
  bool owns_mpi = false;      // init() called MPI_Init_thread, so finalize() calls MPI_Finalize
  bool exit_hook = false;     // finalize() registered with atexit
};

// Never destroyed, so the atexit hook can run after other statics are gone.
State& state() {
  static State* s = new State;
  return *s;
}

// The world before init(), for a process not started by a launcher.
Communicator& single_world() {
  static SingleCommunicator* single = new SingleCommunicator;
  return *single;
}

// The number of processes a launcher reports, or 0 if it reports none.
long launcher_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(name)) return std::strtol(v, nullptr, 10);
  return 0;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

void finalize_at_exit() {
  try {
    finalize();
  } catch (...) {
    // Nothing can be reported at exit; MPI is left to the launcher.
  }
}

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::Auto: return "auto";
    case Backend::Single: return "single";
    case Backend::Mpi: return "mpi";
  }
  return "?";
}

}  // namespace

bool mpi_available() {
#ifdef CAJAL_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

void init(Backend backend) {
  State& s = state();
  if (s.finalized) fail<ValueError>("dist::init: called after dist::finalize (MPI cannot be started twice in a process)");
  if (s.initialized) {
    if (backend == Backend::Auto || backend == s.backend) return;
    fail<ValueError>("dist::init: the world already runs the ", backend_name(s.backend), " backend, asked for ",
                     backend_name(backend));
  }
  if (backend == Backend::Auto) {
    if (!launched_by_mpi()) {
      backend = Backend::Single;
    } else if (mpi_available()) {
      backend = Backend::Mpi;
    } else if (launcher_size() > 1) {
      fail<ValueError>("dist::init: started by an MPI launcher with ", launcher_size(),
                       " processes, but cajal was built without MPI (CAJAL_WITH_MPI=OFF): each process would train "
                       "alone; install libopenmpi-dev and rebuild, or start one process");
    } else {
      backend = Backend::Single;
    }
  }
  if (backend == Backend::Mpi) {
#ifdef CAJAL_WITH_MPI
    s.owns_mpi = detail::mpi_init();
    s.world = make_mpi_communicator();
#else
    fail<ValueError>("dist::init: the mpi backend was asked for, but cajal was built without MPI (CAJAL_WITH_MPI=OFF)");
#endif
  } else {
    s.world = std::make_unique<SingleCommunicator>();
  }
  s.backend = backend;
  s.initialized = true;
  if (!s.exit_hook) {
    std::atexit(finalize_at_exit);
    s.exit_hook = true;
  }
  // Checked mode must be the same on every rank (it adds a collective to each call): a rank
  // whose environment sets it turns it on for all.
  Tensor flag = make_tensor({1}, DType::i64);
  *flag.data_ptr<int64_t>() = env_flag("CAJAL_DIST_CHECKED") ? 1 : 0;
  s.world->all_reduce(flag, ReduceOp::Max);
  s.world->set_checked(*flag.data_ptr<int64_t>() != 0);
}

void finalize() {
  State& s = state();
  if (!s.initialized || s.finalized) return;
  s.finalized = true;
  s.world.reset();
#ifdef CAJAL_WITH_MPI
  if (s.owns_mpi) detail::mpi_finalize();
#endif
}

Communicator& world() {
  State& s = state();
  if (s.initialized && !s.finalized) return *s.world;
  if (s.finalized) fail<ValueError>("dist::world: used after dist::finalize");
  if (launched_by_mpi())
    fail<ValueError>("dist::world: this process was started by an MPI launcher (mpirun, srun) but dist::init() "
                     "was not called; call it first in main, on every rank");
  return single_world();
}

bool is_initialized() { return state().initialized && !state().finalized; }
bool is_distributed() { return world().size() > 1; }
int rank() { return world().rank(); }
int world_size() { return world().size(); }

void all_reduce(const Tensor& t, ReduceOp op) { world().all_reduce(t, op); }
std::unique_ptr<Work> all_reduce_async(const Tensor& t, ReduceOp op) { return world().all_reduce_async(t, op); }
void broadcast(const Tensor& t, int root) { world().broadcast(t, root); }
Tensor all_gather(const Tensor& t) { return world().all_gather(t); }
void barrier() { world().barrier(); }
void abort(int code) {
  State& s = state();
  if (s.initialized && !s.finalized) s.world->abort(code);
  std::fflush(nullptr);  // no world (or a single one): end this process alone
  std::_Exit(code);
}

}  // namespace cajal::dist
