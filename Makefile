# Two commands do all the set-up: `make demo` and `make test`.
# Both create (or refresh, when pyproject.toml changed) the virtual environment .venv and
# install tinylm into it: `make test` with its test extras, `make demo` without them.

PYTHON ?= python3
VENV ?= .venv
# Installed first, so that pip does not pull the newest CUDA build when a CPU one is at hand.
# Override with e.g. `make test TORCH_SPEC=torch` to take the newest release instead.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
BIN := $(VENV)/bin
PYTEST_ARGS ?= -m "not slow"

.PHONY: demo demo-data test lint venv clean gpu-check

venv: $(STAMP)

define install
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tinylm needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -c 'import torch' 2>/dev/null || $(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e "$(1)"
endef

$(STAMP): pyproject.toml
	$(call install,.[test])
	@touch $(STAMP) $(DEMO_STAMP)

# the demo needs tinylm alone, not the test extras; a test install has it too
$(DEMO_STAMP): pyproject.toml
	$(call install,.)
	@touch $(DEMO_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts

# pytest exits 5 when it collects no test: that is not a failure of the code. The 15 slowest
# tests are listed at the end: CI has a time budget (25 minutes on 2 cores, install included).
test: lint
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS) || { status=$$?; [ $$status -eq 5 ] && echo "pytest collected no test"; [ $$status -eq 5 ]; }

# On a machine with an NVIDIA GPU (and a CUDA build of PyTorch): the CUDA tests, bert6's
# pre-training speed against the reference, the committee's latency against BERT-6 and a slice
# of the paper preset, in under 10 minutes, summarised in gpu-check.json. Without a GPU it
# stops at once with one line.
gpu-check: $(STAMP)
	@$(BIN)/python scripts/gpu_check.py --out gpu-check.json

# The main job: a small end-to-end study. Pre-trains a CPU-twin model on Wikipedia, fine-tunes
# it and the same architecture from scratch on AG News over three seeds, and prints the gap
# (about 9 minutes on 2 cores; jobs already done are reused, so a second run is instant).
# CI runs it with DEMO_PRESET=smoke, the same pipeline at toy sizes.
# Its data: the folder of TINYLM_DATA_DIR, else the default ~/.cache/tinylm/data, where the
# files the preset reads and the folder lacks are downloaded first (none when all are there;
# offline, it stops at once saying what is missing and the ways out).
DEMO := demo
DEMO_PRESET ?= demo
demo: demo-data $(DEMO_STAMP)
	$(BIN)/tinylm --version
	$(BIN)/tinylm data fetch --for-preset $(DEMO_PRESET)
	$(BIN)/tinylm study gap --preset $(DEMO_PRESET) --jobs 2 --out $(DEMO)/results --runs $(DEMO)/runs

# Before any install: a TINYLM_DATA_DIR that is set must name a folder (unset: the default).
demo-data:
	@[ -z "$$TINYLM_DATA_DIR" ] || [ -d "$$TINYLM_DATA_DIR" ] || { echo "make demo: TINYLM_DATA_DIR=$$TINYLM_DATA_DIR is not a folder: set it to a data folder (docs/data.md), or unset it to use the default one, which 'tinylm data fetch' fills" >&2; exit 2; }

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
