# maintctl: `make demo` and `make test` install everything they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install system test test-unit test-lab demo bench lab-up lab-down lint typecheck clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

system:
	bash scripts/install-system.sh

install: system $(STAMP)

lint: install
	$(BIN)/ruff check runner tests bench
	$(BIN)/mypy

typecheck: install
	$(BIN)/mypy

test: install lint
	$(BIN)/python -m pytest -q --durations=15

test-unit: install
	$(BIN)/python -m pytest -q -m "not lab"

test-lab: install
	$(BIN)/python -m pytest -q -m lab

lab-up: install
	bash tests/lab/lab.sh up

lab-down:
	bash tests/lab/lab.sh down

demo: install
	bash scripts/demo.sh

bench: install
	bash bench/run.sh

clean: lab-down
	rm -rf $(VENV) .maintctl .pytest_cache .mypy_cache
