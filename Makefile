# One command each, from a fresh clone on a machine with only Python 3.10+:
#   make demo    runs the demo study on a local Dask cluster
#   make test    runs the whole test suite
# Both build .venv first (torch's CPU build is installed before the package so that pip
# does not pull a multi-GB CUDA build).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0

.PHONY: venv demo test lint bench notebooks lab docs docs-build binder-check dist dist-check clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)" || \
	  $(PY) -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
	$(PY) -m pip install --quiet -e ".[test,demo]"
	@# Compile BoTorch's fused log-EHVI kernel once (about a minute), not in the first study.
	@# Not BoTorch's own loader: it waits forever on a build lock left by a killed compile.
	$(VENV)/bin/hpo-notebook build-kernel
	touch $@

demo: venv
	$(VENV)/bin/hpo-notebook demo

test: venv
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check hpo_notebook tests benchmarks notebooks docs
	$(VENV)/bin/ruff format --check hpo_notebook tests benchmarks notebooks docs

bench: venv
	$(PY) -m pip install --quiet -e ".[bench]"
	# Syne Tune's MOASHA (a peer in benchmarks/pruning.py) needs none of the xgboost and
	# statsmodels the package declares
	$(PY) -m pip install --quiet --no-deps "syne-tune==0.16.0" dill sortedcontainers
	$(PY) -m benchmarks.sample_efficiency
	$(PY) -m benchmarks.suggest_latency
	$(PY) -m benchmarks.dispatch
	$(PY) -m benchmarks.scale

# every demo notebook, full budgets; executed copies (with outputs) in build/notebooks/
notebooks: venv
	$(PY) notebooks/execute.py

# JupyterLab on the demo notebooks (jupyterlab comes with the test extra)
lab: venv
	$(VENV)/bin/jupyter lab notebooks/

$(VENV)/.docs: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $@

# the documentation site, built with warnings as errors into site/
docs-build: $(VENV)/.docs
	$(VENV)/bin/mkdocs build --strict

# build, then serve at http://127.0.0.1:8000 with live reload
docs: docs-build
	$(VENV)/bin/mkdocs serve

# a fresh environment from binder/ alone runs the quickstart notebook
binder-check:
	bash binder/check.sh

# the wheel and the sdist in dist/, their metadata checked by twine
dist: venv
	$(PY) -m pip install --quiet build twine
	rm -rf dist && $(PY) -m build --outdir dist . >/dev/null
	$(PY) -m twine check --strict dist/*

# dist, then the wheel installed into a fresh environment runs a short demo study
dist-check: dist
	bash .ci/dist_check.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist site *.egg-info
