# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3

.PHONY: run test install install-test system-deps lint typecheck bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test system-deps

system-deps:
	bash .ci/system-deps

run: install
	$(VENV)/bin/pressroom --config config.toml serve

test: install-test
	$(VENV)/bin/ruff check pipeline stages tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 2 --dist loadgroup -q -ra

bench: install-test
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pressroom .pytest_cache .mypy_cache .ruff_cache
