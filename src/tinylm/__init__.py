"""tinylm: tiny BERT-style language models, pre-trained on small corpora.

Package map, bottom to top (a module imports only from its own package or below;
tests/test_imports.py holds the order):
  errors.py          the one exception type the CLI turns into "exit 2, no traceback"
  layout.py          the data directory's file names
  files.py           atomic writes (temp file, then rename)
  paths.py           where data and caches live (TINYLM_DATA_DIR, TINYLM_CACHE_DIR, else
                     under ~/.cache/tinylm), and the message when data is missing
  lock.py            a run folder's exclusive lock (two processes never write one run)
  provenance.py      the git commit that produced a figure
  ledger.py          the test ledger: a line in the run store for every reading of a test split
  config.py          typed, self-validating configuration dataclasses
  tokenizer.py       WordPiece through the `tokenizers` library: bert-base-uncased's or one
                     built on a corpus (`tinylm vocab build`)
  data/              readers, token cache, corpora, tasks, balanced sampling (and label
                     subsets), what a command needs, `data check`, `data fetch` and the hub
                     probe
  model/             the BERT model in one file, named architectures, positions, FLOP and
                     parameter accounting, the sparse MLM loss
  train/             pre-training, fine-tuning, evaluation and what they share
  export/            Hugging Face format, ONNX, model cards, committees of classifiers
  analysis/          token overlap, task-aware corpus selection, missing-token ablations
  bench/             benchmarks against the reference procedure
  study/             the paper's studies: presets, job engine and run store, outputs
  cli/               the `tinylm` command line
  api.py             the Python API: TinyClassifier (scikit-learn), pretrain, finetune
"""

__version__ = "0.1.0"

# The Python API (api.py), loaded on first use: `import tinylm` and every module's own import
# stay cheap, and the package root stays the bottom floor the other modules import from.
API = ("TinyClassifier", "pretrain", "finetune")


def __getattr__(name: str):
    if name in API:
        import importlib

        return getattr(importlib.import_module("tinylm.api"), name)
    raise AttributeError(f"module 'tinylm' has no attribute {name!r}")
