# Entry points of the compendium. Every tool is called from .venv/bin, so nothing needs to be
# activated; `make venv` (a prerequisite of the other targets) creates and updates that venv.
#
#   make book [PROFILE=paper]   run the notebooks with papermill, then build the HTML book
#   make test                   unit tests + nbval over the committed notebooks
#   make notebooks              refresh the committed notebooks' outputs (quick profile)
#   make lint | make bench | make clean

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Marks the last successful install; reinstalling when pyproject.toml is newer picks up
# changed dependencies without reinstalling on every call.
STAMP := $(VENV)/.installed
PROFILE ?= quick
PYTEST_ARGS ?=
BENCHMARKS := $(sort $(filter-out benchmarks/_%,$(wildcard benchmarks/*.py)))
LINT_PATHS := $(wildcard src tests benchmarks)

.PHONY: help venv book test notebooks lint bench clean

help:
	@sed -n '1,7p' Makefile | sed 's/^# \{0,1\}//'

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

book: venv
	$(BIN)/dbdlab run --profile $(PROFILE)
	rm -rf book/_build
	$(BIN)/jupyter-book build -W -n --keep-going book/

# pytest exits 5 when it collected nothing; that is a broken setup, not a success.
test: venv
	status=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$status

notebooks: venv
	$(BIN)/dbdlab run --profile quick --inplace

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)

bench: venv
	@if [ -z "$(BENCHMARKS)" ]; then echo "make bench: no scripts in benchmarks/" >&2; exit 1; fi
	@for script in $(BENCHMARKS); do echo "== $$script"; $(BIN)/python "$$script"; done

# also the hidden temporary files (.NAME.PID.RANDOM.tmp) that killed runs leave behind
clean:
	rm -rf book/_build book/notebooks
	find data notebooks -name '.*.tmp' -type f -delete 2>/dev/null || true
