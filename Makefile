# Assembly — two commands: `make run` and `make test`. Everything installs into .venv/ by itself.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
PYTEST := $(BIN)/python -m pytest
# axe-core for the accessibility audit of the browser tests: pinned, from the npm registry, git-ignored.
AXE_VERSION := 4.14.1
AXE := .npm/node_modules/axe-core/axe.min.js
# CI runs a bounded slice of the slow suites (browser, load, fuzz); locally everything runs.
export HYPOTHESIS_PROFILE ?= $(if $(filter true,$(CI)),ci,dev)

.PHONY: help install install-test run lint test test-sqlite test-postgresql test-browser test-a11y browser bench fuzz i18n clean

help:
	@echo "make run    — install into .venv, migrate, load the demo estate if empty, serve"
	@echo "make test   — install test tools, lint, run the whole suite on SQLite and PostgreSQL, and the browser tests"
	@echo "make lint   — ruff, the import contracts (docs/architecture.md), mypy (law, audit, voting, events)"
	@echo "make bench  — run the benchmarks (bench/README.md keeps the latest figures)"
	@echo "make fuzz   — schemathesis against the API's OpenAPI description as each role, many examples"
	@echo "make i18n   — extract the strings, update the catalogs in assembly/locale (then translate English: docs/i18n.md)"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements/runtime.txt pyproject.toml
	$(BIN)/python -m pip install --quiet -r requirements/runtime.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/dev.txt
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/assembly serve --demo-if-empty

# Debian's Chromium for the browser tests (never a browser download); installed when root and missing.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null; \
		else echo "chromium is missing and we are not root: browser tests will be skipped"; fi; \
	fi
	@if ! head -c 40 $(AXE) 2>/dev/null | grep -q "axe v$(AXE_VERSION)"; then \
		if command -v npm >/dev/null; then \
			echo "installing axe-core $(AXE_VERSION) into .npm/ for the accessibility audit"; \
			mkdir -p .npm && npm install --prefix .npm --no-save --no-package-lock --no-audit --no-fund --silent axe-core@$(AXE_VERSION); \
		else echo "npm is missing: the accessibility audit will be skipped"; fi; \
	fi

# ruff, the layers' import contracts (import-linter; docs/architecture.md), mypy ([tool.mypy] files). `make test` runs it first.
lint: install-test
	$(BIN)/ruff check assembly tests bench scripts alembic
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python scripts/check_imports.py

test: install-test browser
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-sqlite
	@if $(BIN)/python scripts/pg_ready.py "$(PG_URL)"; then \
		$(MAKE) --no-print-directory test-postgresql; \
	elif [ "$$CI" = true ]; then echo "PostgreSQL does not answer at $(PG_URL): required in CI"; exit 1; \
	else echo "SKIPPED: PostgreSQL does not answer at $(PG_URL); the PostgreSQL run did not happen"; fi
	$(MAKE) --no-print-directory test-browser

test-sqlite: install-test
	$(PYTEST) -q -m "not browser" --db sqlite

test-postgresql: install-test
	ASSEMBLY_TEST_PG_URL="$(PG_URL)" $(PYTEST) -q -m "not browser" --db postgresql

# The whole browser suite on SQLite, and the assembly's whole loop (issue #5) on PostgreSQL too.
test-browser: install-test
	$(PYTEST) -q -m browser --db sqlite
	@if $(BIN)/python scripts/pg_ready.py "$(PG_URL)"; then \
		ASSEMBLY_TEST_PG_URL="$(PG_URL)" $(PYTEST) -q -m browser --db postgresql tests/e2e/test_assembly_loop.py; \
	elif [ "$$CI" = true ]; then echo "PostgreSQL does not answer at $(PG_URL): required in CI"; exit 1; \
	else echo "SKIPPED: PostgreSQL does not answer at $(PG_URL); the loop's browser run on PostgreSQL did not happen"; fi

test-a11y: install-test browser
	$(PYTEST) -q -m browser --db sqlite tests/e2e/test_a11y.py

bench: install-test
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Ballots over HTTP against a real uvicorn, SQLite and PostgreSQL, 50 and 200 clients (~4 min; also part of `make bench`).
bench-http: install-test
	$(BIN)/python bench/bench_http_ballots.py

# The API against its OpenAPI description as each role (tests/auth/test_api_conformance.py): CI runs
# 5 derandomised examples per operation and role; this runs FUZZ_EXAMPLES (~15 min at 100 on 2 cores).
FUZZ_EXAMPLES ?= 100
fuzz: install-test
	ASSEMBLY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTEST) -q -m "not browser" --db sqlite tests/auth/test_api_conformance.py

# Message catalogs: extract from templates and marked Python strings, update zh_CN (identity) and en.
# The .po files are read at run time (no .mo to compile), so `install` needs nothing from here.
i18n: install
	$(BIN)/python scripts/i18n.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .npm
