"""How `--precision auto` chooses: by measured speed, not by a CPU flag.

On a CPU the flag says little: bf16 matrix products ran 1.6 to 1.9 times faster per training
step than fp32 on one AVX512-BF16 machine (AMD EPYC, torch 2.13) and 0.55 to 0.6 times as fast
on another (a Xeon with the same flag and no AMX). So `auto` times bf16 and fp32 products of a
small model's layer shapes (about a second) and takes bf16 only when it is clearly faster; the
result is cached per machine (CPU, torch version, threads) in the cache folder, so every run on
a machine makes the same choice. A CPU without bf16 instructions runs fp32 untimed (there bf16
is emulated, 3x slower), and a CUDA device runs bf16 where it supports it.

Evaluation never uses autocast: a model is scored in fp32 whatever precision trained it
(train/evaluation.py), so it has one accuracy.
"""

import contextlib
import functools
import json
import time
from pathlib import Path

import torch

from tinylm.files import write_json
from tinylm.paths import resolve_cache_dir
from tinylm.provenance import cpu_name

# The names configs, reports and job keys give the dtypes (never torch's "bfloat16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
NAMES = {dtype: name for name, dtype in DTYPES.items()}
BF16_MIN_SPEEDUP = 1.25  # bf16 rounds more: it must buy clearly more speed than this
CACHE_FILE = "precision.json"
# (rows, inner, columns) of the products timed: a feed-forward layer of hidden 256 and 512
# over a batch of 32 x 128 and 32 x 64 tokens, the sizes the cpu presets train
SHAPES = ((4096, 256, 1024), (2048, 512, 2048))


def auto_precision(device: torch.device) -> tuple[str, str]:
    """(fp32 or bf16, a sentence saying why)."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", "precision bf16 (auto: this GPU supports bf16)"
        return "fp32", "precision fp32 (auto: this GPU does not support bf16)"
    if not cpu_has_bf16_instructions():
        return "fp32", "precision fp32 (auto: this CPU has no bf16 matrix instructions)"
    rates = cpu_product_rates()
    speedup = rates["bf16"] / rates["fp32"]
    choice = "bf16" if speedup >= BF16_MIN_SPEEDUP else "fp32"
    return choice, (
        f"precision {choice} (auto: bf16 products ran {speedup:.2f}x as fast as fp32 on this "
        f"CPU; bf16 needs {BF16_MIN_SPEEDUP}x)"
    )


def cpu_has_bf16_instructions() -> bool:
    """AVX512-BF16 or AMX on Linux (elsewhere: assume not, and run fp32)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_product_rates() -> dict[str, float]:
    """Measured FLOP/s of fp32 and bf16 products on this CPU, from the cache when measured
    before."""
    return _rates(_machine_key(), resolve_cache_dir() / CACHE_FILE)


@functools.cache
def _rates(key: str, path: Path) -> dict[str, float]:
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        cached = {}
    if isinstance(cached.get(key), dict) and {"fp32", "bf16"} <= set(cached[key]):
        return cached[key]
    rates = {"fp32": _time_products(torch.float32), "bf16": _time_products(torch.bfloat16)}
    with contextlib.suppress(OSError):  # a read-only cache: measure again next time
        write_json(path, {**cached, key: rates})
    return rates


def _machine_key() -> str:
    return f"{cpu_name()} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def _time_products(dtype: torch.dtype, repeats: int = 5) -> float:
    """The best FLOP/s over `repeats` products of each shape (after one untimed product)."""
    best = 0.0
    for rows, inner, columns in SHAPES:
        a = torch.randn(rows, inner).to(dtype)
        b = torch.randn(inner, columns).to(dtype)
        a @ b
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * rows * inner * columns / (time.perf_counter() - start))
    return best
