"""Balanced, seeded, deterministic per-label samples of a task.

For each label, a generator seeded by (seed, label id) permutes that label's examples, so a
label's sample depends on nothing but the seed, the label and its pool. With one pool, the
test sample is the first `test_per_label` examples of the permutation whose text occurs once in
the pool (so no test text can reach the train side), and the train sample is the next
examples that are not in it; the test sample stays the same when only the train size changes.
With two pools, each is permuted on its own stream.
A validation split, when asked for, is carved from each label's train sample: its first
examples whose text occurs once in the train pool, so validation shares no text with training.
"""

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from tinylm.config import TaskConfig
from tinylm.data.tasks import Pool, TaskData
from tinylm.data.token_cache import TokenizedTexts, tokenize_cached
from tinylm.errors import TinylmError
from tinylm.tokenizer import Tokenizer

SPLITS = ("train", "val", "test")


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray  # label ids
    pool: str  # "train" or "test": the pool the examples come from
    pool_index: np.ndarray  # the examples' positions in that pool

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class TaskSample:
    task: TaskData
    config: TaskConfig  # resolved: per-label sizes filled in
    train: Split
    val: Split
    test: Split

    @property
    def label_names(self) -> list[str]:
        return self.task.label_names

    def split(self, name: str) -> Split:
        return getattr(self, name)

    def save(self, out_dir: str | os.PathLike) -> None:
        """labels.json, config.yaml and one JSON-lines file per split, in `out_dir`."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "labels.json").write_text(json.dumps(self.label_names, indent=2) + "\n")
        (out / "config.yaml").write_text(yaml.safe_dump({"task": self.config.to_dict()}))
        for name in SPLITS:
            split = self.split(name)
            with open(out / f"{name}.jsonl", "w", encoding="utf-8") as f:
                for text, label in zip(split.texts, split.labels, strict=True):
                    f.write(json.dumps({"text": text, "label": int(label)}) + "\n")


def resolve_sizes(task: TaskData, config: TaskConfig) -> TaskConfig:
    """The config with the task's default per-label sizes filled in; a file too small for
    any default sample is refused in its own terms (rows per label), not the sizes'."""
    if config.train_per_label is None and task.default_train_per_label < 1:
        per_label = np.bincount(task.train_pool.labels, minlength=len(task.label_names))
        counts = ", ".join(
            f"{name}: {int(n)}" for name, n in zip(task.label_names, per_label, strict=True)
        )
        raise TinylmError(
            f"{task.name} is too small to sample from: every label needs at least 2 rows (one "
            f"to train, one to test; the default sample holds out a fifth), and it has {counts}"
        )
    return TaskConfig.from_dict(
        {
            **config.to_dict(),
            "train_per_label": config.train_per_label or task.default_train_per_label,
            "test_per_label": config.test_per_label or task.default_test_per_label,
        }
    )


def sample_task(task: TaskData, config: TaskConfig) -> TaskSample:
    config = resolve_sizes(task, config)
    n_train, n_test = config.train_per_label, config.test_per_label
    # asking for validation gives at least one example per label (round(0.5) would be 0)
    n_val = max(1, round(config.val_fraction * n_train)) if config.val_fraction > 0 else 0
    if n_val >= n_train:
        raise TinylmError(
            f"val_fraction {config.val_fraction} leaves no training example "
            f"of the {n_train} per label"
        )
    picks = {name: [] for name in SPLITS}
    counts = Counter(task.train_pool.texts)
    unique_text = np.array([counts[text] == 1 for text in task.train_pool.texts])
    for label, label_name in enumerate(task.label_names):
        train_rng = np.random.default_rng([config.seed, label, 0])
        train_candidates = np.flatnonzero(task.train_pool.labels == label)
        if task.test_pool is None:
            order = train_rng.permutation(train_candidates)
            testable = order[unique_text[order]]
            _need(
                task,
                label_name,
                "pool (texts that occur once)",
                len(testable),
                n_test,
                f"{n_test} test",
            )
            _need(
                task,
                label_name,
                "pool",
                len(order),
                n_train + n_test,
                f"{n_train} train + {n_test} test",
            )
            test = testable[:n_test]
            train = order[~np.isin(order, test)][:n_train]
        else:
            test_rng = np.random.default_rng([config.seed, label, 1])
            test_candidates = np.flatnonzero(task.test_pool.labels == label)
            _need(
                task, label_name, "train pool", len(train_candidates), n_train, f"{n_train} train"
            )
            _need(task, label_name, "test pool", len(test_candidates), n_test, f"{n_test} test")
            train = train_rng.permutation(train_candidates)[:n_train]
            test = test_rng.permutation(test_candidates)[:n_test]
        val = train[unique_text[train]][:n_val]
        _need(
            task,
            label_name,
            "train sample (texts that occur once)",
            len(val),
            n_val,
            f"{n_val} validation",
        )
        picks["val"].append(val)
        picks["train"].append(train[~np.isin(train, val)])
        picks["test"].append(test)

    test_pool_name = "train" if task.test_pool is None else "test"
    pools = {"train": task.train_pool, "test": task.test_pool or task.train_pool}
    splits = {}
    for name in SPLITS:
        pool_name = test_pool_name if name == "test" else "train"
        index = np.concatenate(picks[name]).astype(np.int64)
        splits[name] = _split(pools[pool_name], pool_name, index)
    return TaskSample(task, config, **splits)


def _need(task: TaskData, label: str, where: str, have: int, need: int, asked: str) -> None:
    if have < need:
        raise TinylmError(
            f"task {task.name}: label {label!r} has {have} example(s) in the {where}, "
            f"but the sample asks for {asked} per label; lower the per-label sizes"
        )


def _split(pool: Pool, pool_name: str, index: np.ndarray) -> Split:
    return Split([pool.texts[i] for i in index], pool.labels[index], pool_name, index)


def tokenize_sample(
    sample: TaskSample, tokenizer: Tokenizer, cache_dir: Path, progress: bool = True
) -> dict[str, TokenizedTexts]:
    """Token ids of every split. Whole pools are tokenized once and cached, then indexed."""
    task = sample.task
    pools = {"train": task.train_pool}
    if task.test_pool is not None:
        pools["test"] = task.test_pool
    tokens = {}
    for pool_name, pool in pools.items():
        tokens[pool_name], _ = tokenize_cached(
            lambda pool=pool: (pool.texts, {}),
            key_parts={"kind": "task", "pool": pool_name, **task.fingerprint()},
            tokenizer=tokenizer,
            cache_dir=cache_dir,
            desc=f"tokenizing {task.name} {pool_name}",
            progress=progress,
        )
    return {
        name: tokens[sample.split(name).pool].select(sample.split(name).pool_index)
        for name in SPLITS
    }
