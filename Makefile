# The two commands of the README: `make run` and `make test`.
JOBS ?= $(shell nproc)
BUILD ?= build/release
ASAN_BUILD ?= build/asan
HOST ?= 127.0.0.1
PORT ?= 1978
DB ?= :

.PHONY: all deps build run test test-asan bench bench-engines crashtest format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target ktserver
	$(BUILD)/ktserver -host $(HOST) -port $(PORT) '$(DB)'

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRYOAN_SANITIZE=ON

test-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	bench/run.sh $(BUILD)

# In-process engine benchmark beside Kyoto Cabinet, and the engines behind ktserver:
# bench/ENGINES.md.
bench-engines: deps $(BUILD)/build.ninja
	bench/engines.sh $(BUILD)

# SIGKILL crash test (tests/crash): 1,000 kill/reopen/check cycles per file engine.
CRASH_SEED ?= $(shell date +%s)
CRASH_CYCLES ?= 1000
crashtest: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target crash_harness
	$(BUILD)/crash_harness check .kch $(CRASH_SEED) $(CRASH_CYCLES) kch
	$(BUILD)/crash_harness check .kct $(CRASH_SEED) $(CRASH_CYCLES) kct
	$(BUILD)/crash_harness faults .kch $(CRASH_SEED) 400
	$(BUILD)/crash_harness faults .kct $(CRASH_SEED) 400

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf build
