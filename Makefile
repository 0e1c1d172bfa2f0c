# Two entry points for a new user: `make demo` and `make test`.
# Both create the virtual environment on first use (VENV can point elsewhere, e.g. a cache in CI).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fusionblocks-installed
export HF_HUB_OFFLINE ?= 1
export FUSIONBLOCKS_DISABLE_PLUGINS ?=
export NO_MKDOCS_2_WARNING ?= 1

.PHONY: install demo test lint docs bench clean

$(STAMP): pyproject.toml requirements-pins.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-pins.txt
	$(PY) -m pip install -q -c requirements-pins.txt -e ".[dev,docs]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m fusionblocks.demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests

lint: $(STAMP)
	$(VENV)/bin/ruff check fusionblocks
	$(VENV)/bin/mypy

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

bench: $(STAMP)
	$(PY) benchmarks/run.py --quick

clean:
	rm -rf $(VENV) site .pytest_cache
