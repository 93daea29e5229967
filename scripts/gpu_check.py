"""`make gpu-check`: the CUDA paths of tinylm on the GPU(s) of this machine, in under 10 minutes,
with one JSON summary (default gpu-check.json).

Steps, each in its own process with its own time limit, so one that fails or hangs leaves the
others their time:
1. `tests`: every test marked `cuda` (bf16 autocast against fp32, a GPU run against a CPU run,
   fused AdamW; DDP over NCCL with two devices or more), on tiny data the tests make;
2. `bench_pretrain`: `tinylm bench pretrain --arch bert6 --device cuda` against the reference
   procedure (needs the data directory: TINYLM_DATA_DIR or --data-dir);
3. `latency`: the paper's committee of five BERT-1 variants against BERT-6 at batch 1 on the
   GPU (members one after another; random weights: latency does not depend on them);
4. `paper_slice`: one short slice of the `paper` preset (gap study, AG News, one seed, BERT-6
   pre-trained for a few hundred thousand tokens, one fine-tuning epoch) with --devices over
   every GPU present (needs the data directory).

Without a CUDA device it prints one line and exits with status 2. The summary says, per step,
whether it passed, its figures, its time, and the end of its output when it failed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# seconds per step, 570 in all; bench_pretrain's includes tokenizing the Wikipedia pool once
# into an empty cache (92 s on 2 cores), which the slice then reads back
LIMITS = {"tests": 180, "bench_pretrain": 180, "latency": 60, "paper_slice": 150}
SLICE_TOKENS = 300_000  # BERT-6's slice of pre-training: a few hundred steps at batch 32


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="gpu-check.json", help="the JSON summary")
    parser.add_argument("--data-dir", default=os.environ.get("TINYLM_DATA_DIR"))
    parser.add_argument("--work", help="folder for the slice's runs (default: a temporary one)")
    args = parser.parse_args(argv)
    devices = cuda_devices()
    if not devices:
        print(
            "gpu-check: no CUDA device is visible to PyTorch here "
            f"(torch {torch_version()}); run it on a machine with an NVIDIA GPU",
            file=sys.stderr,
        )
        return 2
    summary = {"devices": devices, "torch": torch_version(), "steps": {}}
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(args.work or temporary)
        for name, step in STEPS.items():
            start = time.perf_counter()
            try:
                result = step(args, devices, work)
            except subprocess.TimeoutExpired as err:
                result = {"passed": False, "error": f"ran past its {err.timeout} s"}
            except Exception as err:  # the summary says what failed; the next step still runs
                result = {"passed": False, "error": f"{type(err).__name__}: {err}"}
            result["seconds"] = round(time.perf_counter() - start, 1)
            summary["steps"][name] = result
            print(f"gpu-check: {name}: {verdict(result)} in {result['seconds']:.0f} s", flush=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    failed = [name for name, r in summary["steps"].items() if r.get("passed") is False]
    print(f"gpu-check: wrote {args.out}; " + (f"failed: {', '.join(failed)}" if failed else "ok"))
    return 1 if failed else 0


def cuda_devices() -> list[str]:
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def torch_version() -> str:
    try:
        import torch
    except ImportError:
        return "not installed"
    return torch.__version__


def verdict(result: dict) -> str:
    if result.get("skipped"):
        return f"skipped ({result['skipped']})"
    return "passed" if result["passed"] else f"FAILED ({result.get('error', 'see summary')})"


def run(command: list[str], limit: int, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=limit, **options
    )


def tinylm(*argv: str) -> list[str]:
    return [sys.executable, "-m", "tinylm", *argv]


def failure(process: subprocess.CompletedProcess) -> dict:
    tail = (process.stdout + process.stderr)[-3000:]
    return {"passed": False, "error": f"exit status {process.returncode}", "output": tail}


def step_tests(args, devices, work) -> dict:
    command = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rs", "-p", "no:cacheprovider"]
    process = run(command, LIMITS["tests"])
    lines = process.stdout.strip().splitlines()
    result = {"passed": process.returncode == 0, "outcome": lines[-1] if lines else ""}
    result["skips"] = [line for line in lines if line.startswith("SKIPPED")]
    if process.returncode != 0:
        result |= failure(process)
    return result


def needs_data(args) -> dict | None:
    if not args.data_dir or not Path(args.data_dir).is_dir():
        return {"passed": None, "skipped": "no data directory: set TINYLM_DATA_DIR"}
    return None


def step_bench_pretrain(args, devices, work) -> dict:
    if skipped := needs_data(args):
        return skipped
    command = tinylm(
        "bench", "pretrain", "--arch", "bert6", "--device", "cuda", "--json", "--rounds", "2"
    )
    process = run([*command, "--data-dir", args.data_dir], LIMITS["bench_pretrain"])
    if process.returncode != 0:
        return failure(process)
    figures = json.loads(process.stdout)
    keep = ("device", "precision", "batch_size", "tinylm_tokens_per_s", "reference_tokens_per_s")
    result = {key: figures[key] for key in (*keep, "speedup", "mfu", "peak_memory_mb")}
    # tinylm's procedure must not lose to the reference on the device it was written for
    return {"passed": figures["speedup"] is not None and figures["speedup"] >= 1.0, **result}


LATENCY_CODE = """
import json, torch, dataclasses
from tinylm.model.architectures import get_architecture
from tinylm.model.bert import BertForSequenceClassification
from tinylm.study.presets import PRESETS

