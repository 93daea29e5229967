"""Seeded, deterministic samples of a task: its train, validation and test splits.

Three ways (TaskConfig.sampling): `balanced`, n examples per label (the paper's); `stratified`,
a total size in the labels' proportions; `all`, every example. A test or validation split the
task gives (the user's data) is used whole unless a size is asked for.

For each label, a generator seeded by (seed, label id) permutes that label's examples, so a
label's sample depends on nothing but the seed, the label and its pool. With one pool, the
test sample is the first `test_per_label` examples of the permutation whose text occurs once in
the pool (so no test text can reach the train side), and the train sample is the next
examples that are not in it; the test sample stays the same when only the train size changes.
With two pools, each is permuted on its own stream. A validation split, when asked for and
not given, is carved from each label's train sample: its first examples whose text occurs once
in the train pool, so validation shares no text with training.

The confirmation split (TaskConfig.split = "confirm", balanced sampling only). The development
test samples were scored many times while the recipe was searched, so a claim measured on them
may be tuned to them. A confirmation sample keeps the development train (and validation) sample
of its seed and draws its test sample, on its own stream, from the examples that no development
sample can have read: neither the test sample of any development seed 0..DEV_SEEDS-1 (nor of its
own seed) at the largest sizes read (READ_SIZES) or asked, nor, with one pool, their train
samples. The first n of a permutation are nested in its first m > n, so the samples at the
largest sizes cover every smaller one: a few permutations per label, cheap and deterministic.

Label subsets (TaskConfig.labels = N, balanced sampling only; the `labels` study): the sample
keeps the first N labels of a permutation drawn on the seed's own stream (so a seed's subsets
are nested), each kept label with exactly the examples it has in the whole task's sample, and
numbers them 0 .. N-1 in the task's order (`TaskSample.kept`, `label_names`).
"""

import contextlib
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
LABEL_STREAM = 3  # the generator stream [seed, 3] draws kept labels ([seed, label, 0..2]: examples)
# The confirmation split reserves the development samples of seeds 0..DEV_SEEDS-1: the seeds
# the studies have read. Ten would leave room for more, but DBpedia's 5,000-row test subset
# would keep 7 to 23 unread examples per label (50 to 83 with five). A development sample of a
# later seed may share examples with a confirmation sample: the ledger's sample hash tells.
DEV_SEEDS = 5
# The largest per-label (train, test) sizes at which development samples were read, per task:
# those of the presets that ran (smoke, demo, cpu, cpu-short; `paper` never ran). Frozen here,
# not read from the presets, so that a confirmation sample (and its job's key) never moves when
# a preset changes; a test checks that every preset that runs stays within them.
READ_SIZES = {
    "agnews": (100, 250),
    "dbpedia": (30, 100),
    "fewrel-val": (40, 60),
    "medical": (40, 40),  # frozen with the task's first sizes (2026-12-07), before any run
}


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray  # label ids
    pool: str  # "train", "test" or "val": the pool the examples come from
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
    # the task's label ids the sample keeps (TaskConfig.labels), in order: the splits' label
    # id i is the task's kept[i]
    kept: list[int]

    @property
    def label_names(self) -> list[str]:
        return [self.task.label_names[label] for label in self.kept]

    @property
    def num_labels(self) -> int:
        return len(self.kept)

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
    """The config with its sampling and the task's default per-label sizes filled in. Sizes
    given without a sampling choose it (per-label sizes: balanced; train_size: stratified);
    else it is the task's (balanced for the paper's tasks, all for the user's data). A file
    too small for any default balanced sample is refused in its own terms (rows per label)."""
    per_label = config.train_per_label is not None or config.test_per_label is not None
    sampling = config.sampling or (
        "balanced" if per_label else "stratified" if config.train_size else task.default_sampling
    )
    values = {**config.to_dict(), "sampling": sampling}
    if sampling == "balanced":
        if config.train_per_label is None and task.default_train_per_label < 1:
            counts = np.bincount(task.train_pool.labels, minlength=len(task.label_names))
            listed = ", ".join(
                f"{name}: {int(n)}" for name, n in zip(task.label_names, counts, strict=True)
            )
            raise TinylmError(
                f"{task.name} is too small to sample from: every label needs at least 2 rows "
                "(one to train, one to test; the default sample holds out a fifth), and it has "
                f"{listed}"
            )
        values["train_per_label"] = config.train_per_label or task.default_train_per_label
        values["test_per_label"] = config.test_per_label or task.default_test_per_label
    return TaskConfig.from_dict(values)


