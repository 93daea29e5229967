"""Where and how a run executes: device, precision, the optimizer, distributed ranks, seeds,
and the device's measured matrix-multiply peak for model FLOPs utilisation (MFU)."""

import contextlib
import functools
import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from tinylm.config import ImplConfig, TrainConfig
from tinylm.errors import TinylmError
from tinylm.model.bert import layer_depth
from tinylm.train.precision import DTYPES, NAMES, auto_precision
from tinylm.train.schedule import learning_rate, warmup_steps


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    dtype: torch.dtype  # autocast dtype; float32 means no autocast
    rank: int = 0
    world_size: int = 1
    precision_note: str = ""  # how `auto` chose the precision (printed by the trainer)
    checkpoints: bool = True  # ImplConfig.checkpoints: whether the trainer writes them

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def precision(self) -> str:
        """The training precision as configs spell it: fp32 or bf16."""
        return NAMES[self.dtype]

    def autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)


def setup_runtime(impl: ImplConfig) -> Runtime:
    """Device and precision; under torchrun also the process group (gloo on CPU, NCCL on GPU)."""
    if impl.threads:
        torch.set_num_threads(impl.threads)
    device = resolve_device(impl.device)
    torchrun = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    if torchrun and device.type == "cuda":  # one GPU per process, as torchrun numbers them
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if device.type == "cuda":
        # What names no index (torch.cuda.synchronize, the matmul peak, NCCL's communicator)
        # goes to this device too: under --devices a worker process runs one job on cuda:1
        # after another on cuda:0, and would otherwise keep using cuda:0.
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(device)
    rank, world_size = 0, 1
    if torchrun:
        rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        if world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    precision, note = resolve_precision(impl.precision, device)
    return Runtime(device, DTYPES[precision], rank, world_size, note, impl.checkpoints)


def resolve_device(spec: str) -> torch.device:
    """`auto` (cuda when present, else cpu), `cpu`, `cuda` or `cuda:N`."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TinylmError("device cuda was asked for, but no CUDA device is available")
    return device


def resolve_precision(precision: str, device: torch.device) -> tuple[str, str]:
    """(fp32 or bf16, how `auto` chose it, empty when asked for by name)."""
    if precision == "auto":
        return auto_precision(device)
    return precision, ""


def seed_step(seed: int, step: int, rank: int = 0) -> None:
    """Seeds the global RNG (dropout) from (seed, step, rank): a resumed run draws the same
    dropout masks as an uninterrupted one, with no RNG state to save."""
    torch.manual_seed((seed * 1_000_003 + step) * 1_009 + rank)


def step_generator(seed: int, step: int, rank: int = 0) -> torch.Generator:
    """A generator for the data-side draws of one step (MLM masks), from (seed, step, rank)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 1_009 + rank + 7)


