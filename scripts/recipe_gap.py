"""The fine-tuning gap of recipe trials on the tasks' validation splits (issue 16; docs/recipe.md).

Each trial's pre-trained model (a run folder of scripts/recipe_trials.py) and the same
architecture from scratch are fine-tuned on each task with the cpu preset's fine-tuning recipe
on the cpu preset's train sample, 20% of it held out as validation; the last epoch's validation
accuracy is read (never the test split). The gap is pre-trained minus scratch, paired by task,
seed and learning rate. Rows go to results/recipe/gaps.csv; finished runs are read, not rerun.

    python scripts/recipe_gap.py runs/recipe/pre-lr3e-3 ... --runs runs/recipe-ft --jobs 2
"""

import argparse
import csv
import hashlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SIZES = {"agnews": (100, 250), "dbpedia": (30, 100), "fewrel-val": (40, 60)}  # the cpu preset's
FINETUNE = ["--epochs", "20", "--batch-size", "16", "--select", "last", "--val-fraction", "0.2"]
COLUMNS = ("pretraining", "task", "seed", "lr", "val_accuracy", "val_examples", "command")


def finetune(name: str, start: list[str], task: str, seed: int, lr: str, runs: Path) -> dict:
    """One fine-tuning (`start`: --init DIR, or --scratch --config ARCH_FILE); its row."""
    out = runs / f"{name}-{task}-s{seed}-lr{lr}"
    train, test = SIZES[task]
    command = ["tinylm", "finetune", "--task", task, "--seed", str(seed), "--lr", lr, *FINETUNE]
    command += ["--train-per-label", str(train), "--test-per-label", str(test), *start]
    command += ["--out", str(out), "--threads", "1", "--quiet"]
    if not (out / "summary.json").exists():
        resume = ["--resume"] if out.exists() else []
        done = subprocess.run(
            [sys.executable, "-m", "tinylm", *command[1:], *resume], capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"{out.name}: {done.stderr.strip()}")
    summary = json.loads((out / "summary.json").read_text())
    return {
        "pretraining": name,
        "task": task,
        "seed": seed,
        "lr": lr,
        "val_accuracy": summary["val_accuracy"],
        "val_examples": summary["sizes"]["val"],
        "command": " ".join(command),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pretrainings", nargs="+", type=Path)
    parser.add_argument("--runs", default="runs/recipe-ft", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--lrs", nargs="+", default=["3e-4"])
    parser.add_argument("--out", default="results/recipe/gaps.csv", type=Path)
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    starts = {}  # name -> the fine-tuning's start
    scratch_of = {}  # pre-training -> the scratch arm of its architecture
    for pretraining in args.pretrainings:
        arch = json.loads((pretraining / "model" / "config.json").read_text())["architecture"]
        text = json.dumps({"arch": arch}, sort_keys=True)
        name = "scratch-" + hashlib.sha256(text.encode()).hexdigest()[:8]
        (args.runs / f"{name}.yaml").write_text(text)  # JSON is YAML
        starts[name] = ["--scratch", "--config", str(args.runs / f"{name}.yaml")]
        starts[pretraining.name] = ["--init", str(pretraining)]
        scratch_of[pretraining.name] = name
    work = [
        (name, start, task, seed, lr)
        for seed in range(args.seeds)
        for task in SIZES
        for lr in args.lrs
        for name, start in starts.items()
    ]
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda item: finetune(*item, args.runs), work))

    old = []
    if args.out.exists():
        with open(args.out, newline="") as f:
            old = list(csv.DictReader(f))
    seen = {(r["pretraining"], r["task"], r["seed"], r["lr"]) for r in old}
    with open(args.out, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if not old:
            writer.writeheader()
        for row in rows:
            if (row["pretraining"], row["task"], str(row["seed"]), row["lr"]) not in seen:
                writer.writerow(row)
    accuracy = {(r["pretraining"], r["task"], r["seed"], r["lr"]): r["val_accuracy"] for r in rows}
    for r in rows:
        if r["pretraining"] in scratch_of:
            scratch = accuracy[(scratch_of[r["pretraining"]], r["task"], r["seed"], r["lr"])]
            print(
                f"{r['pretraining']:24} {r['task']:11} s{r['seed']} lr {r['lr']}: "
                f"val {r['val_accuracy']:.3f}, scratch {scratch:.3f}, "
                f"gap {r['val_accuracy'] - scratch:+.3f}"
            )


if __name__ == "__main__":
    main()
