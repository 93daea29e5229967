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
   pre-trained for a few hundred thousand tokens on a Ws = 10,000 subset, one fine-tuning
   epoch) with --devices over every GPU present (needs the data directory).

Without a CUDA device it prints one line and exits with status 2. `--rehearse` runs the same
steps on the CPU at toy sizes (the `cpu` preset's twins of the paper's models, a few thousand
tokens), so that the script itself is known to work before a GPU's time is spent on it
(tests/test_gpu_check.py). The summary says, per step, whether it passed, its figures, its time,
and the end of its output when it failed. tinylm need not be installed: the script and its
steps import it from this checkout's src/.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # this checkout's tinylm, installed or not
# seconds per step, 570 in all; bench_pretrain's includes tokenizing the Wikipedia pool once
# into an empty cache (92 s on 2 cores), which the slice then reads back
LIMITS = {"tests": 180, "bench_pretrain": 180, "latency": 60, "paper_slice": 150}


@dataclass(frozen=True)
class Scale:
    """What the steps run: the paper's models on the GPU, or their CPU twins at toy sizes."""

    device: str  # cuda or cpu
    bench: tuple[str, ...]  # the arguments of `tinylm bench pretrain` beside the device
    committee_from: str  # the preset whose committee and reference are timed
    latency_calls: int
    slice_arch: str
    slice_tokens: int
    ws: int  # the Wikipedia subset the bench and the slice draw from
    slice_sizes: tuple[int, int]  # AG News train / test examples per label


GPU = Scale(
    device="cuda",
    bench=("--arch", "bert6", "--rounds", "2"),
    committee_from="paper",
    latency_calls=50,
    slice_arch="bert6",
    slice_tokens=300_000,
    ws=10_000,
    slice_sizes=(200, 100),
)
# sizes that the tests' tiny data (200 paragraphs, 30 + 20 news per label) can make
REHEARSAL = Scale(
    device="cpu",
    bench=("--arch", "bert1-a3", "--batch-size", "8", "--warmup", "1", "--steps", "2"),
    committee_from="cpu",
    latency_calls=3,
    slice_arch="bert6-a3",
    slice_tokens=2_000,
    ws=100,
    slice_sizes=(10, 10),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="gpu-check.json", help="the JSON summary")
    parser.add_argument("--data-dir", default=os.environ.get("TINYLM_DATA_DIR"))
    parser.add_argument("--work", help="folder for the slice's runs (default: a temporary one)")
    parser.add_argument(
        "--rehearse", action="store_true", help="the same steps on the CPU at toy sizes"
    )
    parser.add_argument("--latency", help=argparse.SUPPRESS)  # the latency step's own process
    args = parser.parse_args(argv)
    scale = REHEARSAL if args.rehearse else GPU
    if args.latency:
        print(json.dumps(committee_latency(scale, args.latency)))
        return 0
    devices = ["cpu"] if args.rehearse else cuda_devices()
    if not devices:
        print(
            "gpu-check: no CUDA device is visible to PyTorch here "
            f"(torch {torch_version()}); run it on a machine with an NVIDIA GPU",
            file=sys.stderr,
        )
        return 2
    summary = {"devices": devices, "torch": torch_version(), "rehearsal": args.rehearse}
    summary["steps"] = {}
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(args.work or temporary)
        for name, step in STEPS.items():
            start = time.perf_counter()
            try:
                result = step(args, scale, devices, work)
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


def run(command: list[str], limit: int) -> subprocess.CompletedProcess:
    # src/ first on the path: a checkout copied to a GPU machine runs without an install
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=limit, env=env)


def tinylm(*argv: str) -> list[str]:
    return [sys.executable, "-m", "tinylm", *argv]


def failure(process: subprocess.CompletedProcess) -> dict:
    tail = (process.stdout + process.stderr)[-3000:]
    return {"passed": False, "error": f"exit status {process.returncode}", "output": tail}


def step_tests(args, scale, devices, work) -> dict:
    marked = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").glob("test_*.py")
        if "pytest.mark.cuda" in path.read_text()
    )
    command = [sys.executable, "-m", "pytest", *marked, "-m", "cuda", "-q", "-rs"]
    process = run([*command, "-p", "no:cacheprovider"], LIMITS["tests"])
    lines = process.stdout.strip().splitlines()
    result = {"passed": process.returncode == 0, "files": marked}
    result["outcome"] = lines[-1] if lines else ""
    result["skips"] = [line for line in lines if line.startswith("SKIPPED")]
    if process.returncode != 0:
        result |= failure(process)
    return result


