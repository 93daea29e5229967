"""scripts/gpu_check.py (`make gpu-check`): one line and status 2 without a GPU, and every step
rehearsed on the CPU at toy sizes, so that the first GPU it meets runs a script known to work."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "gpu_check.py"


def gpu_check(*argv, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no GPU, whatever the machine has
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, argv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_gpu_check_without_a_gpu_fails_with_one_line(tmp_path):
    process = gpu_check("--out", tmp_path / "gpu-check.json", timeout=120)
    assert process.returncode == 2
    assert process.stdout == ""
    (line,) = process.stderr.strip().splitlines()
    assert line.startswith("gpu-check: no CUDA device") and "Traceback" not in process.stderr
    assert not (tmp_path / "gpu-check.json").exists()


def test_the_rehearsal_runs_every_step_on_the_cpu(data_dir, tmp_path):
    out = tmp_path / "gpu-check.json"
    process = gpu_check(
        "--rehearse", "--data-dir", data_dir, "--work", tmp_path / "work", "--out", out,
        timeout=600,
    )  # fmt: skip
    assert process.returncode == 0, process.stdout + process.stderr
    summary = json.loads(out.read_text())
    steps = summary["steps"]
    assert summary["rehearsal"] and summary["devices"] == ["cpu"]
    assert list(steps) == ["tests", "bench_pretrain", "latency", "paper_slice"]
    assert all(step["passed"] for step in steps.values()), steps
    # the CUDA tests were found and collected; here each skips for want of a device
    assert "tests/test_cuda.py" in steps["tests"]["files"]
    assert len(steps["tests"]["skips"]) >= 4 and "skipped" in steps["tests"]["outcome"]
    bench = steps["bench_pretrain"]
    assert bench["device"] == "cpu" and bench["tinylm_tokens_per_s"] > 0
    assert bench["reference_tokens_per_s"] > 0 and bench["speedup"] > 0
    latency = steps["latency"]
    assert len(latency["committee"]) == 5 and latency["reference"] == "bert6-a3"
    assert latency["committee_p50_ms"] > 0 and latency["reference_p50_ms"] > 0
    rows = list(csv.DictReader(io.StringIO(steps["paper_slice"]["results_csv"])))
    assert sorted(row["arm"] for row in rows) == ["pretrained", "scratch", "tfidf"]
    assert {row["preset"] for row in rows} == {"paper-slice"}
    pretrained = next(row for row in rows if row["arm"] == "pretrained")
    assert pretrained["arch"] == "bert6-a3" and int(pretrained["corpus_tokens"]) >= 2_000
    assert all(0 <= float(row["test_accuracy"]) <= 1 for row in rows)
    assert "gpu-check: paper_slice: passed" in process.stdout
