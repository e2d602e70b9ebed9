# The two commands a newcomer needs: `make run` and `make test` (the fast suite);
# `make test-all` adds the browser, server and load tests and is what CI runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-all lint typecheck unit unit-all bench demo clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(STAMP)

# PYTHONMALLOC=malloc MALLOC_ARENA_MAX=2: the memory of ended sessions goes back (README).
run: $(STAMP)
	PYTHONMALLOC=malloc MALLOC_ARENA_MAX=2 $(PY) -m streamlit run app.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -m "not browser"

unit-all: $(STAMP)
	$(PY) -m pytest

test: lint typecheck unit

test-all: lint typecheck unit-all

bench: $(STAMP)
	$(PY) benchmarks/bench_core.py

demo: $(STAMP)
	$(PY) -m blinastudy.data.demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
