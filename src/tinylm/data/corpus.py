"""Pre-training corpora and their nested, seeded subsets.

A corpus is a list of paragraphs: `wikipedia` (the data directory's
wikipedia/paragraphs.jsonl.gz), a task's own texts (`task:NAME`: its train texts with the
labels dropped, never a text a test sample can hold; data/sampling.py `unlabelled_texts`), or
a local file: `.txt` (one paragraph per line; blank lines skipped) or `.jsonl` / `.jsonl.gz`
(one object per line with a `text` field; a `para_index` field, when present, marks article
leads as para_index == 0).

A subset of size Ws is the first Ws paragraphs of one seeded permutation of the pool, so for a
fixed seed smaller subsets are nested in larger ones (Ws = 2,000 lies inside Ws = 20,000).
"""

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinylm import layout
from tinylm.config import CORPUS_SEED, CorpusConfig
from tinylm.data.io import file_sha256, iter_jsonl, read_text, split_lines
from tinylm.data.token_cache import CacheInfo, TokenizedTexts, tokenize_cached
from tinylm.errors import TinylmError
from tinylm.files import atomic_open
from tinylm.paths import missing_data_message
from tinylm.tokenizer import Tokenizer

WIKIPEDIA = "wikipedia"
TASK_PREFIX = "task:"  # task:agnews, task:my_data.csv: the task's unlabelled train texts
# A task corpus keeps its own validation texts out of every subset (its texts are few, and
# Wikipedia's paragraphs would measure another distribution): 5%, at most 1,000.
TASK_HELD_OUT_SHARE = 0.05
TASK_HELD_OUT = 1000
CORPUS_SUFFIXES = (".txt", ".jsonl", ".jsonl.gz")


@dataclass(frozen=True)
class Corpus:
    name: str
    source: Path  # the file (a task corpus: its task's first source file)
    tokens: TokenizedTexts  # every paragraph, truncated to the tokenizer's max length
    cache: CacheInfo
    data_dir: Path | None = None

    @property
    def lead(self) -> np.ndarray | None:
        """Boolean mask of article-lead paragraphs, or None when the corpus has no articles."""
        return self.tokens.extras.get("lead")

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def is_task(self) -> bool:
        return self.name.startswith(TASK_PREFIX)

    def held_out(self) -> np.ndarray:
        """A task corpus's validation texts, never in a subset: the last TASK_HELD_OUT_SHARE
        (at most TASK_HELD_OUT) of its CORPUS_SEED permutation, the paragraphs that
        train/validation.py `held_out` scores. Other corpora hold none out of their pool."""
        if not self.is_task:
            return np.zeros(0, dtype=np.int64)
        size = min(TASK_HELD_OUT, int(len(self) * TASK_HELD_OUT_SHARE))
        order = np.random.default_rng(CORPUS_SEED).permutation(len(self))
        return order[len(order) - size :]

    def pool(self, lead_only: bool = False) -> np.ndarray:
        """Indices of the paragraphs subsets are drawn from."""
        if self.is_task:
            return np.setdiff1d(np.arange(len(self), dtype=np.int64), self.held_out())
        if not lead_only:
            return np.arange(len(self), dtype=np.int64)
        if self.lead is None:
            raise TinylmError(
                f"corpus {self.name} has no article structure (no para_index field), "
                "so lead_only cannot be used"
            )
        return np.flatnonzero(self.lead)

    def subset(
        self, ws: int | None = None, seed: int = CORPUS_SEED, lead_only: bool = False
    ) -> "Subset":
        """The first `ws` paragraphs of the pool's permutation by `seed` (all when ws is None)."""
        pool = self.pool(lead_only)
        size = len(pool) if ws is None else ws
        if size > len(pool):
            kind = "lead paragraphs" if lead_only else "paragraphs"
            raise TinylmError(
                f"ws = {size:,} is larger than the pool: corpus {self.name} has "
                f"{len(pool):,} {kind}"
            )
        order = np.random.default_rng(seed).permutation(pool)
        indices = order[:size]
        return Subset(self, indices, self.tokens.select(indices), seed, lead_only)

    def texts(self, indices) -> list[str]:
        """The raw text of the given paragraphs (reads the source)."""
        texts, _ = self.read()
        return [texts[i] for i in np.asarray(indices)]

    def read(self) -> tuple[list[str], np.ndarray | None]:
        """(paragraph texts, lead mask or None), read from the source."""
        if self.is_task:
            return task_texts(self.name, self.data_dir), None
        return read_paragraphs(self.source)


@dataclass(frozen=True)
class Subset:
    corpus: Corpus
    indices: np.ndarray  # paragraph indices in the corpus, in permutation order
    tokens: TokenizedTexts
    seed: int
    lead_only: bool

    @property
    def ws(self) -> int:
        return len(self.indices)


