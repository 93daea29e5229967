"""Kinds of job: what the store does with each, looked up by the job's `kind`.

The engine runs every job through this registry, so it knows no study. The four kinds every
study builds through JobFactory (corpus, pretrain, finetune, baseline) are registered here; a
study with a kind of its own registers it in the module that defines its config class
(committee/timing.py), so any process holding such a job has imported its kind.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tinylm.errors import TinylmError
from tinylm.files import write_json
from tinylm.study.corpora import CORPUS_FILE
from tinylm.study.naming import arch_label, corpus_label, corpus_name, recipe_name, subset_label
from tinylm.train.pretrain import snapshot_path

# --dry-run's estimates of the kinds that do not train
BASELINE_SECONDS = 2.0  # a TF-IDF fit on a few thousand texts
CORPUS_SECONDS = 30.0  # building a corpus for a task (a greedy selection: 20 to 45 s on 2 cores)


def _init_key(job) -> dict:
    # absent without a start: the keys of random-subset pre-trainings stay as they were
    return {"init": job.init.key} if job.init is not None else {}


@dataclass(frozen=True)
class JobKind:
    name: str
    rank: int  # jobs run by rank: a kind after the kinds its jobs start from
    # (job, folder, store) -> its summary, with summary.json written last (the job is done)
    execute: Callable[..., dict]
    label: Callable[..., list]  # (job) -> the readable parts of its folder name
    describe: Callable[..., str]  # (job) -> one line of the study's log
    outcome: Callable[[dict], str]  # (summary) -> its headline figure
    # (job) -> what its key holds beyond the config: what it starts from, fixed settings
    key_inputs: Callable[..., dict] = _init_key
    seconds: float | None = None  # --dry-run: a fixed estimate (None: costed from its FLOPs)
    alone: bool = False  # it measures the machine: run last, never beside another job
    # it trains a network: with --devices it runs on a device of its own (one job per device);
    # a job that needs none (corpus building, TF-IDF) runs beside those
    device: bool = False


KINDS: dict[str, JobKind] = {}


def register_kind(kind: JobKind) -> JobKind:
    if KINDS.get(kind.name, kind) is not kind:
        raise TinylmError(f"two job kinds are named {kind.name!r}")
    KINDS[kind.name] = kind
    return kind


def job_kind(name: str) -> JobKind:
    if name not in KINDS:
        raise TinylmError(f"unknown job kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]


def _training_options(store, folder: Path) -> dict:
    return {
        "out": folder,
        "data_dir": store.data_dir,
        "cache_dir": store.cache_dir,
        "resume": True,
        "progress": store.progress,
    }


def _build_corpus(job, folder: Path, store) -> dict:
    from tinylm.study.corpora import build_corpus
    from tinylm.tokenizer import load_tokenizer

    summary = build_corpus(
        job.config,
        folder,
        data_dir=store.data_dir,
        cache_dir=store.cache_dir,
        tokenizer=load_tokenizer(store.data_dir),
    )
    write_json(folder / "summary.json", summary)
    return summary


def _corpus_outcome(summary: dict) -> str:
    return (
        f"{summary['paragraphs']:,} paragraphs, {summary['corpus_tokens']:,} tokens, "
        f"{summary['missing_types']:,} task types missing "
        f"(random: {summary['random']['missing_types']:,})"
    )


def _pretrain_outcome(summary: dict) -> str:
    """The training loss, and the validation loss with a word when it is still on the unigram
    plateau (such a model makes fine-tuning worse; train/validation.py)."""
    text = f"loss {summary['final_loss']:.4f}"
    if summary.get("val_loss") is None:
        return text
    text += f", validation {summary['val_loss']:.3f}"
    if summary.get("plateau"):
        context_free = summary["plateau_loss"]
        text += f" (not past the unigram plateau: ignoring context scores {context_free:.2f})"
    return text


def _pretrain(job, folder: Path, store) -> dict:
    from tinylm.train.pretrain import pretrain

    config = dataclasses.replace(job.config, impl=store.impl_for(job))
    if job.init is not None:  # the built corpus, read from its job's folder
        built = str(store.path(job.init) / CORPUS_FILE)
        config = dataclasses.replace(config, corpus=dataclasses.replace(config.corpus, name=built))
    return pretrain(config, **_training_options(store, folder))


def _pretrain_start(job, task: str | None = None) -> list:
    """What a pre-training reads: a random subset's size, or the corpus built for a task
    (named unless it is `task`, the fine-tuning's)."""
    if job.init is None:
        return subset_label(job.config.corpus)
    return corpus_label(job.init.config, task)


def _pretrain_label(job) -> list:
    return [arch_label(job.config.arch), *_pretrain_start(job), f"s{job.config.train.seed}"]


def _finetune(job, folder: Path, store) -> dict:
    from tinylm.train.finetune import finetune

    init = None
    if job.init is not None:
        init = store.path(job.init)
        if job.snapshot is not None:
            init = snapshot_path(init, job.snapshot)
    config = dataclasses.replace(
        job.config, impl=store.impl_for(job), init=None if init is None else str(init)
    )
    return finetune(config, **_training_options(store, folder))


def _finetune_label(job) -> list:
    config, start = job.config, ["scratch"]
    if job.init is not None:
        start = _pretrain_start(job.init, config.task.name)
        if job.init.config.train.seed != config.train.seed:  # (no study of the paper's does it)
            start.append(f"from-s{job.init.config.train.seed}")
        if job.snapshot is not None:
            start.append(f"tok{job.snapshot}")
    return [
        config.task.name,
        arch_label(config.arch),
        *start,
        f"s{config.train.seed}",
        *_split_label(config.task),
    ]


def _split_label(task) -> list:
    """`confirm` for a job on the confirmation split, `labelsN` for one on N of the task's
    labels (a development job on every label keeps its name)."""
    kept = [] if task.labels is None else [f"labels{task.labels}"]
    return kept + ([] if task.split == "dev" else [task.split])


def _on_split(task) -> str:
    kept = "" if task.labels is None else f" ({task.labels} labels)"
    return kept + (" (confirmation split)" if task.split == "confirm" else "")


def _describe_finetune(job) -> str:
    start = "from scratch" if job.init is None else f"from the {corpus_name(job.init)} model"
    if job.snapshot is not None:
        start += f" after {job.snapshot:,} tokens"
    task = job.config.task
    return f"finetune {task.name} seed={job.config.train.seed} {start}{_on_split(task)}"


def _baseline(job, folder: Path, store) -> dict:
    from tinylm.study.baseline import tfidf_baseline

    summary = tfidf_baseline(job.config, store.data_dir, run=folder)
    write_json(folder / "summary.json", summary)
    return summary


def _baseline_model(job) -> dict:
    from tinylm.study.baseline import CLASSIFIER, VECTORIZER

    return {"model": {"vectorizer": VECTORIZER, "classifier": CLASSIFIER}}


def _accuracy(summary: dict) -> str:
    return f"accuracy {summary['test_accuracy']:.4f}"


CORPUS = JobKind(
    name="corpus",
    rank=0,
    execute=_build_corpus,
    label=lambda job: [*corpus_label(job.config), f"s{job.config.task.seed}"],
    describe=lambda job: f"corpus {recipe_name(job.config)} seed={job.config.task.seed}",
    outcome=_corpus_outcome,
    seconds=CORPUS_SECONDS,
)
PRETRAIN = JobKind(
    name="pretrain",
    rank=1,
    execute=_pretrain,
    label=_pretrain_label,
    describe=lambda job: f"pretrain {corpus_name(job)} seed={job.config.train.seed}",
    outcome=_pretrain_outcome,
    device=True,
)
FINETUNE = JobKind(
    name="finetune",
    rank=2,
    execute=_finetune,
    label=_finetune_label,
    describe=_describe_finetune,
    outcome=_accuracy,
    # a fine-tuning from scratch holds `init: None` in its key
    key_inputs=lambda job: {"init": job.init.key if job.init is not None else None},
    device=True,
)
BASELINE = JobKind(
    name="baseline",
    rank=3,
    execute=_baseline,
    label=lambda job: ["tfidf", job.config.name, f"s{job.config.seed}", *_split_label(job.config)],
    describe=lambda job: f"tfidf {job.config.name} seed={job.config.seed}{_on_split(job.config)}",
    outcome=_accuracy,
    key_inputs=_baseline_model,
    seconds=BASELINE_SECONDS,
)
for _kind in (CORPUS, PRETRAIN, FINETUNE, BASELINE):
    register_kind(_kind)
