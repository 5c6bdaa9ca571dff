# Makefile: thin wrapper around CMake for the two commands in the README.
#   make run   deps, release build, ingest the example knowledge base, serve it
#   make chat  the same knowledge base in a terminal chat
#   make test  deps, ASan/UBSan build, the whole ctest suite
JOBS      ?= $(shell nproc)
BUILD     ?= build
TESTBUILD ?= build-asan
EXAMPLE   ?= examples/packaging-supplier
DATA      ?= var

.PHONY: all deps build build-test run chat test bench clean format

all: build

deps:
	./scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-test: deps
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DFD_TESTING=ON \
	      -DFD_SANITIZE=address,undefined >/dev/null
	cmake --build $(TESTBUILD) -j $(JOBS)

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

bench: build
	./bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TESTBUILD)
