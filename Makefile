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
	$(BIN)/ruff check src tests

# pytest exits 5 when it collects no test: that is not a failure of the code.
test: lint
	$(BIN)/pytest $(PYTEST_ARGS) || { status=$$?; [ $$status -eq 5 ] && echo "pytest collected no test"; [ $$status -eq 5 ]; }

# The main job. For now: check the data, show the data layer and the architectures, then a
# tiny pre-train -> fine-tune -> evaluate -> predict round (about two minutes on 2 cores).
DEMO := demo
demo: $(STAMP)
	$(BIN)/tinylm --version
	$(BIN)/tinylm data check
	$(BIN)/tinylm tokenize "Tiny language models learn from small corpora."
	$(BIN)/tinylm data corpus wikipedia --ws 2000
	$(BIN)/tinylm data task agnews --seed 0
	$(BIN)/tinylm data task fewrel-val --seed 0 --entity-markers
	$(BIN)/tinylm arch list
	rm -rf $(DEMO)
	$(BIN)/tinylm pretrain --arch bert1-cpu --ws 1000 --epochs 1 --lr 1e-3 --out $(DEMO)/pre
	$(BIN)/tinylm finetune --task agnews --init $(DEMO)/pre --train-per-label 200 \
		--test-per-label 100 --epochs 8 --lr 3e-4 --out $(DEMO)/agnews
	$(BIN)/tinylm evaluate $(DEMO)/agnews
	$(BIN)/tinylm predict $(DEMO)/agnews "Stocks rallied as the central bank held rates"

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
