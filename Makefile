# The front door. On a fresh Debian 12 machine:
#   make run    installs what is missing, builds, and trains the example model
#   make test   installs what is missing, builds, and runs every test: the suite, the suite
#               again under AddressSanitizer + UndefinedBehaviorSanitizer, and every fuzzer briefly
#   make test-quick   the suite alone, in the normal build (for iterating)
#
# Variables: BUILD_DIR (default build), CMAKE_ARGS (extra cmake options, e.g.
# CMAKE_ARGS=-DCAJAL_NATIVE=OFF for a portable build), TEST_JOBS (parallel tests, default 2).

BUILD_DIR ?= build
CMAKE_ARGS ?=
TEST_JOBS ?= 2

# Build the benchmarks only once bench/CMakeLists.txt defines some.
BENCH := $(if $(shell grep -s add_executable bench/CMakeLists.txt),ON,OFF)

# Sanitizer and fuzz builds live in their own folders.
TSAN_DIR ?= build-tsan
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all setup build test test-quick test-asan run bench clean sanitize-build test-sanitize test-tsan fuzz

all: build

setup:
	scripts/setup

build: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCAJAL_BUILD_BENCH=$(BENCH) $(CMAKE_ARGS)
	ninja -C $(BUILD_DIR)

test: test-quick test-asan

test-quick: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error -j$(TEST_JOBS)

# One clang build with AddressSanitizer and UndefinedBehaviorSanitizer (a report stops the
# program, leaks included) and libFuzzer's coverage: `make test-asan` (part of `make test`)
# runs the whole suite in it and every fuzzer for FUZZ_SMOKE_SECONDS; `make fuzz` runs the
# fuzzers for FUZZ_SECONDS each (fuzz/run prints executions, coverage edges and corpus size).
# -O1 keeps the build and the instrumented runs quick. `make test-tsan` builds the data
# loader's and the trainer's threaded tests with ThreadSanitizer in a second folder and runs
# them; `make test-sanitize` is both. The smoke in `make test` starts from the seeds alone (not
# the corpus `make fuzz` grows here) with a fixed random seed, so it runs as it will in CI; it
# still can find something new on another machine (compared values the fuzzer learns can be
# addresses, timing differs): keep the input, fix it, add its regression test.
FUZZ_SMOKE_SECONDS ?= 30
SANITIZE_FLAGS = -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g" -DCAJAL_BUILD_BENCH=OFF

sanitize-build: setup
	cmake -S . -B $(FUZZ_DIR) $(SANITIZE_FLAGS) -DCMAKE_CXX_COMPILER=clang++ -DCAJAL_FUZZ=ON \
	  -DCAJAL_SANITIZE=address,undefined $(CMAKE_ARGS)
	ninja -C $(FUZZ_DIR)

test-asan: sanitize-build
	ctest --test-dir $(FUZZ_DIR) --output-on-failure --no-tests=error -j$(TEST_JOBS)
	rm -rf $(FUZZ_DIR)/smoke-corpus
	FUZZ_SEED=1 FUZZ_CORPUS=$(FUZZ_DIR)/smoke-corpus fuzz/run $(FUZZ_DIR) $(FUZZ_SMOKE_SECONDS)

test-sanitize: test-asan test-tsan

fuzz: sanitize-build
	fuzz/run $(FUZZ_DIR) $(FUZZ_SECONDS)

test-tsan: setup
	cmake -S . -B $(TSAN_DIR) $(SANITIZE_FLAGS) -DCAJAL_SANITIZE=thread $(CMAKE_ARGS)
	ninja -C $(TSAN_DIR) data_loader train_trainer
	OMP_NUM_THREADS=1 ctest --test-dir $(TSAN_DIR) --output-on-failure -R '^(data\.loader|train\.trainer)$$'

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
	rm -rf $(BUILD_DIR) $(TSAN_DIR) $(FUZZ_DIR)
