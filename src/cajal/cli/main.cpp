// The `cajal` program: `cajal train config.yaml`, `cajal eval`, `cajal predict`, `cajal info`.
#include <unistd.h>

#include <cstdlib>

#include "cajal/cli/commands.h"

int main(int argc, char** argv) {
  // Idle OpenMP threads spin by default. When the cores are shared with other jobs, every
  // parallel region then waits for a descheduled spinning thread (one training epoch took
  // 145 s instead of 24 s on a busy 2-core machine; bench/README.md, "Threads on a shared
  // machine"). libgomp reads the policy once, as it loads, so the program restarts itself
  // with passive waiting unless the user chose a policy. execv returns only if it failed,
  // and then the program runs as it is.
  if (!std::getenv("OMP_WAIT_POLICY") && setenv("OMP_WAIT_POLICY", "passive", 1) == 0) {
    execv("/proc/self/exe", argv);
  }
  return cajal::cli::run_cli(std::vector<std::string>(argv + 1, argv + argc));
}
