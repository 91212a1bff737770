# What a person types: make run, make test, make build. See README.md.
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DKOPILKA_WERROR=ON
endif
PYTHON ?= /usr/bin/python3
PYTEST_ARGS ?=

.PHONY: all build deps deps-test run test unit api asan stress clean format

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j2
	@scripts/docs.sh $(BUILD)/docs

run: build
	scripts/run.sh

unit: build
	cd $(BUILD) && ctest --output-on-failure

api: build
	KOPILKAD=$(abspath $(BUILD)/kopilkad) $(PYTHON) -m pytest -q tests/api $(PYTEST_ARGS)

test: deps-test build
	scripts/openapi-lint.sh api/openapi.json
	cd $(BUILD) && ctest --output-on-failure
	KOPILKAD=$(abspath $(BUILD)/kopilkad) $(PYTHON) -m pytest -q tests/api $(PYTEST_ARGS)

# The same suites against an AddressSanitizer + UndefinedBehaviorSanitizer build.
asan: deps-test
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKOPILKA_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j2
	@scripts/docs.sh $(ASAN_BUILD)/docs
	cd $(ASAN_BUILD) && ctest --output-on-failure
	KOPILKAD=$(abspath $(ASAN_BUILD)/kopilkad) ASAN_OPTIONS=detect_leaks=1 $(PYTHON) -m pytest -q tests/api $(PYTEST_ARGS)

# The reliability suite at the full counts of issue 4 (docs/RELIABILITY.md): 50+ crash cycles,
# the whole retry storm, longer races. make test runs the same tests at a smaller scale.
stress: deps-test build
	KOPILKA_STRESS=1 KOPILKAD=$(abspath $(BUILD)/kopilkad) $(PYTHON) -m pytest -q tests/api/test_rel_*.py $(PYTEST_ARGS)

format:
	clang-format -i src/*.c src/*/*.c src/*/*.h tests/unit/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# Benchmarks (bench/run.py; results and how to read them: docs/PERFORMANCE.md).
# bench: 1M clients, every workload at 1/16/64 connections; bench-quick: 100k clients, 16
# connections, under 3 minutes once built.
.PHONY: bench bench-quick
bench: deps
	$(PYTHON) bench/run.py

bench-quick: deps
	$(PYTHON) bench/run.py --quick
