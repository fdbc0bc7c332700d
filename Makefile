# `make run` sets up and serves Accord; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Two test processes: the machines this runs on have two cores.
PYTEST_ARGS ?= -n 2

.PHONY: run test lint setup

run: $(VENV)/.deps-run
	@$(BIN)/accord migrate --noinput -v0
	@$(BIN)/accord collectstatic --noinput -v0
	@$(BIN)/accord reindex --missing --verbosity 0
	@$(BIN)/accord loaddemo --once --verbosity 0
	@$(BIN)/accord serve --port $(PORT)

setup: $(VENV)/.deps-run

test: $(VENV)/.deps-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.deps-dev
	$(BIN)/ruff check accord bench conftest.py

# A half-made .venv would pass for a finished one next time, so it goes.
$(VENV)/bin/python:
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV): on Debian or Ubuntu, apt-get install python3-venv" >&2; \
		exit 1; }
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.deps-run: requirements.txt pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.deps-dev: requirements-dev.txt $(VENV)/.deps-run
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@
