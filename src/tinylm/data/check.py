"""`tinylm data check`: what the data directory holds, and whether the default studies can run.

Each dataset is reported with the counts of its files (rows, labels, relations, paragraphs)
and a status: complete, partial, substitute, missing or broken. The verdict is "usable" when
the tokenizer and the Wikipedia corpus load, and the default sample of each study task can be
drawn: agnews, dbpedia, and fewrel or, failing it, fewrel-val. The verdict is found by running
the same loaders and sampler the studies use, so it cannot disagree with them.
"""

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np

from tinylm import layout
from tinylm.config import TaskConfig
from tinylm.data.io import iter_jsonl
from tinylm.data.needs import NEEDS
from tinylm.data.sampling import sample_task
from tinylm.data.tasks import TASKS, TaskData, deduplicate
from tinylm.errors import TinylmError
from tinylm.tokenizer import load_tokenizer

CANONICAL_VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
# the default studies' task slots, each with its alternatives in the registry's order
STUDY_TASKS = tuple(
    tuple(name for name, spec in TASKS.items() if spec.study_slot == slot)
    for slot in dict.fromkeys(spec.study_slot for spec in TASKS.values())
    if slot is not None
)


def check_data(data_dir: Path) -> dict:
    """The report as a dict (printed as JSON by `--json`); see `format_report` for text."""
    datasets = {
        "tokenizer": _check_tokenizer(data_dir),
        "wikipedia": _check_wikipedia(data_dir),
    }
    for name in TASKS:
        datasets[name] = _check_task(data_dir, name)

    reasons = [
        f"{name}: {datasets[name]['problem']}"
        for name in ("tokenizer", "wikipedia")
        if not datasets[name]["usable"]
    ]
    tasks_used = []
    for slot in STUDY_TASKS:
        usable = [name for name in slot if datasets[name]["usable"]]
        if usable:
            tasks_used.append(usable[0])
        else:
            reasons += [f"{name}: {datasets[name]['problem']}" for name in slot]
    return {
        "data_dir": str(data_dir),
        "usable": not reasons,
        "study_tasks": tasks_used,
        "reasons": reasons,
        "datasets": datasets,
    }


def _entry(status: str, files: dict, problem: str | None = None, notes=()) -> dict:
    return {
        "status": status,
        "usable": problem is None,
        "problem": problem,
        "files": files,
        "notes": list(notes),
    }


def _missing(data_dir: Path, relpath: str) -> dict:
    return _entry("missing", {relpath: {"present": False}}, f"{data_dir / relpath} is missing")


def _check_tokenizer(data_dir: Path) -> dict:
    path = data_dir / layout.VOCAB
    if not path.is_file():
        return _missing(data_dir, layout.VOCAB)
    try:
        tokenizer = load_tokenizer(vocab_file=path)
    except TinylmError as err:
        return _entry("broken", {layout.VOCAB: {"present": True}}, str(err))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    canonical = sha == CANONICAL_VOCAB_SHA256
    info = {"present": True, "tokens": tokenizer.vocab_size, "sha256": sha, "canonical": canonical}
    ids = [
        tokenizer.pad_id,
        tokenizer.unk_id,
        tokenizer.cls_id,
        tokenizer.sep_id,
        tokenizer.mask_id,
    ]
    if ids != [0, 100, 101, 102, 103]:
        return _entry("broken", {layout.VOCAB: info}, f"special-token ids {ids} are not BERT's")
    notes = [] if canonical else ["not the canonical bert-base-uncased vocab.txt"]
    return _entry("complete" if canonical else "substitute", {layout.VOCAB: info}, notes=notes)


def _check_wikipedia(data_dir: Path) -> dict:
    path = data_dir / layout.WIKIPEDIA
    if not path.is_file():
        return _missing(data_dir, layout.WIKIPEDIA)
    paragraphs, leads, articles = 0, 0, set()
    try:
        for record in iter_jsonl(path):
            if isinstance(record.get("text"), str) and record["text"].strip():
                paragraphs += 1
                leads += record.get("para_index") == 0
                articles.add(record.get("article_id", record.get("title")))
    except TinylmError as err:
        return _entry("broken", {layout.WIKIPEDIA: {"present": True}}, str(err))
    if not paragraphs:
        return _entry("broken", {layout.WIKIPEDIA: {"present": True}}, f"{path} has no paragraph")
    info = {
        "present": True,
        "paragraphs": paragraphs,
        "articles": len(articles),
        "lead_paragraphs": leads,
    }
    note = "a subset of English Wikipedia (see the data directory's MANIFEST or docs/data.md)"
    return _entry("subset", {layout.WIKIPEDIA: info}, notes=[note])