def build_optimizer(model: nn.Module, train: TrainConfig, device: torch.device):
    """AdamW; weight decay on matrices only (not biases, norms or BatchNorm). With
    `train.layer_lr_decay` below 1, each layer's rate is that factor of the rate of the layer
    above it (the heads at the full rate; ULMFiT's and ELECTRA's layer-wise rates): each
    group's `lr_scale`, which `start_step` applies. Fused (one kernel over all parameters) on
    CPUs and GPUs: 5x faster per step than the default on CPU."""
    top = model.config.layers + 1
    groups: dict[float, tuple[list, list]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        scale = 1.0
        if train.layer_lr_decay != 1:
            scale = train.layer_lr_decay ** (top - layer_depth(name, model.config.layers))
        decay, no_decay = groups.setdefault(scale, ([], []))
        is_norm = "LayerNorm" in name or ".norm." in name
        (no_decay if parameter.ndim < 2 or is_norm else decay).append(parameter)
    params = [
        {"params": group, "weight_decay": weight_decay, "lr_scale": scale}
        for scale in sorted(groups, reverse=True)
        for group, weight_decay in zip(groups[scale], (train.weight_decay, 0.0), strict=True)
    ]
    return torch.optim.AdamW(params, lr=train.lr, fused=device.type in ("cpu", "cuda"))


def training_forward(model: nn.Module, runtime: Runtime, compile_model: bool) -> nn.Module:
    """What the training step calls: the model, wrapped in DDP across ranks, compiled if asked.
    (Saving and evaluating use the bare model.)"""
    forward = model
    if runtime.world_size > 1:
        forward = nn.parallel.DistributedDataParallel(model)
    return torch.compile(forward) if compile_model else forward


def apply_gradients(model: nn.Module, optimizer, grad_clip: float | None) -> None:
    """Clip the global gradient norm (when asked), step, and clear the gradients."""
    if grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def start_step(
    optimizer, train: TrainConfig, step: int, total: int, per_epoch: int, rank: int
) -> float:
    """Before step `step`: set the optimizer's learning rate from the schedule and seed the
    step's dropout. Returns the rate."""
    lr = learning_rate(
        step,
        lr=train.lr,
        schedule=train.schedule,
        total_steps=total,
        steps_per_epoch=per_epoch,
        warmup=warmup_steps(train, per_epoch, total),
        warmup_epochs=train.warmup_epochs,
    )
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
    seed_step(train.seed, step, rank)
    return lr


@functools.cache
def matmul_peak_flops(device: str, precision: str) -> float:
    """The device's (cpu, cuda:1) dense matmul throughput (FLOP/s) at a precision (fp32,
    bf16), measured once per process and device: the MFU denominator of training runs."""
    return measure_matmul_flops(torch.device(device), DTYPES[precision])


def measure_matmul_flops(device: torch.device, dtype: torch.dtype, warmup_s: float = 0.3) -> float:
    """The best of a few sizes and trials, after `warmup_s` seconds of sustained products (an
    idle CPU or GPU clocks up under load; one cold product under-reads its peak). On a CPU
    also one thread's rate times the threads: on a busy machine the threads of a parallel
    product wait for the one the scheduler starved (2 threads beside two busy processes read
    2 GFLOP/s where one thread alone reads 50), and an MFU over that peak reads far above 1."""
    if device.type == "cuda":
        return _best_rate(device, dtype, (4096, 8192), warmup_s)
    probe = torch.randn(PROBE_SIZE, PROBE_SIZE, dtype=dtype)
    probe @ probe
    start = time.perf_counter()
    probe @ probe
    sizes = cpu_matmul_sizes(2 * PROBE_SIZE**3 / (time.perf_counter() - start))
    best = _best_rate(device, dtype, sizes, warmup_s)
    threads = torch.get_num_threads()
    if threads > 1:
        try:
            torch.set_num_threads(1)
            best = max(best, threads * _best_rate(device, dtype, sizes[:1], warmup_s=0.0))
        finally:
            torch.set_num_threads(threads)
    return best


def _best_rate(
    device: torch.device, dtype: torch.dtype, sizes: tuple[int, ...], warmup_s: float
) -> float:
    a = torch.randn(sizes[0], sizes[0], device=device, dtype=dtype)
    start = time.perf_counter()
    while time.perf_counter() - start < warmup_s:
        a @ a
    best = 0.0
    for size in sizes:
        a = torch.randn(size, size, device=device, dtype=dtype)
        b = torch.randn(size, size, device=device, dtype=dtype)
        a @ b
        for _ in range(5):
            _synchronize(device)
            start = time.perf_counter()
            a @ b
            _synchronize(device)
            best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best


PROBE_SIZE = 256
MAX_PRODUCT_S = 1.0


def cpu_matmul_sizes(probe_rate: float) -> tuple[int, ...]:
    """The CPU sizes to time, given the FLOP/s of one small product: 1024 and 2048, less those
    one product of which would take over MAX_PRODUCT_S. A dtype the CPU has no instructions for
    (bf16 without avx512_bf16: about 1 GFLOP/s) would spend 17 s on each 2048 product."""
    sizes = tuple(s for s in (1024, 2048) if 2 * s**3 / probe_rate <= MAX_PRODUCT_S)
    return sizes or (PROBE_SIZE,)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def all_reduce_sum(value: torch.Tensor, runtime: Runtime) -> torch.Tensor:
    """The sum over ranks, on the device `value` is on. NCCL reduces CUDA tensors only, so the
    sum is taken on the run's device (for gloo on a CPU, in place)."""
    if runtime.world_size > 1:
        on_device = value.to(runtime.device)
        dist.all_reduce(on_device, op=dist.ReduceOp.SUM)
        value = on_device.to(value.device)
    return value


class Meter:
    """Mean loss, tokens/s and model FLOPs utilisation over the steps since the last report."""

    def __init__(self, peak_flops: float):
        self.peak = peak_flops
        self._reset()

    def _reset(self):
        self.tokens, self.flops, self.loss, self.steps = 0, 0.0, 0.0, 0
        self.start = time.perf_counter()

    def add(self, tokens: int, flops: float, loss: float) -> None:
        self.tokens += tokens
        self.flops += flops
        self.loss += loss
        self.steps += 1

    def report(self) -> dict:
        seconds = max(time.perf_counter() - self.start, 1e-9)
        figures = {
            "loss": self.loss / max(1, self.steps),
            "tokens_per_s": self.tokens / seconds,
            "mfu": self.flops / seconds / self.peak,
        }
        self._reset()
        return figures
