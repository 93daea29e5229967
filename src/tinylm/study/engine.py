"""The study engine: jobs, their keys, the run store, and running with resume.

A job is one built corpus, pre-training, fine-tuning, baseline or timing run. Its key is the
hash of everything that determines its result: the resolved config without the implementation
section; for a job that trains a network, the device type and the resolved precision it trains
at (Execution: training amplifies rounding, and bf16 and fp32 runs of one config differed by up
to 4.7 points of test accuracy); and for a job that starts from another's output (a fine-tuning
from its pre-trained model, a pre-training on a built corpus) that job's key rather than a path.
Jobs live in the store (`runs/` by default) in folders named for people, `<kind>-<what it
is>-<start of key>/` (naming.py; a store made before these names has `<kind>-<key>/`, used
where it is), and a job is done when its summary.json exists. Every study and task that needs
a job finds it there, so a pre-trained model is made once; an interrupted job goes on from its
last checkpoint, and a finished one is never run again (so its checkpoints are removed: a
finished job keeps its model, summary and logs). What each kind of job runs is looked up in the
registry of kinds.py: the engine knows no study.
"""

import dataclasses
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from tinylm.config import (
    Config,
    CorpusConfig,
    ImplConfig,
    ModelConfig,
    TaskConfig,
)
from tinylm.errors import TinylmError
from tinylm.files import write_json
from tinylm.lock import FolderLock
from tinylm.model.architectures import resolve_architecture
from tinylm.provenance import machine_name, torch_version
from tinylm.study.corpora import CORPUS_FILE, CorpusRecipe
from tinylm.study.kinds import job_kind
from tinylm.study.naming import KEY_CHARS, folder_name
from tinylm.study.presets import Preset
from tinylm.train.checkpoint import list_checkpoints, remove_checkpoints
from tinylm.train.config import FinetuneConfig, PretrainConfig

# Bump when the meaning of a key's inputs changes. 2: training jobs' keys hold their Execution
# (a store of format 1 stays readable, by `tinylm runs`, but its jobs are not reused).
KEY_FORMAT = 2
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class Execution:
    """What of how a training job runs changes its numbers: the device type (cpu or cuda) and
    the resolved precision (fp32 or bf16, never auto)."""

    device: str = "cpu"
    precision: str = "fp32"

    def __post_init__(self):
        if self.device not in ("cpu", "cuda") or self.precision not in PRECISIONS:
            raise TinylmError(f"no such execution: device {self.device}, {self.precision}")

    @classmethod
    def resolve(cls, impl: ImplConfig, preset_precision: str | None = None) -> "Execution":
        """The execution of `impl` on this machine: its precision when named, else the preset's
        (the precision its committed results use), else `auto`'s choice here."""
        from tinylm.train.runtime import resolve_device, resolve_precision

        asked = impl.precision if impl.precision != "auto" else preset_precision or "auto"
        if impl.device != "auto" and asked != "auto":  # (a Ray driver need not have the GPU)
            return cls(torch.device(impl.device).type, asked)
        device = resolve_device(impl.device)
        return cls(device.type, resolve_precision(asked, device)[0])

    def to_dict(self) -> dict:
        return {"device": self.device, "precision": self.precision}


