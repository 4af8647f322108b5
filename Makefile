# The two commands a newcomer needs: `make run` and `make test`. Everything else is a detail.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)
PYTHON ?= python3

.PHONY: run test lint typecheck jscheck unit bench lock clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## Start the provider on an embedded SQLite database with a demo user and demo clients.
run: $(STAMP)
	$(BIN)/passportoffice demo

## Everything CI runs: lint, strict type checks (Python and the browser SDK), all tests.
test: lint typecheck jscheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

JS_STAMP := js/node_modules/.installed-$(shell cat js/package-lock.json | sha256sum | cut -c1-12)

$(JS_STAMP):
	cd js && npm ci --no-audit --no-fund --silent
	rm -f js/node_modules/.installed-* && touch $(JS_STAMP)

## The browser SDK and the demo SPA: `tsc --checkJs` over their JSDoc types, and js/types/ (the
## declarations the npm package ships) must be what tsc generates from the sources.
jscheck: $(JS_STAMP)
	cd js && node_modules/.bin/tsc -p tsconfig.json
	generated=$$(mktemp -d) && (cd js && node_modules/.bin/tsc -p tsconfig.types.json --outDir $$generated) \
		&& diff -r $$generated js/types && rm -rf $$generated

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
