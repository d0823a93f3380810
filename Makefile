# Every target creates .venv on first use, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
# The demo needs only the package and matplotlib (the `examples` extra), not
# the test extra's Dask, pandas, ruff, ...: a first `make demo` stays small.
DEMO_STAMP := $(VENV)/.installed-examples
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: demo test lint format bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

$(DEMO_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[examples]"
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check skgraph tests examples benchmarks
	$(BIN)/ruff format --check skgraph tests examples benchmarks

format: $(STAMP)
	$(BIN)/ruff format skgraph tests examples benchmarks
	$(BIN)/ruff check --fix skgraph tests examples benchmarks

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --doctest-modules skgraph tests

$(DOCS_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

# The site, from scratch, warnings as errors; runs every examples/plot_*.py.
# Graphs are drawn with matplotlib (installed by the docs extra): no Graphviz.
docs: $(DOCS_STAMP)
	rm -rf docs/_build docs/api/generated docs/auto_examples
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html
	@echo "Built docs/_build/html/index.html"

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_logistic.py
	$(BIN)/python benchmarks/bench_mlp.py
	$(BIN)/python benchmarks/bench_dask.py
	$(BIN)/python benchmarks/bench_deploy.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	rm -rf docs/_build docs/api/generated docs/auto_examples