@dataclass(frozen=True)
class Job:
    kind: str  # a registered kind (kinds.py): corpus | pretrain | finetune | baseline | timing
    config: Config  # CorpusRecipe, PretrainConfig, FinetuneConfig, TaskConfig or TimingConfig
    # what the job starts from: a fine-tuning's pre-trained model (None: from scratch), a
    # pre-training's built corpus (None: a random subset named by its config)
    init: "Job | None" = None
    # a fine-tuning from a snapshot of its pre-training (the model after this many tokens
    # read) rather than from its final model (budget study)
    snapshot: int | None = None
    # how a job that trains a network runs (None for the kinds that train none)
    execution: Execution | None = None

    @cached_property
    def identity(self) -> dict:
        """What determines the job's result (its key's inputs)."""
        values = self.config.result_dict()  # what only measures a run never enters its key
        values.pop("impl", None)
        values.update(job_kind(self.kind).key_inputs(self))
        if self.snapshot is not None:  # absent otherwise: other fine-tunings keep their keys
            values["snapshot"] = self.snapshot
        if job_kind(self.kind).device:
            if self.execution is None:
                raise TinylmError(f"a {self.kind} job needs its execution (device, precision)")
            values["execution"] = self.execution.to_dict()
        return {"kind": self.kind, "format": KEY_FORMAT, "config": values}

    @property
    def precision(self) -> str | None:
        """fp32 or bf16 for a job that trains a network, else None."""
        return self.execution.precision if self.execution is not None else None

    @cached_property
    def key(self) -> str:
        blob = json.dumps(self.identity, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def name(self) -> str:
        """`<kind>-<key>`: the job's name in other jobs' keys (a timing job's members), and
        its folder in stores made before folders had readable names."""
        return f"{self.kind}-{self.key}"

    @cached_property
    def folder(self) -> str:
        """Its folder's name in a new store: what it is, then the start of its key."""
        return folder_name(self.kind, job_kind(self.kind).label(self), self.key)


@dataclass(frozen=True)
class Cell:
    """One row of a study's results: its parameters (task, arm, Ws, seed) and the job that
    produces its figures."""

    params: dict
    job: Job


class JobFactory:
    """The jobs of one preset: every study builds its jobs here, so equal jobs get equal keys.
    Its training jobs run as `execution` says (the study runner resolves it on the machine;
    the default, fp32 on a CPU, is how the committed `cpu` results were made)."""

    def __init__(self, preset: Preset, vocab_size: int, execution: Execution = Execution()):
        self.preset = preset
        self.execution = execution
        # Named architectures carry BERT's vocabulary size; a data directory with another
        # vocabulary gets the same architecture at its own size.
        self.vocab_size = vocab_size
        self.arch = self.architecture(preset.arch)

    def architecture(self, spec: str | dict | None = None) -> ModelConfig:
        """A named (or mapped) architecture at this vocabulary's size; None: the preset's."""
        if spec is None:
            return self.arch
        return dataclasses.replace(resolve_architecture(spec), vocab_size=self.vocab_size)

    def pretrain(
        self,
        ws: int,
        seed: int,
        arch: str | dict | None = None,
        snapshots: tuple = (),
        changes: dict | None = None,
        corpus: CorpusConfig | None = None,
    ) -> Job:
        """Pre-training on the random subset of size `ws` (or on `corpus`: the source study's
        task texts and mixtures); with `snapshots` (token counts), a run of the largest budget
        that keeps the model at each (budget study); `changes` are a study's own over the
        preset's pre-training (overlap_pretrain, committee_pretrain)."""
        preset = self.preset
        train, recipe = preset.pretrain_settings(seed, changes)
        if snapshots:
            train = dataclasses.replace(train, max_tokens=max(snapshots))
        config = PretrainConfig(
            arch=self.architecture(arch),
            corpus=corpus or CorpusConfig(name=preset.corpus, ws=ws, seed=preset.corpus_seed),
            train=train,
            snapshots=tuple(snapshots),
            **recipe,
        )
        return Job("pretrain", config, execution=self.execution)

    def corpus(self, method: str, task: str, seed: int, ws: int, **options) -> Job:
        """A corpus built from the random subset of size `ws` against the task sample of
        `seed` (study/corpora.py)."""
        preset = self.preset
        pool = CorpusConfig(name=preset.corpus, ws=ws, seed=preset.corpus_seed)
        recipe = CorpusRecipe(method=method, pool=pool, task=self.task(task, seed), **options)
        return Job("corpus", recipe)

    def pretrain_on(self, corpus: Job, seed: int, changes: dict | None = None) -> Job:
        """Pre-training on a built corpus: all of it, in the order of the preset's seed."""
        train, recipe = self.preset.pretrain_settings(seed, changes)
        config = PretrainConfig(
            arch=self.arch,
            corpus=CorpusConfig(name=CORPUS_FILE, ws=None, seed=self.preset.corpus_seed),
            train=train,
            **recipe,
        )
        return Job("pretrain", config, corpus, execution=self.execution)

    def task(
        self,
        name: str,
        seed: int,
        split: str = "dev",
        val_fraction: float = 0.0,
        labels: int | None = None,
    ) -> TaskConfig:
        """The task sample of `seed`; `split` confirm: its confirmation split (data/sampling.py),
        at the preset's confirm_test size where it gives one; `val_fraction`: the share of the
        train sample carved out for validation (the committee study's, which selects on it);
        `labels`: that many of the task's labels (the labels study; None: all)."""
        train, test = self.preset.sizes.get(name, (None, None))
        if split == "confirm":
            test = self.preset.confirm_test.get(name, test)
        return TaskConfig(
            name=name,
            train_per_label=train,
            test_per_label=test,
            seed=seed,
            split=split,
            val_fraction=val_fraction,
            labels=labels,
        )

    def finetune(
        self,
        task: str,
        seed: int,
        init: Job | None,
        arch: str | dict | None = None,
        snapshot: int | None = None,
        changes: dict | None = None,
        split: str = "dev",
        val_fraction: float = 0.0,
        labels: int | None = None,
    ) -> Job:
        """Fine-tuning from `init` (None: from scratch); `changes` are a study's own over the
        preset's fine-tuning (overlap_finetune, committee_finetune); `split`: the task's test
        sample (dev, or confirm); `val_fraction` and `labels`: see `task` (0 and None: the
        keys of fine-tunings without them, as before)."""
        # The whole train sample trains (less the validation split `val_fraction` carves),
        # and the last epoch's accuracy is reported (the paper's protocol, without its reading
        # of the test split after every epoch).
        section = "finetune" if init is not None else "finetune_scratch"
        config = FinetuneConfig(
            task=self.task(task, seed, split, val_fraction, labels),
            arch=self.architecture(arch),
            select="last",
            **self.preset.finetune_settings(section, seed, changes),
        )
        return Job("finetune", config, init, snapshot, self.execution)

    def baseline(self, task: str, seed: int, split: str = "dev", labels: int | None = None) -> Job:
        return Job("baseline", self.task(task, seed, split, labels=labels))


class Store:
    """The folder of job runs, and how to run a job into it."""

    def __init__(
        self,
        root: str | Path,
        *,
        data_dir: Path,
        cache_dir: Path,
        impl: ImplConfig | None = None,
        progress: bool = True,
        origin: dict | None = None,
        slot: int | None = None,
    ):
        self.root = Path(root)
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.impl = impl or ImplConfig()
        self.progress = progress
        self.origin = origin or {}  # the command and commit that run jobs, kept in job.json
        self.slot = slot  # the device slot of --devices its jobs are placed on (devices.py)

    def derive(self, **changes) -> "Store":
        """The same store, run another way (impl, progress, slot): for a worker process."""
        fields = {
            "data_dir": self.data_dir,
            "cache_dir": self.cache_dir,
            "impl": self.impl,
            "progress": self.progress,
            "origin": self.origin,
            "slot": self.slot,
        }
        return Store(self.root, **{**fields, **changes})

    def path(self, job: Job) -> Path:
        """The job's folder: its readable name, unless the store already holds the job under
        another name (see `find`)."""
        readable = self.root / job.folder
        return readable if readable.is_dir() else self.find(job.name) or readable

    def find(self, name: str) -> Path | None:
        """The folder of the job named `name` (Job.name) if the store has one: `<kind>-<key>`
        in stores made before readable names, else `<kind>-...-<start of key>` (a readable
        name, whatever rule named it)."""
        legacy = self.root / name
        if legacy.is_dir():
            return legacy
        kind, key = name.rsplit("-", 1)
        return next(self.root.glob(f"{kind}-*-{key[:KEY_CHARS]}"), None)

    def impl_for(self, job: Job) -> ImplConfig:
        """How the job runs here: the store's implementation at the job's precision, on its
        device type when the store's device is `auto` (a cuda job on a machine without a GPU
        stops at once rather than training on the CPU under a cuda key)."""
        if job.execution is None:
            return self.impl
        device = job.execution.device if self.impl.device == "auto" else self.impl.device
        if torch.device(device).type != job.execution.device:
            raise TinylmError(
                f"{job.folder} trains on {job.execution.device} (its key says so), but this "
                f"store runs on {device}"
            )
        return dataclasses.replace(self.impl, device=device, precision=job.execution.precision)

    def done(self, job: Job) -> bool:
        return (self.path(job) / "summary.json").is_file()

    def summary(self, job: Job) -> dict:
        return json.loads((self.path(job) / "summary.json").read_text())

    def job_info(self, job: Job) -> dict:
        """job.json: the key's inputs, the wall time spent, and the command that ran it."""
        info = self.path(job) / "job.json"
        return json.loads(info.read_text()) if info.is_file() else {}

    def status(self, job: Job) -> str:
        if self.done(job):
            return "cached"
        checkpoints = list_checkpoints(self.path(job))
        if checkpoints:
            return f"partial ({checkpoints[-1].name})"
        return "to run"

    def run(self, job: Job) -> dict:
        """The job's summary: read when it is done, else computed (resuming a partial run)."""
        if self.done(job):
            return self.summary(job)
        if job.init is not None and not self.done(job.init):
            raise TinylmError(f"{job.folder} needs {job.init.folder}, which has not run")
        path = self.path(job)
        path.mkdir(parents=True, exist_ok=True)
        with FolderLock(path):  # another study running the same job: refused, not doubled
            if self.done(job):  # it finished while this process was getting here
                return self.summary(job)
            before = self.job_info(job)
            spent = before.get("seconds", 0.0)  # time spent before an interruption
            # Each attempt at the job: where it ran, and whether it finished (a killed one
            # stays unfinished, and the next resumes from its last checkpoint).
            attempts = [*before.get("attempts", []), self._attempt(job)]

            def record(seconds: float) -> None:
                info = {
                    **job.identity,
                    "key": job.key,
                    "seconds": seconds,
                    "attempts": attempts,
                    **self.origin,
                }
                write_json(path / "job.json", info)

            record(spent)
            start = time.perf_counter()
            summary = self._execute(job, path)
            attempts[-1]["finished"] = True
            record(spent + time.perf_counter() - start)
            remove_checkpoints(path)  # (a kill just before this leaves them: disk, not harm)
            return summary

    def _attempt(self, job: Job) -> dict:
        device = self.impl_for(job).device
        attempt = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "device": device,
            "machine": machine_name(device.split(":")[0] if device != "auto" else "cpu"),
            "torch": torch_version(),
        }
        if self.slot is not None:
            attempt["slot"] = self.slot
        return {**attempt, "finished": False}

    def _execute(self, job: Job, path: Path) -> dict:
        return job_kind(job.kind).execute(job, path, self)


def unique_jobs(jobs) -> list[Job]:
    """Each job once, every job after the jobs it starts from."""
    seen: dict[str, Job] = {}
    for job in jobs:
        while job is not None:
            seen.setdefault(job.key, job)
            job = job.init
    return sorted(seen.values(), key=lambda job: job_kind(job.kind).rank)
