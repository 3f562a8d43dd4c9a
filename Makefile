# Everything builds .venv from nothing on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bprop train configs/digits.yaml

test: $(STAMP)
	$(BIN)/ruff check bprop tests examples exercises benchmarks
	# SCIPY_ARRAY_API=1 lets scikit-learn's estimator checks test array-API input too
	SCIPY_ARRAY_API=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# make bench BENCH_ARGS=--quick for a one-minute run; see benchmarks/run.py --help
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
