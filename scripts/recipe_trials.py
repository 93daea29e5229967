"""Pre-training recipe trials at equal compute (issue 16; docs/recipe.md).

Each trial is `tinylm pretrain` on one config: the base below with the trial's overrides. The
trials run in parallel processes (one thread each) and append one row per finished trial to
results/recipe/trials.csv: its settings, tokens read, validation MLM loss and accuracy (the
held-out Wikipedia paragraphs of train/validation.py), the plateau level, wall time and the
command. A trial whose run folder holds a summary is not run again.

    python scripts/recipe_trials.py TRIALS.yaml --runs runs/recipe --jobs 2

TRIALS.yaml: {base: {...PretrainConfig fields...}, trials: {name: {overrides}, ...}}
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

COLUMNS = (
    "trial",
    "stage",
    "settings",
    "tokens_read",
    "steps",
    "val_loss",
    "val_accuracy",
    "plateau_loss",
    "plateau",
    "seconds",
    "precision",
    "command",
)


def merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for key, value in top.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both else value
    return out


def run(name: str, config: dict, runs: Path, stage: str) -> dict | None:
    folder = runs / name
    summary_path = folder / "summary.json"
    path = runs / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [
        "tinylm",
        "pretrain",
        "--config",
        str(path),
        "--out",
        str(folder),
        "--threads",
        "1",
        "--quiet",
    ]
    if folder.exists() and not summary_path.exists():
        command.append("--resume")
    start = time.perf_counter()
    if not summary_path.exists():
        done = subprocess.run(
            [sys.executable, "-m", "tinylm", *command[1:]], capture_output=True, text=True
        )
        if done.returncode:
            print(f"{name} failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
            return None
    seconds = time.perf_counter() - start
    summary = json.loads(summary_path.read_text())
    resolved = yaml.safe_load((folder / "config.yaml").read_text())
    return {
        "trial": name,
        "stage": stage,
        "settings": json.dumps(config, sort_keys=True),
        "tokens_read": summary["tokens_read"],
        "steps": summary["steps"],
        "val_loss": summary["val_loss"],
        "val_accuracy": summary["val_accuracy"],
        "plateau_loss": summary.get("plateau_loss"),
        "plateau": summary["plateau"],
        "seconds": round(seconds, 1),
        "precision": resolved["impl"]["precision"],
        "command": " ".join(command),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("trials")
    parser.add_argument("--runs", default="runs/recipe")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="results/recipe/trials.csv")
    args = parser.parse_args()
    spec = yaml.safe_load(Path(args.trials).read_text())
    stage = spec.get("stage", Path(args.trials).stem)
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    def one(item):
        name, overrides = item
        row = run(name, merge(spec["base"], overrides or {}), runs, stage)
        if row is None:
            return
        print(
            f"{name}: val loss {row['val_loss']:.3f}, accuracy {row['val_accuracy']:.3f} "
            f"after {row['tokens_read']:,} tokens, {row['seconds']:.0f} s",
            flush=True,
        )
        seen = set()
        if out.exists():
            with open(out, newline="") as f:
                seen = {(r["trial"], r["stage"]) for r in csv.DictReader(f)}
        if (name, stage) not in seen:
            new = not out.exists()
            with open(out, "a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=COLUMNS)
                if new:
                    writer.writeheader()
                writer.writerow(row)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(one, spec["trials"].items()))


if __name__ == "__main__":
    main()
