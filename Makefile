# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n 2 -m "not slow"

.PHONY: install lint test test-all demo bench clean

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test,beam,dask,transfer,onnx,lightkurve]"
	touch $(STAMP)

install: $(STAMP)

# Lint (ruff.toml), then the fast suite in parallel on 2 cores.
lint: $(STAMP)
	$(PY) -m ruff check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS) tests

# Everything, slow tests included.
test-all: $(STAMP)
	$(PY) -m pytest -n 2 tests

# The main job end to end on the bundled real data: light curves -> views and
# records, ensemble training on real Triage records, evaluation, batch
# prediction, misclassified TCEs and the ROC figure (a few minutes on CPU).
demo: $(STAMP)
	$(PY) -m astronet.demo --output_dir=demo_output

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache
