"""Corpora built for a task, as jobs of the store: the missing-token ablation, the custom
(coverage-maximising) selection and the reverse-overlap swaps of analysis/. Each starts from the
random subset a `ws` study would pre-train on (`pool`) and the task sample of one seed, and
writes `corpus.jsonl.gz` with its overlap figures in summary.json; the pre-training job that
reads it holds this job's key, so equal recipes are built once."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinylm.analysis.ablation import ablation_targets, without_types
from tinylm.analysis.overlap import overlap, task_token_counts, token_counts
from tinylm.analysis.reverse import DIRECTIONS, swap_foreign
from tinylm.analysis.select import SATURATION, coverage, greedy_select
from tinylm.config import Config, CorpusConfig, TaskConfig
from tinylm.data.corpus import load_corpus, write_corpus
from tinylm.errors import ConfigError, TinylmError

CORPUS_FILE = "corpus.jsonl.gz"
METHODS = ("ablation", "custom", "reverse")


@dataclass
class CorpusRecipe(Config):
    method: str  # ablation | custom | reverse
    pool: CorpusConfig  # the random subset it starts from (custom: its size and permutation)
    task: TaskConfig  # the task sample it is built against
    removed: int = 0  # ablation: task types made absent
    saturation: int = SATURATION  # custom: occurrences that fully cover a task token
    direction: str = "more"  # reverse: more or fewer tokens the task never uses
    fraction: float = 0.0  # reverse: share of the subset's paragraphs swapped

    def validate(self):
        if self.method not in METHODS:
            raise ConfigError("method", f"unknown {self.method!r}; known: {', '.join(METHODS)}")
        if self.pool.ws is None:
            raise ConfigError("pool.ws", "a built corpus needs a size")
        if self.method == "ablation" and self.removed <= 0:
            raise ConfigError("removed", f"must be positive, got {self.removed}")
        if self.method == "reverse" and self.direction not in DIRECTIONS:
            raise ConfigError("direction", f"must be one of {', '.join(DIRECTIONS)}")
        if self.method == "reverse" and not 0 < self.fraction <= 1:
            raise ConfigError("fraction", f"must be in (0, 1], got {self.fraction}")
        if self.saturation <= 0:
            raise ConfigError("saturation", f"must be positive, got {self.saturation}")

    @property
    def label(self) -> str:
        return f"reverse-{self.direction}" if self.method == "reverse" else self.method


def build_corpus(
    recipe: CorpusRecipe, out: Path, *, data_dir: Path, cache_dir: Path, tokenizer
) -> dict:
    """Writes out/corpus.jsonl.gz; returns the summary: the corpus's size and overlap figures
    against the task sample's train and test texts, beside those of the random subset."""
    pool = recipe.pool
    corpus = load_corpus(
        pool.name, data_dir=data_dir, tokenizer=tokenizer, cache_dir=cache_dir, progress=False
    )
    subset = corpus.subset(pool.ws, pool.seed, pool.lead_only)
    order = np.random.default_rng(pool.seed).permutation(corpus.pool(pool.lead_only))
    specials = (tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id)
    vocab = tokenizer.vocab_size

    def task_counts(splits):
        return task_token_counts(
            recipe.task, data_dir=data_dir, tokenizer=tokenizer, cache_dir=cache_dir, splits=splits
        )[1]

    counts = task_counts(("train", "test"))
    try:
        if recipe.method == "ablation":
            targets = ablation_targets(
                corpus.tokens, subset.indices, counts, recipe.removed, pool.seed
            )
            chosen = without_types(corpus.tokens, subset.indices, order, targets)
        elif recipe.method == "custom":
            train = task_counts(("train",))  # test texts never steer pre-training
            weights = train / max(1, train.sum())
            chosen = greedy_select(
                corpus.tokens, order, weights, pool.ws, saturation=recipe.saturation
            )
        else:
            chosen = swap_foreign(
                corpus.tokens,
                subset.indices,
                order,
                counts > 0,
                recipe.fraction,
                recipe.direction,
                specials,
            )
    except ValueError as err:
        raise TinylmError(f"cannot build the {recipe.label} corpus: {err}") from None
    write_corpus(out / CORPUS_FILE, corpus.texts(chosen))

    def figures(indices) -> dict:
        corpus_counts = token_counts(corpus.tokens.select(indices), vocab, specials)
        return {"paragraphs": len(indices), **overlap(counts, corpus_counts)}

    summary = {"method": recipe.method, "label": recipe.label, **figures(chosen)}
    summary["random"] = figures(subset.indices)
    if recipe.method == "custom":  # the objective it maximised, and the random subset's
        for name, indices in (("coverage", chosen), ("random_coverage", subset.indices)):
            counts_in = token_counts(corpus.tokens.select(indices), vocab, specials)
            summary[name] = coverage(counts_in, weights, recipe.saturation)
    return summary
