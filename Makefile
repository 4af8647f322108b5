# The two commands a newcomer needs: `make run` and `make test`. Everything else is a detail.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)
PYTHON ?= python3
PEER := benchmarks/peer/node_modules/.package-lock.json

.PHONY: run test lint typecheck unit bench bench-growth bench-memory lock clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## Start the provider on an embedded SQLite database with a demo user and demo clients.
run: $(STAMP)
	$(BIN)/passportoffice demo

## Everything CI runs: lint, strict type checks, all tests.
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

## Benchmarks: ours beside the peer (oidc-provider) and the floors, measured in the same run.
bench: $(STAMP) $(PEER)
	$(BIN)/python -m benchmarks.run

## Refresh grant latency with 10 thousand, 1 million and 10 million stored refresh tokens (PostgreSQL).
bench-growth: $(STAMP)
	$(BIN)/python -m benchmarks.growth

## RSS of an idle provider, and over 1 million served requests.
bench-memory: $(STAMP)
	$(BIN)/python -m benchmarks.memory

# The peer's npm packages, from its lock file (npm ci leaves a copy of the lock in node_modules).
$(PEER): benchmarks/peer/package-lock.json
	cd benchmarks/peer && npm ci --no-audit --no-fund --silent

## Re-pin the dependencies after changing pyproject.toml.
lock:
	$(BIN)/pip install -q uv && $(BIN)/uv pip compile pyproject.toml --extra demo --extra dev --generate-hashes \
		--python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .passportoffice
