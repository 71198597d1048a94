# FaxSeal — two commands on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go

# cgo interop helpers (spandsp peer) are behind this build tag; `make test` turns them on.
TEST_TAGS ?= spandsp

# Tesseract's OpenMP threads thrash a small machine (8x slower on 2 cores): one thread per client,
# parallelism comes from our own worker pool. Must be set before the library loads.
export OMP_THREAD_LIMIT := 1

# The throwaway PostgreSQL cluster of `make test` (deleted afterwards). It lives under /tmp because,
# when we are root, it runs as the postgres user, who must be able to reach it (a clone under /root
# would not be). Set FAXSEAL_TEST_DATABASE_URL to use a server of your own instead.
TESTDB := /tmp/faxseal-testdb-$(shell id -u)-$(shell echo "$(CURDIR)" | cksum | cut -d' ' -f1)

.PHONY: deps build run test bench fuzz vet

deps:
	@./scripts/install-deps.sh

build: deps
	$(GO) build -o bin/faxseal ./cmd/faxseal

run: build
	./bin/faxseal serve --dev

test: deps
	$(GO) vet -tags $(TEST_TAGS) ./...
	@set -euo pipefail; \
	if [ -z "$${FAXSEAL_TEST_DATABASE_URL:-}" ]; then \
		trap '$(GO) run ./scripts/testdb stop "$(TESTDB)"' EXIT; \
		url="$$($(GO) run ./scripts/testdb start "$(TESTDB)")"; \
		export FAXSEAL_TEST_DATABASE_URL="$$url"; \
	fi; \
	$(GO) test -tags $(TEST_TAGS) -timeout 18m ./...

vet:
	$(GO) vet -tags $(TEST_TAGS) ./...

# The g3 codec against libtiff (cgo, Debian libtiff-dev) and x/image/ccitt on the CCITT set, one core;
# then g3's own benchmarks, which report allocations per page. Figures go to docs/benchmarks.md.
bench: deps
	GOMAXPROCS=1 $(GO) run -tags libtiff ./internal/libtiffbench
	GOMAXPROCS=1 $(GO) test -run '^$$' -bench . -benchmem ./g3
	./internal/libtiffbench/callgrind.sh
