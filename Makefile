# Makefile: thin wrapper around CMake for the two commands in the README.
#   make run   deps, release build, ingest the example knowledge base, serve it
#   make chat  the same knowledge base in a terminal chat
#   make test  deps, ASan/UBSan build, the whole ctest suite, then every fuzz target
#              for FUZZ_SECONDS (20) in a clang build (make fuzz alone: just those)
#   make install  the release build into PREFIX (/usr/local; DESTDIR honoured): binary,
#              man page, systemd unit, example knowledge base
JOBS      ?= $(shell nproc)
BUILD     ?= build
TESTBUILD ?= build-asan
FUZZBUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
EXAMPLE   ?= examples/packaging-supplier
DATA      ?= var
PREFIX    ?= /usr/local

.PHONY: all deps deps-test build build-test build-fuzz fuzz run chat test bench clean format install

all: build

# Runtime and build packages only; the test suite's services and tools
# (PostgreSQL, Redis, nginx, cmocka, clang, wrk, node...) come with deps-test.
deps:
	./scripts/deps.sh

deps-test:
	./scripts/deps.sh --test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-test: deps-test
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DFD_TESTING=ON \
	      -DFD_SANITIZE=address,undefined >/dev/null
	cmake --build $(TESTBUILD) -j $(JOBS)

install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	cmake --install $(BUILD)

run: build
	$(BUILD)/frontdesk --data $(DATA) ingest $(EXAMPLE)
	@echo "chat page: http://127.0.0.1:8080/   operator console: http://127.0.0.1:8080/console"
	FRONTDESK_SERVER_WIDGET_MODE=true $(BUILD)/frontdesk --data $(DATA) serve

chat: build
	$(BUILD)/frontdesk --data $(DATA) ingest $(EXAMPLE)
	$(BUILD)/frontdesk --data $(DATA) chat

test: build-test
	cd $(TESTBUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)
	FUZZ_SEED=1 $(MAKE) fuzz

# libFuzzer targets (clang, ASan+UBSan) for every parser of outside bytes,
# FUZZ_SECONDS each (make fuzz FUZZ_SECONDS=3600 for a long run).
build-fuzz: deps-test
	cmake -S . -B $(FUZZBUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DFD_FUZZ=ON >/dev/null
	cmake --build $(FUZZBUILD) -j $(JOBS) --target fuzz_targets

fuzz: build-fuzz
	./scripts/fuzz.sh $(FUZZBUILD) $(FUZZ_SECONDS) $(JOBS)

bench: deps-test build
	./bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TESTBUILD) $(FUZZBUILD)
