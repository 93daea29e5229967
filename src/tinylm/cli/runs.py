"""`tinylm runs [STORE]`: the runs of a folder (a study's store, or where `--out` wrote them)
with their status, task, accuracy and loss, as a table or JSON."""

import json
from pathlib import Path

from safetensors import SafetensorError, safe_open

from tinylm.data.io import read_text, read_yaml
from tinylm.errors import TinylmError
from tinylm.lock import in_use
from tinylm.model.bert import WEIGHTS_FILE
from tinylm.train.checkpoint import list_checkpoints

COLUMNS = ("run", "kind", "status", "task", "precision", "accuracy", "macro-F1", "loss")


def add_parser(commands, parent) -> None:
    p = commands.add_parser(
        "runs",
        parents=[parent],
        help="list the runs of a folder: status, task, accuracy, macro-F1, loss",
    )
    p.add_argument("store", nargs="?", default="runs", help="the folder (default: runs)")
    p.add_argument("--json", action="store_true", help="one JSON list")
    p.set_defaults(run=run_runs)


def describe(folder: Path) -> dict | None:
    """A run folder's row; None for a folder that holds no run."""
    summary_file, config_file = folder / "summary.json", folder / "config.yaml"
    if not (summary_file.is_file() or config_file.is_file() or (folder / "job.json").is_file()):
        return None
    problem = None
    try:
        summary = json.loads(read_text(summary_file)) if summary_file.is_file() else {}
    except (TinylmError, ValueError) as err:  # ValueError: bad JSON, or bytes that are not UTF-8
        summary, problem = {}, f"{summary_file.name} is not valid JSON ({err})"
    try:
        config = read_yaml(config_file) if config_file.is_file() else {}
    except (TinylmError, ValueError) as err:
        config, problem = {}, problem or str(err).removeprefix(f"{folder}/")
    summary = summary if isinstance(summary, dict) else {}
    config = config if isinstance(config, dict) else {}
    kind = summary.get("job") or ("finetune" if "task" in config else None)
    kind = kind or ("pretrain" if "corpus" in config else folder.name.split("-")[0])
    task = summary.get("task") or (config.get("task") or {}).get("name")
    for key in ("test_accuracy", "test_macro_f1", "val_loss", "final_loss"):
        if summary.get(key) is not None and not _is_number(summary[key]):
            problem = problem or f"summary.json's {key} is {summary[key]!r}, not a number"
    if problem is None and summary and kind in ("pretrain", "finetune"):
        problem = _weights_problem(folder / "model")
    if in_use(folder):
        status = "running"
    elif problem is not None:
        status = f"broken: {problem}"
        summary = {}
    elif summary:
        status = "done"
    else:
        checkpoints = list_checkpoints(folder)
        status = f"partial ({checkpoints[-1].name})" if checkpoints else "started"
    loss = summary.get("val_loss", summary.get("final_loss"))
    return {
        "run": folder.name,
        "kind": kind,
        "status": status,
        "task": task,
        "precision": _precision(config, kind),
        "accuracy": summary.get("test_accuracy"),
        "macro_f1": summary.get("test_macro_f1"),
        "loss": loss,  # pre-training: the validation MLM loss (else the last training loss)
    }


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _weights_problem(model_dir: Path) -> str | None:
    """What keeps a finished run's weights from loading (absent, or not a whole safetensors
    file: its header is read, not the tensors); None when they look whole."""
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        return f"{model_dir.name}/{WEIGHTS_FILE} is missing"
    try:
        with safe_open(weights, framework="pt"):
            pass
    except (SafetensorError, OSError) as err:
        return f"{model_dir.name}/{WEIGHTS_FILE} is damaged ({err})"
    return None


def _precision(config: dict, kind: str) -> str | None:
    """What a network trained at, as its config.yaml recorded it (fp32 or bf16); `unknown` for
    a run that recorded `auto` (runs made before the resolved precision was saved); None for
    runs that train no network."""
    if kind not in ("pretrain", "finetune"):
        return None
    precision = (config.get("impl") or {}).get("precision")
    return precision if precision in ("fp32", "bf16") else "unknown"


def run_runs(args) -> int:
    store = Path(args.store)
    if not store.is_dir():
        raise TinylmError(f"{store} is not a folder of runs")
    folders = sorted(folder for folder in store.iterdir() if folder.is_dir())
    rows = [row for row in map(describe, folders) if row is not None]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no runs in {store}")
        return 0
    cells = [
        [
            r["run"],
            r["kind"],
            r["status"],
            r["task"] or "-",
            r["precision"] or "-",
            "-" if r["accuracy"] is None else f"{r['accuracy']:.3f}",
            "-" if r["macro_f1"] is None else f"{r['macro_f1']:.3f}",
            "-" if r["loss"] is None else f"{r['loss']:.3f}",
        ]
        for r in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(COLUMNS, *cells, strict=True)]
    for line in [list(COLUMNS), *cells]:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return 0