def _label_counts(labels: np.ndarray, names: list[str]) -> dict[str, int]:
    counts = Counter(labels.tolist())
    return {name: counts.get(i, 0) for i, name in enumerate(names)}


def _task_files(task: TaskData) -> dict:
    """Per source file: rows, per-label counts, and completeness against the official file."""
    files = {}
    pools = [task.train_pool] + ([task.test_pool] if task.test_pool is not None else [])
    for source, pool in zip(task.sources, pools, strict=False):
        relpath = f"{source.parent.name}/{source.name}"
        info = {
            "present": True,
            "rows": len(pool),
            "labels": len(task.label_names),
            "per_label": _label_counts(pool.labels, task.label_names),
        }
        official = layout.OFFICIAL_ROWS.get(relpath)
        if official is not None:
            info["official_rows"] = official
            info["complete"] = len(pool) >= official
        relations = layout.OFFICIAL_FEWREL_RELATIONS.get(relpath)
        if relations is not None:
            info["relations"] = len(task.label_names)
            info["complete"] = len(task.label_names) == relations and len(pool) == (
                relations * layout.OFFICIAL_FEWREL_PER_RELATION
            )
        files[relpath] = info
    return files


def _check_task(data_dir: Path, name: str) -> dict:
    config = TaskConfig(name=name)
    try:
        # The loader alone, so the counts are those of the files; then the same
        # deduplication and sampling as load_task, to tell whether a study can run.
        task = TASKS[name].load(data_dir, config)
    except TinylmError as err:
        official = NEEDS[name].alternatives[0]
        present = {rel: {"present": (data_dir / rel).is_file()} for rel in official}
        status = "missing" if not any(f["present"] for f in present.values()) else "broken"
        return _entry(status, present, str(err))
    files = _task_files(task)
    deduplicate(task)
    notes = list(task.notices)
    substitute = any("unofficial" in n for n in task.notices)
    official = NEEDS[name].alternatives[0]
    complete = all(info.get("complete", True) for info in files.values()) and all(
        (data_dir / relpath).is_file() for relpath in official
    )
    status = "substitute" if substitute else ("complete" if complete else "partial")
    try:
        sample = sample_task(task, config)
    except TinylmError as err:
        return _entry(status, files, str(err), notes)
    notes.append(
        f"default sample: {sample.config.train_per_label} train + "
        f"{sample.config.test_per_label} test per label"
    )
    return _entry(status, files, notes=notes)


def format_report(report: dict) -> str:
    lines = [f"data directory: {report['data_dir']}"]
    for name, entry in report["datasets"].items():
        lines.append(f"{name:<11} {entry['status']}")
        for relpath, info in entry["files"].items():
            lines.append(f"    {relpath}: {_describe_file(info)}")
        lines += [f"    note: {note}" for note in entry["notes"]]
        if entry["problem"]:
            lines.append(f"    problem: {entry['problem']}")
    if report["usable"]:
        lines.append(
            f"result: usable for the default studies (tasks: {', '.join(report['study_tasks'])})"
        )
    else:
        lines.append("result: NOT usable for the default studies:")
        lines += [f"    {reason}" for reason in report["reasons"]]
    return "\n".join(lines)


def _describe_file(info: dict) -> str:
    if not info.get("present"):
        return "missing"
    parts = []
    if "tokens" in info:
        canonical = "canonical bert-base-uncased" if info["canonical"] else "NOT canonical"
        parts.append(f"{info['tokens']:,} tokens, {canonical} (sha256 {info['sha256'][:12]}…)")
    if "paragraphs" in info:
        parts.append(f"{info['paragraphs']:,} paragraphs from {info['articles']:,} articles")
        parts.append(f"{info['lead_paragraphs']:,} lead paragraphs")
    if "rows" in info:
        rows = f"{info['rows']:,} rows"
        if "official_rows" in info:
            rows += (
                f" of {info['official_rows']:,} official" if not info["complete"] else ", complete"
            )
        parts.append(rows)
        if "relations" in info:
            parts.append(f"{info['relations']} relations")
        counts = list(info["per_label"].values())
        parts.append(f"{info['labels']} labels, {min(counts):,} to {max(counts):,} per label")
    return "; ".join(parts) or "present"
