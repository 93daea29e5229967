"""The harness of the kill tests (test_faults.py): runs a tinylm command in its own process,
SIGKILLs it at chosen moments, reruns it until it completes, and checks after every kill that
the run folder holds no corrupt checkpoint."""

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors.torch import load_file

from tinylm.model.bert import load_pretrained
from tinylm.train.checkpoint import list_checkpoints

ENTRY = Path(__file__).with_name("fault_entry.py")


@dataclasses.dataclass
class Tally:
    """What the kills of one command cost."""

    kills: int = 0  # SIGKILLs, by the harness or torn writes
    resumes: int = 0  # reruns after a kill, each of which ended in success or the next kill
    redone_steps: int = 0  # steps run again: at each kill, those since the last checkpoint
    checkpoints_checked: int = 0  # complete checkpoints found whole after a kill
    finished_redone: int = 0  # runs finished before a kill (summary.json) that ran again


@dataclasses.dataclass
class Kill:
    """`seconds` after the start, or `seconds` after progress reached `after` (a step logged,
    jobs finished); or inside the process's `in_write`-th safetensors write (a torn write)."""

    seconds: float | None = None
    after: int | None = None
    in_write: int | None = None


def tinylm(*argv) -> list[str]:
    return [sys.executable, str(ENTRY), *map(str, argv)]


def run_once(argv, timeout=600) -> float:
    """Runs to completion; returns the wall time."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=_env(None), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return time.perf_counter() - start


def run_with_kills(argv, kills: list[Kill], watch, progress=None, resume_argv=None) -> Tally:
    """Runs `argv`, kills it as `kills` say, then runs `resume_argv` (default: argv) until one
    completes. `watch()`: the run folders to check after every kill (their checkpoints must
    load; a run finished by then must not run again). `progress()`: what `Kill.after` counts."""
    tally, pending, command = Tally(), list(kills), argv
    finished: dict[Path, int] = {}  # summary.json -> its mtime when first seen
    while True:
        kill = pending.pop(0) if pending else Kill()
        with tempfile.TemporaryFile() as err:
            process = subprocess.Popen(
                command, env=_env(kill.in_write), stdout=subprocess.DEVNULL, stderr=err
            )
            if kill.after is not None:
                while process.poll() is None and progress() < kill.after:
                    time.sleep(0.002)
            try:
                process.wait(timeout=kill.seconds if kill.seconds is not None else 600)
            except subprocess.TimeoutExpired:
                assert kill.seconds is not None, "the run did not finish in 10 minutes"
                process.send_signal(signal.SIGKILL)
                process.wait()
            err.seek(0)
            message = err.read().decode(errors="replace")
        if tally.kills:  # a rerun after a kill
            tally.resumes += 1
        if process.returncode == -signal.SIGKILL:
            tally.kills += 1
            for folder in watch():
                tally.checkpoints_checked += check_checkpoints(folder)
                summary = folder / "summary.json"
                if summary.is_file():
                    finished.setdefault(summary, summary.stat().st_mtime_ns)
                else:
                    tally.redone_steps += _steps_since_checkpoint(folder)
            command = resume_argv or argv
            continue
        assert process.returncode == 0, message[-3000:]
        tally.finished_redone = sum(p.stat().st_mtime_ns != t for p, t in finished.items())
        return tally


def check_checkpoints(run_dir: Path) -> int:
    """Every complete checkpoint loads whole (a corrupt one raises); returns how many."""
    checkpoints = list_checkpoints(run_dir)
    for path in checkpoints:
        json.loads((path / "state.json").read_text())
        load_pretrained(path / "model")
        load_file(path / "optimizer.safetensors")
    return len(checkpoints)


def last_step(metrics: Path) -> int:
    """The last step a run logged (0 before any); a line being written is skipped."""
    try:
        lines = metrics.read_text().splitlines()
    except FileNotFoundError:
        return 0
    steps = [0]
    for line in lines:
        with contextlib.suppress(ValueError, KeyError):
            steps.append(json.loads(line)["step"])
    return max(steps)


def finished_jobs(runs: Path) -> int:
    return sum(1 for _ in runs.glob("*/summary.json"))


def _steps_since_checkpoint(run_dir: Path) -> int:
    checkpoints = list_checkpoints(run_dir)
    last = int(checkpoints[-1].name.removeprefix("step-")) if checkpoints else 0
    return max(0, last_step(run_dir / "metrics.jsonl") - last)


def _env(in_write: int | None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("DIE_IN_WRITE", None)
    if in_write is not None:
        env["DIE_IN_WRITE"] = str(in_write)
    return env


def same_weights(a: Path, b: Path) -> bool:
    x, y = load_file(a), load_file(b)
    return x.keys() == y.keys() and all(x[k].equal(y[k]) for k in x)
