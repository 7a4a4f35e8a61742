# deblurlab — the two commands a newcomer needs are `make run` and `make test`.
# Each creates .venv on first use (torch==2.13.0 CPU build unless a torch is already importable,
# then the project in editable mode) and reuses it afterwards.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.deblurlab-installed
PROFILE ?= quick
BUILD   ?= build
TORCH_SPEC ?= torch==2.13.0

.PHONY: run test test-browser bench lab sync venv clean help
.DEFAULT_GOAL := help

help:
	@echo "make run    execute every notebook headlessly (PROFILE=$(PROFILE)); outputs under $(BUILD)/"
	@echo "make test   run the test suite (unit tests + every notebook with PROFILE=smoke)"
	@echo "make test-browser  only the JupyterLab + headless Chromium test (needs Debian chromium)"
	@echo "make lab    start JupyterLab on the notebooks"
	@echo "make sync   regenerate notebooks/*.ipynb from the paired notebooks/*.py"
	@echo "make bench  benchmarks (throughput, memory, fast paths, tiling, data) → benchmarks/RESULTS.md"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  if $(PYTHON) -c "import torch" 2>/dev/null; then \
	    echo "reusing the torch already installed for $(PYTHON)"; \
	    $(PYTHON) -m venv --system-site-packages $(VENV); \
	  else $(PYTHON) -m venv $(VENV); fi; \
	fi
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/run_notebooks.py --profile $(PROFILE) --out $(BUILD)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Screenshots land in build/test-artifacts/browser/.
test-browser: $(STAMP)
	$(BIN)/python -m pytest -m browser -s $(PYTEST_ARGS) tests/test_browser_e2e.py

lab: $(STAMP)
	$(BIN)/python -c "import ipympl" 2>/dev/null || $(BIN)/python -m pip install -q -e ".[dev,lab]"  # jupyterlab itself comes with dev
	$(BIN)/jupyter lab notebooks/

sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/*.py

# Benchmarks: ratios measured side by side in one run (see benchmarks/bench.py and the README).
# BENCH_ARGS="--quick" for a few-minute version, "--only notebooks" for the smoke-suite wall time.
bench: $(STAMP)
	PYTHONPATH=$(CURDIR)/lib $(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) .pytest_cache
