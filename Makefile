# The two commands a newcomer needs: `make run` and `make test`. Everything else is a detail.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)
PYTHON ?= python3

.PHONY: run test lint typecheck unit bench lock clean

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
	$(BIN)/ruff check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

## Benchmarks (figures as ratios to their floors, measured in the same run).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

## Re-pin the dependencies after changing pyproject.toml.
lock:
	$(BIN)/pip install -q uv && $(BIN)/uv pip compile pyproject.toml --extra demo --extra dev --generate-hashes \
		--python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .passportoffice
