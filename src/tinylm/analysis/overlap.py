"""Token overlap between a task and a pre-training corpus, from cached token ids.

Let n_T(t) be how often token t occurs in the task sample (train and test texts, without
[CLS]/[SEP]/[PAD]) and n_C(t) how often it occurs in the corpus subset. Then:
- task_types = |{t : n_T(t) > 0}|, task_tokens = sum_t n_T(t);
- missing_types = |{t : n_T(t) > 0, n_C(t) = 0}|: task types the corpus never shows;
- missing_tokens = sum of n_T(t) over the missing types: their occurrences in the task;
- type_overlap = 1 - missing_types / task_types (the paper's plain overlap);
- weighted_overlap = 1 - missing_tokens / task_tokens: each task type weighted by its frequency
  in the task (the paper's open question 1), so a missing frequent token costs more than a
  missing rare one;
- reverse_missing_types = |{t : n_C(t) > 0, n_T(t) = 0}|: corpus types the task never uses, and
  reverse_missing_share, their share of the corpus's tokens (open question 2).

Counting is one bincount over the flat id array, so every Ws of a grid is scanned in
milliseconds once the corpus is in the token cache.
"""

from pathlib import Path

import numpy as np

from tinylm.config import TaskConfig
from tinylm.data.token_cache import TokenizedTexts


def token_counts(
    tokens: TokenizedTexts | np.ndarray, vocab_size: int, special_ids=()
) -> np.ndarray:
    """How often each token id occurs (special tokens counted as zero)."""
    ids = tokens.ids if isinstance(tokens, TokenizedTexts) else np.asarray(tokens)
    counts = np.bincount(ids.astype(np.int64, copy=False), minlength=vocab_size)
    counts[list(special_ids)] = 0
    return counts


def overlap(task: np.ndarray, corpus: np.ndarray) -> dict:
    """The figures of the module doc from two count vectors over the same vocabulary."""
    in_task, in_corpus = task > 0, corpus > 0
    missing = in_task & ~in_corpus
    reverse = in_corpus & ~in_task
    task_types, task_tokens = int(in_task.sum()), int(task.sum())
    corpus_tokens = int(corpus.sum())
    return {
        "task_types": task_types,
        "task_tokens": task_tokens,
        "missing_types": int(missing.sum()),
        "missing_tokens": int(task[missing].sum()),
        "type_overlap": 1 - int(missing.sum()) / task_types if task_types else float("nan"),
        "weighted_overlap": (
            1 - int(task[missing].sum()) / task_tokens if task_tokens else float("nan")
        ),
        "corpus_types": int(in_corpus.sum()),
        "corpus_tokens": corpus_tokens,
        "reverse_missing_types": int(reverse.sum()),
        "reverse_missing_share": (
            int(corpus[reverse].sum()) / corpus_tokens if corpus_tokens else float("nan")
        ),
    }


def task_token_counts(
    config: TaskConfig,
    *,
    data_dir: Path,
    tokenizer,
    cache_dir: Path,
    splits: tuple[str, ...] = ("train", "test"),
    progress: bool = False,
) -> tuple[str, np.ndarray]:
    """(the task's name, token counts of the given splits of its sample), special tokens left
    out; the sample is the one fine-tuning draws from the same config."""
    from tinylm.data.sampling import sample_task, tokenize_sample
    from tinylm.data.tasks import load_task

    sample = sample_task(load_task(config, data_dir), config)
    tokens = tokenize_sample(sample, tokenizer, cache_dir, progress=progress)
    specials = (tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id)
    counts = sum(token_counts(tokens[split], tokenizer.vocab_size, specials) for split in splits)
    return sample.task.name, counts
