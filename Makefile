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

# Sanitizer and fuzz builds live in their own folders.
SANITIZE_DIR ?= build-sanitize
TSAN_DIR ?= build-tsan
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all setup build test run bench clean test-sanitize fuzz

all: build

setup:
	scripts/setup

build: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCAJAL_BUILD_BENCH=$(BENCH) $(CMAKE_ARGS)
	ninja -C $(BUILD_DIR)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error -j$(TEST_JOBS)

# The whole suite built with AddressSanitizer and UndefinedBehaviorSanitizer (a report fails
# the test, leaks included), then the data loader's and training's threaded tests with
# ThreadSanitizer. -O1 keeps the build and the instrumented runs quick.
test-sanitize: setup
	cmake -S . -B $(SANITIZE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
	  -DCAJAL_SANITIZE=address,undefined -DCAJAL_BUILD_BENCH=OFF $(CMAKE_ARGS)
	ninja -C $(SANITIZE_DIR)
	ctest --test-dir $(SANITIZE_DIR) --output-on-failure --no-tests=error -j$(TEST_JOBS)
	cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
	  -DCAJAL_SANITIZE=thread -DCAJAL_BUILD_BENCH=OFF $(CMAKE_ARGS)
	ninja -C $(TSAN_DIR) data_loader train_trainer
	OMP_NUM_THREADS=1 ctest --test-dir $(TSAN_DIR) --output-on-failure -R '^(data\.loader|train\.trainer)$$'

# Every libFuzzer harness in fuzz/ (clang, with ASan and UBSan) for FUZZ_SECONDS each, seeded
# from real files; fuzz/run prints executions, coverage edges and corpus size per harness.
fuzz: setup
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g" -DCAJAL_FUZZ=ON -DCAJAL_SANITIZE=address,undefined \
	  -DCAJAL_BUILD_TESTS=OFF -DCAJAL_BUILD_BENCH=OFF $(CMAKE_ARGS)
	ninja -C $(FUZZ_DIR)
	fuzz/run $(FUZZ_DIR) $(FUZZ_SECONDS)

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
	rm -rf $(BUILD_DIR) $(SANITIZE_DIR) $(TSAN_DIR) $(FUZZ_DIR)
