# Entry points of the compendium. Every tool is called from .venv/bin, so nothing needs to be
# activated; `make venv` (a prerequisite of the other targets) creates and updates that venv.
#
#   make book                   the published book: every notebook at the paper profile, then HTML
#   make book PROFILE=quick     the fast preview (what CI builds)
#   make test                   unit tests + nbval over the committed notebooks
#   make notebooks              refresh the committed notebooks' outputs (quick profile)
#   make lint | make bench | make mathjax | make clean
#   make gpu-check              on a GPU machine: gpu extra, gpu-marked tests, GPU benchmarks

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Marks the last successful install; reinstalling when pyproject.toml is newer picks up
# changed dependencies without reinstalling on every call.
STAMP := $(VENV)/.installed
PROFILE ?= paper
# The book's MathJax, served from the book itself so that formulas render offline.
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256 := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_DIR := book/_assets/mathjax
PYTEST_ARGS ?=
BENCHMARKS := $(sort $(filter-out benchmarks/_%,$(wildcard benchmarks/*.py)))
LINT_PATHS := $(wildcard src tests benchmarks)

.PHONY: help venv book mathjax test notebooks lint bench gpu-check clean

help:
	@sed -n '1,9p' Makefile | sed 's/^# \{0,1\}//'

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

book: venv mathjax
	$(BIN)/dbdlab run --profile $(PROFILE)
	rm -rf book/_build
	$(BIN)/jupyter-book build -W -n --keep-going book/

# The npm package's es5/ bundle (tex-svg.js and the extensions it loads on demand), without the
# speech-rule engine; fetched by npm (by package name) once and checked against its SHA-256.
mathjax: $(MATHJAX_DIR)/tex-svg.js

$(MATHJAX_DIR)/tex-svg.js:
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	npm pack --silent --pack-destination "$$tmp" mathjax@$(MATHJAX_VERSION) >/dev/null; \
	echo "$(MATHJAX_SHA256)  $$tmp/mathjax-$(MATHJAX_VERSION).tgz" | sha256sum -c --quiet; \
	tar -xzf "$$tmp/mathjax-$(MATHJAX_VERSION).tgz" -C "$$tmp"; \
	rm -rf $(MATHJAX_DIR) "$$tmp/package/es5/sre"; mkdir -p $(MATHJAX_DIR); \
	cp -R "$$tmp/package/es5/." $(MATHJAX_DIR)/

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

# One command for a machine with a CUDA device (≤ 8 min): install the gpu extra unless CuPy is
# already there, run every gpu-marked test and benchmarks/gpu.py, write GPU_JSON (the book's
# performance chapter shows it).  Fails if a test fails or no GPU is usable.
GPU_JSON ?= benchmarks/results/gpu-check.json
gpu-check: venv
	$(BIN)/python -c 'import cupy' 2>/dev/null || \
		$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev,gpu]'
	timeout 480 $(BIN)/python benchmarks/gpu.py --check --json $(GPU_JSON)

# also the hidden temporary files (.NAME.PID.RANDOM.tmp) that killed runs leave behind
clean:
	rm -rf book/_build book/notebooks $(MATHJAX_DIR)
	find data notebooks -name '.*.tmp' -type f -delete 2>/dev/null || true
