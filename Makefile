# CareLine: `make run` starts a demo hospital on SQLite, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install install-dev run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# WeasyPrint (reports to PDF) draws text with the system's Pango; Debian's chromium already
# pulls it in, so this installs it only where it is missing.
PANGO := libpango-1.0-0 libpangoft2-1.0-0
define system_libs
	dpkg -s $(PANGO) >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PANGO))
endef

$(STAMP): pyproject.toml | $(BIN)/python
	$(system_libs)
	$(BIN)/pip install --quiet -e '.[semantic]'
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(system_libs)
	$(BIN)/pip install --quiet -e '.[dev,semantic]'
	touch $(STAMP) $@

install: $(STAMP)

install-dev: $(DEV_STAMP)

run: install
	$(BIN)/careline run --demo

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py check --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run

test: install-dev
	bash scripts/test-all

bench: install-dev
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	bash scripts/bench-all

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache bench/results