def sample_task(task: TaskData, config: TaskConfig) -> TaskSample:
    config = resolve_sizes(task, config)
    if config.split == "confirm" and config.sampling != "balanced":
        raise TinylmError(
            f"task {task.name}: the confirmation split needs balanced sampling (per-label "
            f"sizes), not {config.sampling}"
        )
    if config.labels is not None and config.sampling != "balanced":
        raise TinylmError(
            f"task {task.name}: keeping {config.labels} labels needs balanced sampling "
            f"(per-label sizes), not {config.sampling}"
        )
    counts = Counter(task.train_pool.texts)
    unique_text = np.array([counts[text] == 1 for text in task.train_pool.texts])
    draw = _balanced if config.sampling == "balanced" else _proportional
    kept = kept_labels(task, config)
    picks = {"train": [], "test": []}
    for label in kept:
        train, test = draw(task, config, label, unique_text)
        if config.split == "confirm":
            test = _confirmation_test(task, config, label, unique_text)
        picks["train"].append(train)
        picks["test"].append(test)
        if len(train) and not len(test) and task.test_pool is None:
            task.notices.append(
                f"{task.name}: label {task.label_names[label]!r} has no test example (a label's "
                f"last example stays in train, and it has {len(train)}): its accuracy is not tested"
            )
    if task.val_pool is not None:  # a given validation split is used as it is (its kept labels)
        picks["val"] = [np.flatnonzero(np.isin(task.val_pool.labels, kept))]
    else:
        picks["val"] = [
            _carve_validation(task, config, label, train, unique_text)
            for label, train in zip(kept, picks["train"], strict=True)
        ]
        picks["train"] = [
            train[~np.isin(train, val)]
            for train, val in zip(picks["train"], picks["val"], strict=True)
        ]
    pool_names = {
        "train": "train",
        "val": "train" if task.val_pool is None else "val",
        "test": "train" if task.test_pool is None else "test",
    }
    pools = {"train": task.train_pool, "test": task.test_pool, "val": task.val_pool}
    splits = {}
    for name in SPLITS:
        index = np.concatenate(picks[name]).astype(np.int64)
        if config.sampling != "balanced":  # the data's own order (balanced: by label)
            index = np.sort(index)
        splits[name] = _split(pools[pool_names[name]], pool_names[name], index)
    if len(kept) < task.num_labels:  # the kept labels, numbered 0 .. len(kept) - 1
        renumber = np.full(task.num_labels, -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept))
        for split in splits.values():
            split.labels = renumber[split.labels]
    return TaskSample(task, config, **splits, kept=kept)


def kept_labels(task: TaskData, config: TaskConfig) -> list[int]:
    """The label ids a sample keeps: all, or `config.labels` of them, the first of a
    permutation drawn on the sample seed's own stream, so that a seed's smaller subsets are
    inside its larger ones; each kept label's examples are drawn as with every label."""
    if config.labels is None:
        return list(range(task.num_labels))
    if config.labels > task.num_labels:
        raise TinylmError(
            f"task {task.name} has {task.num_labels} labels; cannot keep {config.labels}"
        )
    order = np.random.default_rng([config.seed, LABEL_STREAM]).permutation(task.num_labels)
    return sorted(int(label) for label in order[: config.labels])


def _balanced(task: TaskData, config: TaskConfig, label: int, unique_text: np.ndarray):
    """(train, test) positions of one label: `train_per_label` and `test_per_label` of them."""
    n_train, n_test = config.train_per_label, config.test_per_label
    label_name = task.label_names[label]
    in_label = task.train_pool.labels == label
    if task.test_pool is None:
        testable = int((in_label & unique_text).sum())
        where = "pool (texts that occur once)"
        _need(task, label_name, where, testable, n_test, f"{n_test} test")
        asked = f"{n_train} train + {n_test} test"
        _need(task, label_name, "pool", int(in_label.sum()), n_train + n_test, asked)
    else:
        in_test = int((task.test_pool.labels == label).sum())
        _need(task, label_name, "train pool", int(in_label.sum()), n_train, f"{n_train} train")
        _need(task, label_name, "test pool", in_test, n_test, f"{n_test} test")
    return _first(task, config.seed, label, unique_text, n_train, n_test)


