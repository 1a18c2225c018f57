# make run: install, index corpus/, serve on 127.0.0.1:8000.  make test: install with test extras, run the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test index lint bench clean

$(PY):
	python3 -m venv $(VENV)

# torch first, pinned: it is the CPU build on local disk; anything else pulls CUDA.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(PIP) install -q -e '.[test]'
	touch $@

index: $(STAMP)
	$(VENV)/bin/rag index

run: $(STAMP)
	$(VENV)/bin/rag index
	$(VENV)/bin/rag serve

test: $(TEST_STAMP)
	$(PY) -m pytest -q

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check rag ui tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/bench_index.py

clean:
	rm -rf .rag test-artifacts
