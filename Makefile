# What a person types: make run, make test, make build. See README.md.
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DKOPILKA_WERROR=ON
endif
PYTHON ?= /usr/bin/python3
PYTEST_ARGS ?=
# make fuzz: seconds per fuzz target (docs/RELIABILITY.md section 9); make test runs each for
# FUZZ_CI_SECONDS.
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 10
# The sanitizer builds stop at the first report (-fno-sanitize-recover=all); leaks are reported
# when a process exits. tests/api/conftest.py adds log_path and fails the test that caused one.
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all build deps deps-test run test unit api asan asan-build stress clean format fuzz \
	fuzz-coverage valgrind format-check deb deb-check browser screenshots install

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
	@scripts/postman.sh $(BUILD)/docs
	@scripts/lk.sh $(BUILD)/lk

run: build
	scripts/run.sh

# make install [PREFIX=DIR] [DESTDIR=STAGE]: kopilkad and libkopilka (the libraries, kopilka.h,
# kopilka.pc; docs/LIBKOPILKA.md) under PREFIX, /usr/local by default.
PREFIX ?=
install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

unit: build
	cd $(BUILD) && ctest --output-on-failure

api: build
	KOPILKAD=$(abspath $(BUILD)/kopilkad) $(PYTHON) -m pytest -q tests/api $(PYTEST_ARGS)

# $(call suites,DIR[,ENV]): the unit tests and the black-box suite against the build in DIR.
define suites
	cd $(1) && $(2) ctest --output-on-failure
	KOPILKAD=$(abspath $(1)/kopilkad) $(2) $(PYTHON) -m pytest -q tests/api $(PYTEST_ARGS)
endef

# What CI runs: the format check, the Debian package's check, both suites on the normal build and on the ASan + UBSan
# build, a valgrind session, and every fuzz target for FUZZ_CI_SECONDS.
test: deps-test format-check build asan-build
	scripts/openapi-lint.sh api/openapi.json
	$(MAKE) deb-check
	$(call suites,$(BUILD))
	KOPILKAD=$(abspath $(BUILD)/kopilkad) scripts/browser-test.sh
	$(call suites,$(ASAN_BUILD),$(SANITIZER_ENV))
	$(PYTHON) scripts/valgrind-session.py $(BUILD)/kopilkad
	scripts/fuzz.sh run $(FUZZ_CI_SECONDS)

# The same suites against an AddressSanitizer + UndefinedBehaviorSanitizer build.
asan-build: deps-test
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKOPILKA_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j2
	@scripts/docs.sh $(ASAN_BUILD)/docs
	@scripts/postman.sh $(ASAN_BUILD)/docs
	@scripts/lk.sh $(ASAN_BUILD)/lk

# The cabinet's end-to-end suite in Debian's chromium (tests/browser, docs/DEVELOPING.md);
# screenshots: the same suite writing a picture of each screen into docs/screenshots/.
browser: deps-test build
	KOPILKAD=$(abspath $(BUILD)/kopilkad) scripts/browser-test.sh

screenshots: deps-test build
	KOPILKA_SCREENSHOTS=$(abspath docs/screenshots) KOPILKA_BROWSER_ENGINES=sqlite \
		KOPILKAD=$(abspath $(BUILD)/kopilkad) scripts/browser-test.sh cabinet.test.mjs card.test.mjs invite.test.mjs

asan: asan-build
	$(call suites,$(ASAN_BUILD),$(SANITIZER_ENV))

# A short broad session under valgrind memcheck: 0 errors and 0 bytes definitely lost, or it
# fails (docs/RELIABILITY.md section 10).
valgrind: deps-test build
	$(PYTHON) scripts/valgrind-session.py $(BUILD)/kopilkad

# Every libFuzzer target of fuzz/ for FUZZ_SECONDS (default 60) each; fuzz-coverage reports the
# lines the corpora reach (docs/RELIABILITY.md section 9).
fuzz: deps-test
	scripts/fuzz.sh run $(FUZZ_SECONDS)

fuzz-coverage: deps-test
	scripts/fuzz.sh coverage

# The reliability suite at the full counts of issue 4 (docs/RELIABILITY.md): 50+ crash cycles,
# the whole retry storm, longer races. make test runs the same tests at a smaller scale.
stress: deps-test build
	KOPILKA_STRESS=1 KOPILKAD=$(abspath $(BUILD)/kopilkad) $(PYTHON) -m pytest -q tests/api/test_rel_*.py $(PYTEST_ARGS)

# The C sources held to .clang-format: make format rewrites them, make format-check (run first
# by make test) fails on any line clang-format would change. Tables laid out for reading (the
# SQL) sit between /* clang-format off */ and /* clang-format on */.
CLANG_FORMAT ?= clang-format-14
FORMAT_FILES = $(wildcard src/*.c src/*/*.c src/*/*.h lib/*.c lib/*.h tests/unit/*.c tests/lib/*.c fuzz/*.c fuzz/*.h bench/*.c cli/*.c cli/*.h)

format: deps-test
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check: deps-test
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES) && \
		echo "format-check: $(words $(FORMAT_FILES)) files as $(CLANG_FORMAT) writes them"

# The Debian package: build/kopilka_<version>-<revision>_<arch>.deb (scripts/deb.sh, files in
# deb/). deb-check installs it on this machine, runs it and purges it (scripts/deb-check.sh;
# as root: through sudo otherwise).
SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

deb:
	@scripts/deps.sh deb
	@scripts/deb.sh

deb-check: deps-test
	$(SUDO) scripts/deb-check.sh "$$(scripts/deb.sh)"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz build-fuzz-cov

# Benchmarks (bench/run.py; results and how to read them: docs/PERFORMANCE.md).
# bench: 1M clients, every workload at 1/16/64 connections; bench-quick: 100k clients, 16
# connections, under 3 minutes once built.
.PHONY: bench bench-quick
bench: deps deps-test build
	$(PYTHON) bench/run.py
	$(PYTHON) bench/import_timing.py --rows 100000

bench-quick: deps
	$(PYTHON) bench/run.py --quick