def _first(
    task: TaskData, seed: int, label: int, unique_text: np.ndarray, n_train: int, n_test: int
):
    """(train, test) positions of one label: the first of its seeded permutations (with one
    pool, the test sample is its first texts that occur once and train the next examples);
    a size past a permutation's end takes all of it."""
    train_order = np.random.default_rng([seed, label, 0]).permutation(
        np.flatnonzero(task.train_pool.labels == label)
    )
    if task.test_pool is None:
        test = train_order[unique_text[train_order]][:n_test]
        return train_order[~np.isin(train_order, test)][:n_train], test
    test_order = np.random.default_rng([seed, label, 1]).permutation(
        np.flatnonzero(task.test_pool.labels == label)
    )
    return train_order[:n_train], test_order[:n_test]


def _confirmation_test(
    task: TaskData, config: TaskConfig, label: int, unique_text: np.ndarray
) -> np.ndarray:
    """The confirmation test positions of one label: `test_per_label` of the examples that no
    development sample can hold (`_read_by_development`), on the stream [seed, label, 2]."""
    if task.test_pool is None:  # texts that occur once, as a development test sample's
        candidates = np.flatnonzero((task.train_pool.labels == label) & unique_text)
    else:
        candidates = np.flatnonzero(task.test_pool.labels == label)
    fresh = candidates[~np.isin(candidates, _read_by_development(task, config, label, unique_text))]
    if len(fresh) < config.test_per_label:
        raise TinylmError(
            f"task {task.name}: label {task.label_names[label]!r} has {len(fresh)} test "
            f"example(s) that no development sample can have read (of {len(candidates)}), but "
            f"the confirmation split asks for {config.test_per_label} per label; lower the "
            "test size"
        )
    order = np.random.default_rng([config.seed, label, 2]).permutation(fresh)
    return order[: config.test_per_label]


def _read_by_development(
    task: TaskData, config: TaskConfig, label: int, unique_text: np.ndarray
) -> np.ndarray:
    """Positions of one label that a development sample may have read: the test samples (and,
    with one pool, the train samples) of seeds 0..DEV_SEEDS-1 and of `config`'s own seed, at
    the largest sizes read (READ_SIZES) or asked. With one pool the sample at the largest
    sizes holds every smaller one's train examples too: those it does not train on are in its
    larger test sample."""
    read_train, read_test = READ_SIZES.get(task.name, (0, 0))
    n_train = max(read_train, config.train_per_label)
    n_test = max(read_test, config.test_per_label)
    read = []
    for seed in sorted({*range(DEV_SEEDS), config.seed}):
        train, test = _first(task, seed, label, unique_text, n_train, n_test)
        read += [test] if task.test_pool is not None else [train, test]
    return np.concatenate(read)


def _proportional(task: TaskData, config: TaskConfig, label: int, unique_text: np.ndarray):
    """(train, test) positions of one label for `all` (every example) and `stratified` (each
    label's share of train_size / test_size, rounded per label). With one pool the test
    examples are held out of it: test_size of them (default a fifth) in the labels'
    proportions, texts that occur once, and never a label's last example."""
    train_pool = task.train_pool
    candidates = np.random.default_rng([config.seed, label, 0]).permutation(
        np.flatnonzero(train_pool.labels == label)
    )
    if task.test_pool is None:
        wanted = config.test_size or max(1, round(len(train_pool) / 5))
        if wanted >= len(train_pool):
            raise TinylmError(
                f"task {task.name}: test_size {wanted:,} would hold out all {len(train_pool):,} "
                "examples, leaving none to train on"
            )
        n_test = _share(wanted, train_pool.labels, label)
        testable = candidates[unique_text[candidates]]
        test = testable[: min(n_test, len(testable), len(candidates) - 1)]
        candidates = candidates[~np.isin(candidates, test)]
        available = len(train_pool) - wanted
    else:
        test = np.flatnonzero(task.test_pool.labels == label)
        if config.test_size is not None and config.test_size > len(task.test_pool):
            raise TinylmError(
                f"task {task.name}: test_size {config.test_size:,} is more than the "
                f"{len(task.test_pool):,} test examples there are"
            )
        if config.test_size is not None and config.test_size < len(task.test_pool):
            n_test = _share(config.test_size, task.test_pool.labels, label)
            test = np.random.default_rng([config.seed, label, 1]).permutation(test)[:n_test]
        available = len(train_pool)
    if config.sampling == "stratified" and config.train_size is not None:
        if config.train_size > available:
            raise TinylmError(
                f"task {task.name}: train_size {config.train_size:,} is more than the "
                f"{available:,} train examples there are"
            )
        candidates = candidates[: round(config.train_size * len(candidates) / available)]
    return candidates, test