def corpus_source(name: str, data_dir: str | os.PathLike | None) -> Path:
    """The file behind a corpus name: `wikipedia` in the data directory, or a local file."""
    if name == WIKIPEDIA:
        if data_dir is None:
            raise TinylmError("the wikipedia corpus needs a data directory")
        path = Path(data_dir) / layout.WIKIPEDIA
        if not path.is_file():
            lacking = missing_data_message(Path(data_dir), [layout.WIKIPEDIA], ["wikipedia"])
            raise TinylmError(f"wikipedia corpus not found: {lacking}")
        return path
    path = Path(name).expanduser()
    if not path.name.endswith(CORPUS_SUFFIXES):
        raise TinylmError(
            f"unknown corpus {name!r}: use 'wikipedia' or a file ending in "
            f"{', '.join(CORPUS_SUFFIXES)}"
        )
    if not path.is_file():
        raise TinylmError(f"corpus file not found: {path}")
    return path


def read_paragraphs(path: Path) -> tuple[list[str], np.ndarray | None]:
    """(paragraph texts, lead mask or None) of a corpus file; empty paragraphs are skipped."""
    if path.suffix == ".txt":
        texts = [line.strip() for line in split_lines(read_text(path))]
        texts = [t for t in texts if t]
        lead = None
    else:
        texts, leads = [], []
        for number, record in enumerate(iter_jsonl(path), start=1):
            text = record.get("text")
            if not isinstance(text, str):
                raise TinylmError(f"{path}: record {number} has no string field 'text'")
            if text.strip():
                texts.append(text.strip())
                leads.append(record.get("para_index"))
        has_articles = bool(leads) and all(isinstance(i, int) for i in leads)
        lead = np.array([i == 0 for i in leads]) if has_articles else None
    if not texts:
        raise TinylmError(f"{path} holds no paragraph")
    return texts, lead


def load_corpus(
    name: str = WIKIPEDIA,
    *,
    data_dir: str | os.PathLike | None,
    tokenizer: Tokenizer,
    cache_dir: Path,
    progress: bool = True,
) -> Corpus:
    """A corpus with the token ids of all its paragraphs (tokenized once, then cached)."""
    if name.startswith(TASK_PREFIX):
        return _task_corpus(name, data_dir, tokenizer, cache_dir, progress)
    source = corpus_source(name, data_dir)

    def build():
        texts, lead = read_paragraphs(source)
        return texts, ({} if lead is None else {"lead": lead})

    tokens, info = tokenize_cached(
        build,
        key_parts={"kind": "corpus", "sha256": file_sha256(source)},
        tokenizer=tokenizer,
        cache_dir=cache_dir,
        desc=f"tokenizing {source.name}",
        progress=progress,
    )
    return Corpus(name, source, tokens, info)


def task_texts(name: str, data_dir: str | os.PathLike | None) -> list[str]:
    """The paragraphs of the corpus `task:NAME` (see the module doc)."""
    return _unlabelled(_corpus_task(name, data_dir), name)


def _corpus_task(name: str, data_dir):
    from tinylm.config import TaskConfig
    from tinylm.data.tasks import load_task

    task_name = name.removeprefix(TASK_PREFIX)
    if not task_name:
        raise TinylmError(f"corpus {name!r} names no task: use task:NAME (task:agnews, a file)")
    return load_task(TaskConfig(name=task_name), data_dir)


def _unlabelled(task, name: str) -> list[str]:
    from tinylm.data.sampling import unlabelled_texts

    texts = unlabelled_texts(task)
    if not texts:
        raise TinylmError(f"corpus {name}: the task has no train text that no test sample holds")
    return texts


def _task_corpus(name: str, data_dir, tokenizer: Tokenizer, cache_dir: Path, progress: bool):
    from tinylm.data.sampling import unlabelled_rule

    task = _corpus_task(name, data_dir)
    tokens, info = tokenize_cached(
        lambda: (_unlabelled(task, name), {}),
        key_parts={"kind": "task-corpus", **task.fingerprint(), **unlabelled_rule(task)},
        tokenizer=tokenizer,
        cache_dir=cache_dir,
        desc=f"tokenizing {name}",
        progress=progress,
    )
    folder = None if data_dir is None else Path(data_dir)
    return Corpus(name, task.sources[0], tokens, info, folder)


def load_subset(
    config: CorpusConfig,
    *,
    data_dir: str | os.PathLike | None,
    tokenizer: Tokenizer,
    cache_dir: Path,
    progress: bool = True,
) -> Subset:
    """The subset a pre-training reads: `config`'s subset of its corpus, its paragraphs
    `repeat` times, then the mixed-in corpus's subset when `mix` names one."""
    corpus = load_corpus(
        config.name, data_dir=data_dir, tokenizer=tokenizer, cache_dir=cache_dir, progress=progress
    )
    subset = corpus.subset(config.ws, config.seed, config.lead_only)
    parts = [subset.tokens] * config.repeat
    if config.mix is not None:
        other = load_corpus(
            config.mix,
            data_dir=data_dir,
            tokenizer=tokenizer,
            cache_dir=cache_dir,
            progress=progress,
        )
        parts.append(other.subset(config.mix_ws, config.seed).tokens)
    if len(parts) > 1:
        subset = dataclasses.replace(subset, tokens=TokenizedTexts.concat(parts))
    return subset


def write_corpus(path: Path, texts: list[str]) -> None:
    """Writes paragraphs as a .jsonl.gz corpus (one {"text": ...} per line), atomically."""
    import gzip
    import json

    with atomic_open(path, text=False) as raw, gzip.open(raw, "wt", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text}) + "\n")
