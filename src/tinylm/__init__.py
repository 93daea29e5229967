"""tinylm: tiny BERT-style language models, pre-trained on small corpora.

Package map (one job per module):
  errors.py          the one exception type the CLI turns into "exit 2, no traceback"
  paths.py           where data and caches live (TINYLM_DATA_DIR, TINYLM_CACHE_DIR, else
                     under ~/.cache/tinylm), and the message when data is missing
  config.py          typed, self-validating configuration dataclasses
  tokenizer.py       bert-base-uncased WordPiece through the `tokenizers` library
  provenance.py      the git commit that produced a figure
  ledger.py          the test ledger: a line in the run store for every reading of a test split
  data/              the data layer: file layout, readers, token cache, corpora, tasks,
                     balanced sampling, what a command needs, `data check` and `data fetch`
  model/             the BERT model in one file, named architectures, FLOP and parameter
                     accounting, Hugging Face conversion
  train/             pre-training, fine-tuning, evaluation and what they share
  analysis/          token overlap, task-aware corpus selection, missing-token ablations
  study/             the paper's studies: presets, job engine and run store, outputs
  bench/             benchmarks against the reference procedure
  cli/               the `tinylm` command line
"""

__version__ = "0.1.0"
