"""`tinylm bench scaling`: how training cost grows with the work.

Training tokens/s and peak memory of tinylm's pre-training step as hidden size, depth,
sequence length and batch size grow one at a time from a base model, on full sequences of
random tokens (no padding); and the pre-training time that the measured rate of a named
architecture projects for each corpus size Ws of the paper's grid.
"""

import dataclasses
import time

import torch

from tinylm.config import MASK_RATE, ModelConfig, TrainConfig
from tinylm.model.accounting import training_flops_per_token
from tinylm.model.bert import IGNORE_INDEX, BertForMaskedLM
from tinylm.train.runtime import build_optimizer

from .common import PeakMemory, machine, state_mb

BASE = ModelConfig(layers=2, heads=4, hidden=256)
BASE_LENGTH, BASE_BATCH = 128, 32
GRID = {
    "hidden": [128, 256, 512],
    "layers": [1, 2, 4],
    "length": [32, 64, 128],
    "batch_size": [8, 16, 32],
}
WS_GRID = [2_000, 5_000, 10_000, 20_000, 40_000, 90_000]


def _step_rate(arch: ModelConfig, length: int, batch_size: int, steps: int) -> dict:
    torch.manual_seed(0)
    model = BertForMaskedLM(arch).train()
    optimizer = build_optimizer(model, TrainConfig(), torch.device("cpu"))
    ids = torch.randint(1000, arch.vocab_size, (batch_size, length))
    labels = torch.where(torch.rand(ids.shape) < MASK_RATE, ids, IGNORE_INDEX)

    def step():
        model(ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()
    with PeakMemory(torch.device("cpu")) as peak:
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    tokens_per_s = steps * ids.numel() / (time.perf_counter() - start)
    return {
        "tokens_per_s": tokens_per_s,
        "peak_memory_mb": round(state_mb(model, optimizer) + peak.peak_mb, 1),
        "flops_per_token": training_flops_per_token(arch, length),
    }


def bench_scaling(steps: int = 3, projection: dict | None = None) -> dict:
    """`projection`: {"arch": name, "tokens_per_s": rate, "tokens_per_paragraph": mean} to
    project pre-training hours for the Ws grid at the paper's 50 epochs."""
    rows = []
    for axis, values in GRID.items():
        for value in values:
            arch, length, batch = BASE, BASE_LENGTH, BASE_BATCH
            if axis in ("hidden", "layers"):
                fields = {axis: value}
                if axis == "hidden":
                    fields.update(heads=value // 64, intermediate=4 * value)
                arch = dataclasses.replace(BASE, **fields)
            elif axis == "length":
                length = value
            else:
                batch = value
            rows.append(
                {
                    "vary": axis,
                    "value": value,
                    "hidden": arch.hidden,
                    "layers": arch.layers,
                    "length": length,
                    "batch_size": batch,
                    **_step_rate(arch, length, batch, steps),
                }
            )
    report = {
        "base": {
            "hidden": BASE.hidden,
            "layers": BASE.layers,
            "length": BASE_LENGTH,
            "batch_size": BASE_BATCH,
        },
        "rows": rows,
        "machine": machine(),
    }
    if projection:
        per_paragraph = projection["tokens_per_paragraph"]
        report["pretraining_hours"] = {
            "arch": projection["arch"],
            "tokens_per_s": projection["tokens_per_s"],
            "epochs": 50,
            "by_ws": {
                ws: 50 * ws * per_paragraph / projection["tokens_per_s"] / 3600 for ws in WS_GRID
            },
        }
    return report
