"""Measurements shared by the benchmarks: the device's matmul peak, peak memory, and timing
two procedures in the same process, alternating A, B, A, B after a warm-up."""

import ctypes
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import torch

from tinylm import __version__
from tinylm.config import MASK_RATE, ModelConfig, TrainConfig
from tinylm.model.bert import IGNORE_INDEX, BertForMaskedLM, BertForSequenceClassification
from tinylm.provenance import cpu_name, git_commit
from tinylm.train.precision import NAMES
from tinylm.train.runtime import Runtime, measure_matmul_flops
from tinylm.train.trainer import Batch, Trainer


def device_peaks(device: torch.device) -> dict[str, float]:
    """Measured dense matmul FLOP/s per dtype; `peak_flops` is the best of them (on a CPU
    without bf16 instructions fp32 is the faster one). Measured now, not cached: the
    benchmarks call it before and after timing and keep the higher figures, since a shared
    machine's capacity drifts."""
    dtypes = [torch.float32, torch.bfloat16] + ([torch.float16] if device.type == "cuda" else [])
    peaks = {f"peak_flops_{NAMES[d]}": measure_matmul_flops(device, d) for d in dtypes}
    return {"peak_flops": max(peaks.values()), **peaks}


def best_of(*reports: dict[str, float]) -> dict[str, float]:
    return {key: max(r[key] for r in reports) for key in reports[0]}


class PeakMemory:
    """Peak memory of what runs inside `with` (MB): CUDA's allocator peak, or on Linux CPUs the
    process's peak resident set (VmHWM, reset on entry), above the resident set on entry.

    On CPUs glibc would keep freed blocks resident (its mmap threshold grows as large blocks
    are freed), hiding a step's peak: the threshold is fixed at 128 KiB and freed memory is
    trimmed before measuring, so the resident set follows the live tensors.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.peak_mb = 0.0

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
        else:
            _release_freed_memory()
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
            self.start = _status_kb("VmRSS") * 1024
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            peak = _status_kb("VmHWM") * 1024
        self.peak_mb = (peak - self.start) / 2**20


class MachineLoad:
    """The CPU cores other processes kept busy while `with` ran: the machine's busy time
    (/proc/stat; a virtual machine's stolen time included) less this process's own, over the
    wall time. A benchmark's figures on a machine where `busy` read low: say so beside them.
    Off Linux, `other_cores` stays None."""

    BUSY_CORES = 0.25  # more than a quarter of a core of other work: the machine was busy

    def __init__(self):
        self.other_cores: float | None = None

    @property
    def busy(self) -> bool | None:
        return None if self.other_cores is None else self.other_cores > self.BUSY_CORES

    def __enter__(self):
        self.start = (_busy_seconds(), _own_seconds(), time.perf_counter())
        return self

    def __exit__(self, *exc):
        busy, own, wall = _busy_seconds(), _own_seconds(), time.perf_counter()
        if busy is not None and self.start[0] is not None:
            other = (busy - self.start[0]) - (own - self.start[1])
            self.other_cores = round(max(0.0, other) / (wall - self.start[2]), 2)


def _busy_seconds() -> float | None:
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait are busy
    ticks = [int(v) for v in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _release_freed_memory() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: the figure is then an upper bound of the step's growth
        return
    libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD, fixed: large blocks return on free
    libc.malloc_trim(0)


def _status_kb(field: str) -> int:
    match = re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(match.group(1)) if match else 0


def state_mb(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> float:
    """Weights, gradients and optimizer state (MB): the memory a step keeps between steps."""
    tensors = list(model.parameters()) + [b for b in model.buffers()]
    total = sum(t.numel() * t.element_size() for t in tensors)
    total += sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    if optimizer is not None:
        for state in optimizer.state.values():
            total += sum(v.numel() * v.element_size() for v in state.values() if torch.is_tensor(v))
    return total / 2**20


def alternate(
    procedures: dict[str, Callable[[int], int]],
    *,
    warmup: int,
    steps: int,
    rounds: int,
    device: torch.device,
) -> dict[str, float]:
    """Work units per second of each procedure. `procedure(step)` runs one step and returns the
    units it processed (tokens, examples). After `warmup` steps each, the procedures take turns
    for `rounds` rounds of `steps` steps, so drifts of the machine (other load, clock) fall on
    both alike; all procedures see the same step numbers."""
    done = dict.fromkeys(procedures, 0)
    seconds = dict.fromkeys(procedures, 0.0)
    for run in procedures.values():
        for step in range(warmup):
            run(step)
    for round_ in range(rounds):
        for name, run in procedures.items():
            sync(device)
            start = time.perf_counter()
            for step in range(warmup + round_ * steps, warmup + (round_ + 1) * steps):
                done[name] += run(step)
            sync(device)
            seconds[name] += time.perf_counter() - start
    return {name: done[name] / seconds[name] for name in procedures}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def machine() -> dict:
    """Where a figure was measured, for docs/benchmarks.md."""
    info = {
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "tinylm": __version__,
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def synthetic_training(
    arch: ModelConfig, kind: str, runtime: Runtime, batch: int, length: int
) -> tuple[Trainer, Batch]:
    """The trainer of a fresh model (`pretrain`: a masked LM predicting MASK_RATE of the
    positions; `finetune`: a 4-label classifier) and a full batch of random tokens, no
    padding: for timing the training step at a given shape."""
    torch.manual_seed(0)
    if kind == "pretrain":
        model = BertForMaskedLM(arch)
    else:
        model = BertForSequenceClassification(arch, 4, ["a", "b", "c", "d"])
    trainer = timing_trainer(model.to(runtime.device), runtime)
    length = min(length, arch.max_length)
    ids = torch.randint(min(1000, arch.vocab_size // 2), arch.vocab_size, (batch, length))
    if kind == "pretrain":
        labels = torch.where(torch.rand(ids.shape) < MASK_RATE, ids, IGNORE_INDEX)
    else:
        labels = torch.randint(0, 4, (batch,))
    return trainer, Batch(ids, torch.ones_like(ids), labels)


def timing_trainer(model: torch.nn.Module, runtime: Runtime) -> Trainer:
    """The trainer's own step, at the paper's optimizer settings and a constant rate (the
    schedule does not change the time of a step)."""
    train = TrainConfig(schedule="constant")
    return Trainer(model, train, runtime, steps_per_epoch=1, total_steps=1)
