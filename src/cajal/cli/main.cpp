// The `cajal` program: `cajal train config.yaml`, `cajal eval`, `cajal predict`, `cajal info`.
#include "cajal/cli/commands.h"

int main(int argc, char** argv) {
  return cajal::cli::run_cli(std::vector<std::string>(argv + 1, argv + argc));
}
