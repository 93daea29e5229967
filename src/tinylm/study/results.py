"""A study's outputs: results.csv (one row per run), provenance, and the claims of report.md.

Tables, plots and claims are always computed from results.csv as read back from disk, so
`tinylm study report` rebuilds them from the committed files alone.
"""

import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

from tinylm import __version__
from tinylm.files import atomic_open
from tinylm.provenance import git_commit

# the pre-training corpus against the task sample (overlap study; analysis/overlap.py)
OVERLAP_COLUMNS = (
    "missing_types",
    "missing_tokens",
    "type_overlap",
    "weighted_overlap",
    "reverse_missing_share",
    "corpus_tokens",
)
# the timing of a model or committee on this machine (committee study)
TIMING_COLUMNS = (
    "flops_per_example",
    "latency_ms",
    "latency_ms_p90",
    "latency_ms_sequential",
    "latency_ms_sequential_p90",
    "throughput_per_s",
    "throughput_per_s_sequential",
    "timed_on",  # the CPU (or GPU) and threads per model
)
COLUMNS = (
    "study",
    "preset",
    "task",
    "arm",  # pretrained | scratch | tfidf; committee: member | candidate | reference | committee
    "arch",
    "ws",  # the pre-training corpus size (empty for scratch and tfidf)
    "corpus",  # random | custom | ablation | reverse-more | reverse-fewer (pre-trained arm)
    "removed",  # ablation: task types removed from the corpus
    "seed",
    "test_accuracy",
    "test_macro_f1",
    "labels",
    "train_examples",
    "test_examples",
    "finetune_epochs",
    "finetune_lr",
    "finetune_steps",
    "pretrain_epochs",
    "pretrain_lr",
    "pretrain_steps",
    "pretrain_tokens",
    "pretrain_loss",
    *OVERLAP_COLUMNS,
    # committee study: the members of a committee ("+"-joined; a model's own name), their
    # number, and the timing of the model or committee
    "members",
    "size",
    *TIMING_COLUMNS,
    "seconds",  # wall time of this run's job (the fine-tuning, or the baseline fit)
    "pretrain_seconds",
    "job",  # the run folder in the store
    "pretrain_job",
    "corpus_job",  # the built corpus's folder in the store
    "commit",
    "command",
)
TEXT_COLUMNS = {
    "study",
    "timed_on",
    "preset",
    "task",
    "arm",
    "arch",
    "corpus",
    "members",
    "job",
    "pretrain_job",
    "corpus_job",
    "commit",
    "command",
}


@dataclass(frozen=True)
class Provenance:
    command: str
    commit: str
    date: str

    def line(self) -> str:
        return f"Produced by `{self.command}` at commit {self.commit} on {self.date}."


def provenance(command: str) -> Provenance:
    commit = git_commit() or f"tinylm {__version__} (no git checkout)"
    return Provenance(command, commit, time.strftime("%Y-%m-%d", time.gmtime()))


def write_rows(path: Path, rows: list[dict]) -> None:
    with atomic_open(path) as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return [
            {k: (v if k in TEXT_COLUMNS and v else _number(v)) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else ""
    return value


def _number(text: str):
    if text == "":
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


@dataclass(frozen=True)
class Claim:
    study: str
    claim: str
    paper: str
    ours: str
    verdict: str  # holds | does not hold | inconclusive | not tested


def verdict_from_sign(sign: int) -> str:
    return {1: "holds", -1: "does not hold", 0: "inconclusive"}[sign]
