"""The fine-tuning gap of recipe trials on the tasks' validation splits (issue 16; docs/recipe.md).

Each trial's pre-trained model (a run folder of scripts/recipe_trials.py) and the same
architecture from scratch are fine-tuned on each task with the cpu preset's fine-tuning recipe
on the cpu preset's train sample, 20% of it held out as validation; the last epoch's validation
accuracy is read. A trial selects settings, so it never scores the test split
(`--no-score-test`: its summary holds no test figure, the test ledger gets no line). The gap
is pre-trained minus scratch, paired by task, seed, learning rate and further fine-tuning
settings (`--finetune-args`, e.g. a warm-up, both arms alike; their runs carry `--tag`). Rows
go to results/recipe/gaps.csv; finished runs are read, not rerun.

    python scripts/recipe_gap.py runs/recipe/pre-lr3e-3 ... --runs runs/recipe-ft --jobs 2
    python scripts/recipe_gap.py RUN --finetune-args="--warmup-fraction 0.1" --tag wu10
    python scripts/recipe_gap.py RUN --lrs 3e-4 1e-3 3e-3 --scratch-lr 1e-3   # each arm its own

With `--scratch-lr` the scratch arm runs at that rate only and every gap is read against it
(each arm at its own rate); otherwise both arms run the whole grid, paired by rate.
"""

import argparse
import csv
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tinylm.train.checkpoint import remove_checkpoints

SIZES = {"agnews": (100, 250), "dbpedia": (30, 100), "fewrel-val": (40, 60)}  # the cpu preset's
FINETUNE = ["--epochs", "20", "--batch-size", "16", "--select", "last", "--val-fraction", "0.2"]
FINETUNE += ["--no-score-test"]  # a trial selects: validation only
KEY = ("pretraining", "task", "seed", "lr", "finetune")
COLUMNS = (*KEY, "val_accuracy", "val_examples", "command")


def finetune(
    name: str, start: list[str], task: str, seed: int, lr: str, runs: Path, extra: str, tag: str
) -> dict:
    """One fine-tuning (`start`: --init DIR, or --scratch --config ARCH_FILE); its row."""
    out = runs / f"{name}-{task}-s{seed}-lr{lr}{'-' + tag if tag else ''}"
    train, test = SIZES[task]
    command = ["tinylm", "finetune", "--task", task, "--seed", str(seed), "--lr", lr, *FINETUNE]
    command += shlex.split(extra)
    command += ["--train-per-label", str(train), "--test-per-label", str(test), *start]
    command += ["--out", str(out), "--threads", "1", "--quiet"]
    if not (out / "summary.json").exists():
        resume = ["--resume"] if out.exists() else []
        done = subprocess.run(
            [sys.executable, "-m", "tinylm", *command[1:], *resume], capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"{out.name}: {done.stderr.strip()}")
    remove_checkpoints(out)  # only a resume reads them, and best/; ~150 MB a run
    shutil.rmtree(out / "best", ignore_errors=True)
    summary = json.loads((out / "summary.json").read_text())
    return {
        "pretraining": name,
        "task": task,
        "seed": seed,
        "lr": lr,
        "finetune": extra,
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
    parser.add_argument("--scratch-lr", help="the scratch arm's one rate (default: the grid)")
    parser.add_argument("--out", default="results/recipe/gaps.csv", type=Path)
    parser.add_argument("--finetune-args", default="", help="more `tinylm finetune` flags")
    parser.add_argument("--tag", default="", help="names the runs of --finetune-args")
    args = parser.parse_args()
    if bool(args.finetune_args) != bool(args.tag):
        parser.error("--finetune-args and --tag go together")
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

    def rates(name: str) -> list[str]:
        scratch = name in scratch_of.values()
        return [args.scratch_lr] if scratch and args.scratch_lr else args.lrs

    work = [
        (name, start, task, seed, lr)
        for seed in range(args.seeds)
        for task in SIZES
        for name, start in starts.items()
        for lr in rates(name)
    ]
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(
            pool.map(lambda item: finetune(*item, args.runs, args.finetune_args, args.tag), work)
        )

    old = []
    if args.out.exists():
        with open(args.out, newline="") as f:
            old = [{"finetune": "", **r} for r in csv.DictReader(f)]  # rows from before the column
    seen = {tuple(str(r[k]) for k in KEY) for r in old}
    new = [r for r in rows if tuple(str(r[k]) for k in KEY) not in seen]
    temporary = args.out.with_suffix(".tmp")
    with open(temporary, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows([*old, *new])
    os.replace(temporary, args.out)
    accuracy = {(r["pretraining"], r["task"], r["seed"], r["lr"]): r["val_accuracy"] for r in rows}
    for r in rows:
        if r["pretraining"] in scratch_of:
            lr = args.scratch_lr or r["lr"]
            scratch = accuracy[(scratch_of[r["pretraining"]], r["task"], r["seed"], lr)]
            print(
                f"{r['pretraining']:24} {r['task']:11} s{r['seed']} lr {r['lr']} {args.tag}: "
                f"val {r['val_accuracy']:.3f}, scratch {scratch:.3f} (lr {lr}), "
                f"gap {r['val_accuracy'] - scratch:+.3f}"
            )


if __name__ == "__main__":
    main()
