# The two commands of the quick start: `make run` and `make test`. Each makes its own virtual
# environment and installs what it needs; only Python 3.11+ and make must be on the machine.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
LUGX_DATA_DIR ?= data
PYTEST_ARGS ?=
export PORT LUGX_DATA_DIR

.PHONY: run test check lint typecheck pytest format bench clean help browser

help:
	@echo "make run    - set up and start the whole platform with demo data on http://127.0.0.1:$(PORT)"
	@echo "make test   - set up and run the whole test suite (lint, types, tests)"
	@echo "make bench  - run the benchmark and print its table"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Lugx needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/lugx up --port $(PORT)

test: $(VENV)/.dev-installed browser lint typecheck pytest

# The store front's browser tests drive Chromium (Debian's package; Playwright's own download is
# not used). Installed here when missing and this is root on a Debian-like system; otherwise
# those tests are skipped with a reason (in CI, where CI=true, they must run).
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests (apt-get)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
		|| (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null); \
	else echo "note: $(CHROMIUM) is missing; the browser tests will be skipped (install Debian's chromium)"; fi

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed
	$(BIN)/pytest -n auto --dist loadfile $(PYTEST_ARGS)

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

bench: $(VENV)/.run-installed
	$(BIN)/lugx bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