def needs_data(args) -> dict | None:
    if not args.data_dir or not Path(args.data_dir).is_dir():
        return {"passed": None, "skipped": "no data directory: set TINYLM_DATA_DIR"}
    return None


def step_bench_pretrain(args, scale, devices, work) -> dict:
    if skipped := needs_data(args):
        return skipped
    command = tinylm(
        "bench", "pretrain", *scale.bench, "--device", scale.device, "--ws", str(scale.ws),
        "--json", "--data-dir", args.data_dir,
    )  # fmt: skip
    process = run(command, LIMITS["bench_pretrain"])
    if process.returncode != 0:
        return failure(process)
    figures = json.loads(process.stdout)
    keep = ("device", "precision", "batch_size", "tinylm_tokens_per_s", "reference_tokens_per_s")
    result = {key: figures[key] for key in (*keep, "speedup", "mfu", "peak_memory_mb")}
    # tinylm's procedure must not lose to the reference on the device it was written for
    # (a rehearsal checks that the figures are there, not the CPU's speed)
    won = figures["speedup"] is not None and figures["speedup"] >= 1.0
    return {"passed": won or (args.rehearse and figures["speedup"] is not None), **result}


def committee_latency(scale: Scale, device: str) -> dict:
    """Median milliseconds per batch-1 call of the preset's committee (soft vote over its
    members, one after another) and of its reference, on `device`."""
    import torch

    from tinylm.model.architectures import get_architecture
    from tinylm.model.bert import BertForSequenceClassification
    from tinylm.study.presets import PRESETS

    preset = PRESETS[scale.committee_from]

    def model(name):
        return BertForSequenceClassification(get_architecture(name), 4).to(device).eval()

    members = [model(name) for name in preset.committee_members]
    reference = model(preset.committee_reference)
    ids = torch.randint(1000, 20000, (1, 64), device=device)
    mask = torch.ones_like(ids)

    def synchronize():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    @torch.no_grad()
    def median_ms(models) -> float:
        times = []
        for call in range(scale.latency_calls + 5):  # five untimed calls first
            synchronize()
            start = time.perf_counter()
            torch.stack([m(ids, mask).logits.softmax(-1) for m in models]).mean(0)
            synchronize()
            if call >= 5:
                times.append(1000 * (time.perf_counter() - start))
        return sorted(times)[len(times) // 2]

    committee, single = median_ms(members), median_ms([reference])
    return {
        "committee": list(preset.committee_members),
        "reference": preset.committee_reference,
        "tokens": ids.shape[1],
        "committee_p50_ms": round(committee, 3),
        "reference_p50_ms": round(single, 3),
        "committee_over_reference": round(committee / single, 3),
    }


def step_latency(args, scale, devices, work) -> dict:
    command = [sys.executable, __file__, "--latency", scale.device]
    process = run([*command, *(["--rehearse"] if args.rehearse else [])], LIMITS["latency"])
    if process.returncode != 0:
        return failure(process)
    return {"passed": True, **json.loads(process.stdout.strip().splitlines()[-1])}


def step_paper_slice(args, scale, devices, work) -> dict:
    if skipped := needs_data(args):
        return skipped
    import yaml

    from tinylm.study.presets import PRESETS

    fields = PRESETS["paper"].to_dict()
    fields.pop("name")
    fields.update(
        arch=scale.slice_arch,
        tasks=["agnews"],
        seeds=1,
        gap_ws=scale.ws,
        ws_grid=[scale.ws],
        committee_ws=scale.ws,
        pretrain={**fields["pretrain"], "max_tokens": scale.slice_tokens},
        finetune={**fields["finetune"], "epochs": 1},
        sizes={"agnews": list(scale.slice_sizes)},
    )
    preset = work / "paper-slice.yaml"
    preset.parent.mkdir(parents=True, exist_ok=True)
    preset.write_text(yaml.safe_dump(fields))
    on = ",".join(f"cuda:{i}" for i in range(len(devices))) if scale.device == "cuda" else "cpu"
    command = tinylm(
        "study", "gap", "--preset", str(preset), "--devices", on, "--quiet",
        "--data-dir", args.data_dir, "--out", str(work / "results"), "--runs", str(work / "runs"),
    )  # fmt: skip
    process = run(command, LIMITS["paper_slice"])
    if process.returncode != 0:
        return failure(process)
    rows = work / "results" / "gap" / "paper-slice" / "results.csv"
    text = rows.read_text() if rows.is_file() else ""
    return {"passed": bool(text), "devices": on, "results_csv": text}


STEPS = {
    "tests": step_tests,
    "bench_pretrain": step_bench_pretrain,
    "latency": step_latency,
    "paper_slice": step_paper_slice,
}

if __name__ == "__main__":
    sys.exit(main())
