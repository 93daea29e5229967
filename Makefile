# Two commands do all the set-up: `make demo` and `make test`.
# Both create (or refresh, when pyproject.toml changed) the virtual environment .venv
# and install tinylm with its test extras into it.

PYTHON ?= python3
VENV ?= .venv
# Installed first, so that pip does not pull the newest CUDA build when a CPU one is at hand.
# Override with e.g. `make test TORCH_SPEC=torch` to take the newest release instead.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin
PYTEST_ARGS ?= -m "not slow"

.PHONY: demo test lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tinylm needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts

# pytest exits 5 when it collects no test: that is not a failure of the code.
test: lint
	$(BIN)/pytest $(PYTEST_ARGS) || { status=$$?; [ $$status -eq 5 ] && echo "pytest collected no test"; [ $$status -eq 5 ]; }

# The main job: a small end-to-end study. Pre-trains a CPU-twin model on Wikipedia, fine-tunes
# it and the same architecture from scratch on AG News over three seeds, and prints the gap
# (about 10 minutes on 2 cores; jobs already done are reused, so a second run is instant).
# CI runs it with DEMO_PRESET=smoke, the same pipeline at toy sizes.
DEMO := demo
DEMO_PRESET ?= demo
demo: $(STAMP)
	$(BIN)/tinylm --version
	$(BIN)/tinylm data check
	$(BIN)/tinylm study gap --preset $(DEMO_PRESET) --out $(DEMO)/results --runs $(DEMO)/runs

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
