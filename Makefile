# Two commands on a fresh machine: `make run` and `make test`. Nothing else needs installing by hand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit integration schemas docs bench bench-scale bench-split bench-micro clean install

# The per-event modules listed in tools/native_modules.txt, compiled with mypyc (tools/build_native.py); rebuilt
# when they change, and skipped (plain Python) where there is no C compiler.
NATIVE_SRC := $(shell cat tools/native_modules.txt)
NATIVE     := build/native/.built

install: $(STAMP) $(NATIVE)

$(NATIVE): $(STAMP) $(NATIVE_SRC) tools/build_native.py tools/native_modules.txt
	$(BIN)/python tools/build_native.py
	@mkdir -p build/native && touch $@

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@if [ -d plugins ]; then for p in plugins/*/; do $(BIN)/pip install --quiet -e "$$p"; done; fi
	@touch $(STAMP)

## make run: the embedded default (Tansu broker + Redis + worker); Ctrl-C stops it all.
run: $(STAMP) $(NATIVE)
	$(BIN)/orchestrator dev

## make test: lint, types, architecture, then the whole test suite against real servers.
test: lint typecheck $(NATIVE)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check orchestrator tests
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(NATIVE)
	$(BIN)/pytest -q tests/unit tests/contract

schemas: $(STAMP)
	$(BIN)/orchestrator schemas --write

## make bench: the orchestrator against a raw-aiokafka ceiling and a naive Faust agent, same broker, Redis and
## load (20,000 ORDER::HD orders); results in bench/results/ and a row of bench/results.csv. BENCH_ARGS=--quick
bench: $(STAMP) $(NATIVE)
	$(BIN)/python -m bench $(BENCH_ARGS)

## make bench-scale: worker RSS and Redis bytes per order over 10k..100k orders (--max-orders 1000000: full)
bench-scale: $(STAMP) $(NATIVE)
	$(BIN)/python -m bench --mode scale $(BENCH_ARGS)

## make bench-split: 2 workers against 1 on the same partitions
bench-split: $(STAMP) $(NATIVE)
	$(BIN)/python -m bench --mode split $(BENCH_ARGS)

## make bench-micro: pytest-benchmark micro-benchmarks (conditions, engine) with their time budgets
bench-micro: $(STAMP) $(NATIVE)
	$(BIN)/pytest -q tests/bench --benchmark-only -o addopts=""

## make docs: regenerate the rule reference page from the rules' code
docs: $(STAMP)
	$(BIN)/orchestrator rules --write docs/rules.md

clean:
	find orchestrator -name "*.so" -delete
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
