# Setup in two commands: `make demo` and `make test` each build .venv from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test bench clean

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.demo: $(VENV)/.base
	$(PIP) install -q -e ".[demo]"
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PIP) install -q -e ".[test,demo]"
	touch $@

demo: $(VENV)/.demo
	$(PY) examples/demo.py

test: $(VENV)/.test
	$(PY) -m pytest

bench: $(VENV)/.test
	$(PIP) install -q -e ".[bench]"
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