paper = PRESETS["paper"]
def model(name):
    return BertForSequenceClassification(get_architecture(name), 4).cuda().eval()
members = [model(name) for name in paper.committee_members]
reference = model(paper.committee_reference)
ids = torch.randint(1000, 20000, (1, 64), device="cuda")
mask = torch.ones_like(ids)

@torch.no_grad()
def p50_ms(models, calls=50):
    times = []
    for i in range(calls + 5):
        torch.cuda.synchronize()
        start = torch.cuda.Event(enable_timing=True); end = torch.cuda.Event(enable_timing=True)
        start.record()
        torch.stack([m(ids, mask).logits.softmax(-1) for m in models]).mean(0)
        end.record(); torch.cuda.synchronize()
        if i >= 5:
            times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]

committee, bert6 = p50_ms(members), p50_ms([reference])
print(json.dumps({"committee": list(paper.committee_members),
                  "reference": paper.committee_reference, "tokens": 64,
                  "committee_p50_ms": committee, "reference_p50_ms": bert6,
                  "committee_over_reference": committee / bert6}))
"""


def step_latency(args, devices, work) -> dict:
    process = run([sys.executable, "-c", LATENCY_CODE], LIMITS["latency"])
    if process.returncode != 0:
        return failure(process)
    return {"passed": True, **json.loads(process.stdout.strip().splitlines()[-1])}


def step_paper_slice(args, devices, work) -> dict:
    if skipped := needs_data(args):
        return skipped
    import yaml

    from tinylm.study.presets import PRESETS

    fields = PRESETS["paper"].to_dict()
    fields.pop("name")
    fields.update(
        tasks=["agnews"],
        seeds=1,
        pretrain={**fields["pretrain"], "max_tokens": SLICE_TOKENS},
        finetune={**fields["finetune"], "epochs": 1},
        sizes={"agnews": [200, 100]},
    )
    preset = work / "paper-slice.yaml"
    preset.write_text(yaml.safe_dump(fields))
    gpus = ",".join(f"cuda:{i}" for i in range(len(devices)))
    command = tinylm(
        "study", "gap", "--preset", str(preset), "--devices", gpus, "--quiet",
        "--data-dir", args.data_dir, "--out", str(work / "results"), "--runs", str(work / "runs"),
    )  # fmt: skip
    process = run(command, LIMITS["paper_slice"])
    if process.returncode != 0:
        return failure(process)
    rows = list((work / "results" / "gap" / "paper-slice").glob("results.csv"))
    text = rows[0].read_text() if rows else ""
    return {"passed": bool(rows), "devices": gpus, "results_csv": text}


STEPS = {
    "tests": step_tests,
    "bench_pretrain": step_bench_pretrain,
    "latency": step_latency,
    "paper_slice": step_paper_slice,
}

if __name__ == "__main__":
    sys.exit(main())
