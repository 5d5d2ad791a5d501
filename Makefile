# The front door. On a fresh Debian 12 machine:
#   make run    installs what is missing, builds, and trains the example model
#   make test   installs what is missing, builds, and runs every test
#
# Variables: BUILD_DIR (default build), CMAKE_ARGS (extra cmake options, e.g.
# CMAKE_ARGS=-DCAJAL_NATIVE=OFF for a portable build), TEST_JOBS (parallel tests, default 2).

BUILD_DIR ?= build
CMAKE_ARGS ?=
TEST_JOBS ?= 2

# Build the benchmarks only once bench/CMakeLists.txt defines some.
BENCH := $(if $(shell grep -s add_executable bench/CMakeLists.txt),ON,OFF)

.PHONY: all setup build test run bench clean

all: build

setup:
	scripts/setup

build: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCAJAL_BUILD_BENCH=$(BENCH) $(CMAKE_ARGS)
	ninja -C $(BUILD_DIR)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error -j$(TEST_JOBS)

# The main job: trains the CNN preset on Fashion-MNIST (examples/fashion_mnist_cnn.yaml),
# prints the test accuracy and writes the run folder runs/fashion_mnist_cnn. (The program's
# idle OpenMP threads sleep rather than spin unless OMP_WAIT_POLICY is set: cli/main.cpp.)
run: build
	$(BUILD_DIR)/cajal train examples/fashion_mnist_cnn.yaml --output runs/fashion_mnist_cnn

# bench/run configures and builds the benchmarks itself, then runs them beside PyTorch.
bench: setup
	@if [ -e bench/run ]; then BUILD_DIR=$(BUILD_DIR) bench/run; \
	else echo "bench: no bench/run yet; benchmarks will be described in bench/README.md"; fi

clean:
	rm -rf $(BUILD_DIR)
