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
from tinylm.errors import TinylmError
from tinylm.files import atomic_open
from tinylm.provenance import git_commit

# Every study's rows have these columns; a study's own (Study.columns) go between the two.
HEAD_COLUMNS = (
    "study",
    "preset",
    "task",
    "arm",  # pretrained | scratch | tfidf; committee: member | candidate | reference | committee
    "arch",
    "ws",  # the pre-training corpus size (empty for scratch and tfidf)
    # the pre-trained arm's: random | custom | ablation | reverse-more | reverse-fewer; the
    # source study's wikipedia | task_text | mix
    "corpus",
    "seed",
    "test_accuracy",
    "test_macro_f1",
    "labels",
    "train_examples",
    "test_examples",
    "finetune_epochs",
    "finetune_lr",
    "finetune_steps",
    "pretrain_lr",
    "pretrain_steps",
    "corpus_tokens",  # the pre-training corpus subset's size (one epoch)
    "tokens_read",  # what the pre-training read: its budget
    "epochs_read",  # tokens_read over corpus_tokens
    "pretrain_loss",  # the pre-training's last training loss
    # the model the pre-trained arm starts from, on held-out paragraphs: has it left the plateau
    # (the loss of a model that ignores context)?
    "val_loss",
    "val_accuracy",
    "plateau_loss",
)
TAIL_COLUMNS = (
    "seconds",  # wall time of this run's job (the fine-tuning, or the baseline fit)
    "pretrain_seconds",
    "job",  # the run folder in the store
    "pretrain_job",
    # the test sample the run read (a hash of its examples' ids) and how many times the store's
    # test ledger says it had been read before this run (tinylm/ledger.py)
    "test_sample",
    "test_reads",
    # how the run's network trained (empty for TF-IDF): a table holds one precision
    "precision",  # fp32 | bf16 (unknown: a row made before runs recorded it)
    "device",  # cpu | cuda
    "torch",
    "machine",  # the CPU's or GPU's name
    "commit",
    "command",
)
TEXT_COLUMNS = frozenset(
    {
        *("study", "preset", "task", "arm", "arch", "corpus", "job", "pretrain_job"),
        "test_sample",  # hex digits, which may read as a number
        *("precision", "device", "torch", "machine", "commit", "command"),
    }
)


def columns(own: tuple[str, ...]) -> tuple[str, ...]:
    """The columns of a study's results.csv, given the study's own."""
    return (*HEAD_COLUMNS, *own, *TAIL_COLUMNS)


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


def write_rows(path: Path, rows: list[dict], fields: tuple[str, ...]) -> None:
    with atomic_open(path) as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in fields})


def read_rows(path: Path, text_columns: frozenset[str] = frozenset()) -> list[dict]:
    """The rows of a results.csv, whichever study's columns it has (older files have every
    study's): cells of the common text columns and of `text_columns` (the study's) are text,
    other cells numbers where they read as numbers, and empty cells None."""
    text = TEXT_COLUMNS | text_columns
    with open(path, newline="", encoding="utf-8") as f:
        return [
            {k: (v if k in text and v else _value(v)) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def trained_rows(rows: list[dict]) -> list[dict]:
    """The rows of a trained network's run (a fine-tuning's job), whose precision matters: not
    TF-IDF's, not a committee's (scored from its members' rows)."""
    return [row for row in rows if str(row.get("job") or "").startswith("finetune")]


def row_precision(row: dict) -> str:
    return row.get("precision") or "unknown"


def by_precision(rows: list[dict]) -> dict[str, list[dict]]:
    """The trained rows of each precision (unknown: rows made before runs recorded it)."""
    groups: dict[str, list[dict]] = {}
    for row in trained_rows(rows):
        groups.setdefault(row_precision(row), []).append(row)
    return groups


def describe_precision(rows: list[dict]) -> str:
    """The precisions of a table's trained rows in words, saying so when they mix."""
    groups = by_precision(rows)
    if not groups:
        return "no network trained"
    text = " and ".join(f"{name} ({len(group)} runs)" for name, group in sorted(groups.items()))
    if len(groups) > 1:
        text += ": **mixed precisions**, to be re-run at one"
    return text


def check_one_precision(rows: list[dict], path: Path) -> None:
    """Refuses a table of rows trained at two precisions: rounding that training amplifies
    moved test accuracies by up to 4.7 points between bf16 and fp32 runs of one config."""
    groups = by_precision(rows)
    if len(groups) > 1:
        minority = min(groups, key=lambda name: len(groups[name]))
        named = ", ".join(row["job"] for row in groups[minority][:3])
        counts = ", ".join(f"{len(group)} {name}" for name, group in sorted(groups.items()))
        raise TinylmError(
            f"{path} would hold rows of two precisions ({counts}): the {minority} ones are "
            f"{named}{', ...' if len(groups[minority]) > 3 else ''}; write to another --out, or "
            "re-run those rows at one precision (--precision)"
        )


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else ""
    return value


def _value(text: str):
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return text  # a study's own text column, read without its study
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
