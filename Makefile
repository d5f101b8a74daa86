# Two commands matter: `make run` (the demo service) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install dev lint typecheck fuzz screenshots bench-sweep bench-refresh bench-calls bench-push-quotas \
	bench-loop-lag bench-backlog bench-ingest bench-soak bench-storm bench-lookup mock-carriers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.installed $(VENV)/.dev-installed

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

run: install
	$(BIN)/firstscan run --host $(HOST) --port $(PORT)

test: dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check app carriers mock_carriers tests bench migrations .ci
	$(BIN)/ruff format --check app carriers mock_carriers tests bench migrations .ci
	$(BIN)/lint-imports

typecheck: dev
	$(BIN)/mypy

# The deep schemathesis run: many more examples, stateful journeys along the document's links,
# both backends when FIRSTSCAN_TEST_DATABASE_URL is set. FIRSTSCAN_FUZZ_SEED=<seed> replays a run.
FUZZ_EXAMPLES ?= 500
fuzz: dev
	FIRSTSCAN_FUZZ_DEEP=1 FIRSTSCAN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/python -m pytest tests/e2e/test_api_fuzz.py -p no:cacheprovider $(PYTEST_ARGS)

# The README's page screenshots: the browser tests save them, this copies them into docs/.
screenshots: dev
	rm -rf test-artifacts/screenshots
	FIRSTSCAN_TEST_DATABASE_URL= $(BIN)/python -m pytest tests/browser -q
	mkdir -p docs/screenshots
	cp test-artifacts/screenshots/*.png docs/screenshots/

# Benchmarks (bench/, figures in BENCHMARKS.md). PostgreSQL from FIRSTSCAN_BENCH_DATABASE_URL,
# default postgresql://postgres@127.0.0.1:5432; each makes and drops its own databases.
bench-sweep: $(VENV)/.bench-installed
	$(BIN)/python -m bench.sweep $(BENCH_ARGS)

bench-storm: $(VENV)/.bench-installed
	$(BIN)/python -m bench.storm $(BENCH_ARGS)

bench-refresh: $(VENV)/.bench-installed
	$(BIN)/python -m bench.refresh $(BENCH_ARGS)

bench-calls: $(VENV)/.bench-installed
	$(BIN)/python -m bench.calls $(BENCH_ARGS)

bench-push-quotas: $(VENV)/.bench-installed
	$(BIN)/python -m bench.calls --quotas --labels 800 --days 10 $(BENCH_ARGS)

bench-loop-lag: $(VENV)/.bench-installed
	$(BIN)/python -m bench.loop_lag $(BENCH_ARGS)

bench-backlog: $(VENV)/.bench-installed
	$(BIN)/python -m bench.backlog $(BENCH_ARGS)

bench-ingest: $(VENV)/.bench-installed
	$(BIN)/python -m bench.ingest $(BENCH_ARGS)

# The lookup and the customer status endpoint beside a bare FastAPI + asyncpg endpoint, under wrk.
bench-lookup: $(VENV)/.bench-installed
	@command -v wrk >/dev/null || { echo "bench-lookup needs wrk: sudo apt-get install -y wrk"; exit 1; }
	$(BIN)/python -m bench.lookup $(BENCH_ARGS)

# The four carriers' APIs on loopback (mock_carriers/, not installed): point a live-mode
# FIRSTSCAN_<CARRIER>_BASE_URL at http://127.0.0.1:8765/<carrier>. MOCK_ARGS="--help" lists faults.
mock-carriers: dev
	$(BIN)/python -m mock_carriers $(MOCK_ARGS)

# 30 minutes of mixed traffic against real API and worker processes with faults injected;
# shorter with BENCH_ARGS="--minutes 3".
bench-soak: $(VENV)/.bench-installed
	$(BIN)/python -m bench.soak $(BENCH_ARGS)

clean:
	rm -rf $(VENV) firstscan.db firstscan.db-wal firstscan.db-shm firstscan.db.worker.lock \
		.pytest_cache .mypy_cache .ruff_cache
