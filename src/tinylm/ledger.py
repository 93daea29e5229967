"""The test ledger: a line for every time anything scores a test split.

A test split measures a result only while nothing has been chosen by it. Whoever reads one
(fine-tuning's final score and its per-epoch curve, `tinylm evaluate`, `tinylm committee`, the
TF-IDF baseline, the committee study's scoring, the scripts) appends a line to
`test-ledger.jsonl` in the store of the run that read it: the folder that holds the run's
folder (`runs/` for a study's jobs and for `tinylm finetune --out runs/x`). So a figure can say
how many times its test sample had been read before the run that produced it: a study's
results.csv carries `test_sample` and `test_reads` for each row, and report.md sums them up.

A line holds the task; the sample: its seed, its sizes and a hash of its test examples' ids
(the same sample hashes alike whichever command drew it); the run (its folder; a committee:
its members' folders); what read it; the UTC time and the commit. Each line is one write to a
file opened O_APPEND, so processes that read at once (a study's workers) never interleave; a
store that cannot be written (read-only) gets one warning and the run goes on.
"""

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from tinylm.provenance import git_commit

LEDGER_FILE = "test-ledger.jsonl"
# A sample's sizes as its (resolved) TaskConfig holds them, where set
SIZE_FIELDS = ("sampling", "train_per_label", "test_per_label", "train_size", "test_size")

_warned: set[Path] = set()


def sample_hash(split) -> str:
    """16 hex digits of sha256 over a split's pool and its examples' sorted positions there:
    the identity of the examples read, whatever order or command drew them."""
    ids = ",".join(map(str, sorted(int(i) for i in split.pool_index)))
    return hashlib.sha256(f"{split.pool}:{ids}".encode()).hexdigest()[:16]


def sample_identity(sample) -> dict:
    """The task and test sample of a TaskSample (data/sampling.py), as a line names them."""
    config = sample.config
    sizes = {name: getattr(config, name, None) for name in SIZE_FIELDS}
    return {
        "task": sample.task.name,
        "seed": config.seed,
        "sample": sample_hash(sample.test),
        "examples": len(sample.test.pool_index),
        "sizes": {name: value for name, value in sizes.items() if value is not None},
    }


def run_folder(path: str | os.PathLike) -> Path:
    """The run a model was read from: a run's model/ folder belongs to the run around it."""
    path = Path(os.path.abspath(path))
    if path.name == "model" and (path.parent / "config.yaml").is_file():
        return path.parent
    return path


def record_read(run, sample, reader: str, **details) -> dict:
    """Appends one reading of `sample`'s test split by `reader` (finetune, evaluate, a script's
    name...) to the ledger of the store of `run` (a run or model folder; a list of them for a
    committee, in each of their stores); `details` add to the line (a per-epoch read's epoch).
    Returns the line."""
    runs = [run] if isinstance(run, str | os.PathLike) else list(run)
    folders = [run_folder(r) for r in runs]
    line = {
        **sample_identity(sample),
        "run": str(folders[0]) if len(folders) == 1 else [str(f) for f in folders],
        "reader": reader,
        **details,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": git_commit(),
    }
    for store in dict.fromkeys(folder.parent for folder in folders):
        _append(store / LEDGER_FILE, line)
    return line


def _append(path: Path, line: dict) -> None:
    """One line in one write, O_APPEND: concurrent appends land whole, one after another."""
    data = (json.dumps(line) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            written = os.write(fd, data)
            while written < len(data):  # a short write (a full disk, a signal): the rest
                written += os.write(fd, data[written:])
        finally:
            os.close(fd)
    except OSError as err:
        if path not in _warned:
            _warned.add(path)
            print(
                f"tinylm: warning: cannot write the test ledger {path} ({err.strerror}); "
                "this process's test reads go unrecorded",
                file=sys.stderr,
            )


_cache: dict[Path, tuple[tuple, list[dict]]] = {}


def read_ledger(store: str | os.PathLike) -> list[dict]:
    """The lines of a store's ledger, in the order they were appended ([] without one). Read
    once per change of the file: a study asks for every row."""
    path = Path(store) / LEDGER_FILE
    try:
        stat = path.stat()
    except OSError:
        return []
    stamp = (stat.st_size, stat.st_mtime_ns)
    if path in _cache and _cache[path][0] == stamp:
        return _cache[path][1]
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:  # a line cut by a crash: not a read to count
            continue
    _cache[path] = (stamp, lines)
    return lines


def _identity(line: dict) -> tuple:
    return line.get("task"), line.get("sample")


def reads_so_far(store: str | os.PathLike, sample) -> int:
    """How many times the store's ledger says `sample`'s test split was read until now."""
    identity = (sample.task.name, sample_hash(sample.test))
    return sum(_identity(line) == identity for line in read_ledger(store))


def row_columns(store: str | os.PathLike, folder: str | os.PathLike) -> dict:
    """A study row's `test_sample` (the hash of the test sample its job read) and `test_reads`
    (how many reads of that sample the ledger holds before the job's own first one); None
    for a job that left no line (run before the ledger, or reading no test split)."""
    lines = read_ledger(store)
    name = Path(folder).name
    for position, line in enumerate(lines):
        if isinstance(line.get("run"), str) and Path(line["run"]).name == name:
            before = sum(_identity(other) == _identity(line) for other in lines[:position])
            return {"test_sample": line.get("sample"), "test_reads": before}
    return {"test_sample": None, "test_reads": None}


def report_reads(rows: list[dict]) -> str:
    """report.md's words on a study's rows: per task, how many times its test sample had been
    read before the runs they report (the least and the most over its rows), or `not recorded`
    for rows made before the ledger (no `test_reads`). A task's rows on its confirmation split
    (a `split` column) are counted apart from its development rows."""
    by_task: dict[str, list] = {}
    for row in rows:
        if row.get("task") is not None:
            split = row.get("split")
            task = row["task"] + (f" ({split})" if split not in (None, "dev") else "")
            by_task.setdefault(task, []).append(row.get("test_reads"))
    parts = []
    for task, counts in by_task.items():
        known = [int(count) for count in counts if count is not None]
        if not known:
            parts.append(f"{task} not recorded")
            continue
        low, high = min(known), max(known)
        text = f"{task} {low}" if low == high else f"{task} {low}–{high}"
        missing = len(counts) - len(known)
        parts.append(text + (f" ({missing} rows not recorded)" if missing else ""))
    return "test samples read before these runs: " + (", ".join(parts) or "no rows")