def _share(total: int, labels: np.ndarray, label: int) -> int:
    """`label`'s part of `total` examples (fewer than there are) split in proportion to the
    labels' counts, by largest remainder (so the parts add up to the total)."""
    counts = np.bincount(labels, minlength=label + 1).astype(float)
    exact = total * counts / counts.sum()
    parts = np.floor(exact).astype(int)
    order = np.lexsort((np.arange(len(counts)), -(exact - parts)))
    parts[order[: total - parts.sum()]] += 1
    return int(parts[label])


def _carve_validation(
    task: TaskData, config: TaskConfig, label: int, train: np.ndarray, unique_text: np.ndarray
) -> np.ndarray:
    """The validation examples of one label: the first of its train sample whose text occurs
    once in the train pool (so validation shares no text with training); `val_fraction` of a
    balanced sample (at least one), else of the label's train examples (none of a label with
    a single one)."""
    if config.val_fraction == 0:
        return train[:0]
    if config.sampling == "balanced":
        n_train = config.train_per_label
        # asking for validation gives at least one example per label (round(0.5) would be 0)
        n_val = max(1, round(config.val_fraction * n_train))
        if n_val >= n_train:
            raise TinylmError(
                f"val_fraction {config.val_fraction} leaves no training example "
                f"of the {n_train} per label"
            )
    else:
        n_val = max(1, round(config.val_fraction * len(train))) if len(train) > 1 else 0
    val = train[unique_text[train]][:n_val]
    if config.sampling == "balanced":
        where = "train sample (texts that occur once)"
        _need(task, task.label_names[label], where, len(val), n_val, f"{n_val} validation")
    return val


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
    for name in ("test", "val"):
        if getattr(task, f"{name}_pool") is not None:
            pools[name] = getattr(task, f"{name}_pool")
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


def unlabelled_rule(task: TaskData) -> dict:
    """What `unlabelled_texts` leaves out depends on, beyond the task's files: a token cache of a
    task corpus keys by it, so a change of DEV_SEEDS or READ_SIZES never reuses a stale one."""
    if task.test_pool is not None:
        return {"held_out": "test pool"}
    sizes = READ_SIZES.get(task.name, (task.default_train_per_label, task.default_test_per_label))
    return {"held_out": "dev and confirm tests", "dev_seeds": DEV_SEEDS, "read_sizes": list(sizes)}


def unlabelled_texts(task: TaskData) -> list[str]:
    """The task's texts a pre-training may read (`--corpus task:NAME`): its train pool with the
    labels dropped, less every text that a test sample can hold. With a test pool of its own
    that is the whole train pool (load_task leaves no text in both). With one pool, the test
    samples are drawn from it: every text of the development and confirmation test samples of
    seeds 0..DEV_SEEDS-1, at the largest sizes read (READ_SIZES, else the task's defaults), is
    left out, and a fine-tuning whose test sample still meets the corpus (a later seed, a
    larger size) is refused (train/finetune.py)."""
    texts = task.train_pool.texts
    if task.test_pool is not None:
        return list(texts)
    read_train, read_test = unlabelled_rule(task)["read_sizes"]
    counts = Counter(texts)
    unique_text = np.array([counts[text] == 1 for text in texts])
    tested = []
    for seed in range(DEV_SEEDS):
        seeded = TaskConfig(
            name=task.name,
            sampling="balanced",
            train_per_label=read_train,
            test_per_label=read_test,
            seed=seed,
        )
        for label in range(task.num_labels):
            tested.append(_first(task, seed, label, unique_text, read_train, read_test)[1])
            # too few fresh examples: no confirmation sample can exist
            with contextlib.suppress(TinylmError):
                tested.append(_confirmation_test(task, seeded, label, unique_text))
    held = {texts[i] for i in np.concatenate(tested)}
    return [text for text in texts if text not in held]
