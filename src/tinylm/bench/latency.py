"""`tinylm bench latency`: per-example latency (batch 1: p50, p90) and throughput (batch 32)
of one classifier or of a soft committee of several.

A committee runs in two modes: `sequential` (members one after another) and `parallel`
(members at once, one thread each: PyTorch releases the GIL inside its operations). Its output is
the average of the members' probabilities, as in the paper's soft committee.

With the ONNX engine (`onnx_latency`), the same texts also go through the model's ONNX export
in ONNX Runtime (a committee: its one-graph export), with as many threads as PyTorch, in the same
process and run, so the two engines' figures compare (`onnx_speedups`).
"""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from tinylm.data.token_cache import TokenizedTexts
from tinylm.train.batches import pad

from .common import machine


def _sequential(members, ids, mask):
    return torch.stack([m(ids, mask).logits.softmax(-1) for m in members]).mean(0)


def _parallel(pool: ThreadPoolExecutor, members, ids, mask):
    def probabilities(model):
        with torch.no_grad():  # grad mode is per thread: the caller's no_grad does not reach here
            return model(ids, mask).logits.softmax(-1)

    futures = [pool.submit(probabilities, m) for m in members]
    return torch.stack([f.result() for f in futures]).mean(0)


@torch.no_grad()
def _time(run, tokens: TokenizedTexts, pad_id: int, batch_size: int, batches: int) -> list[float]:
    """Seconds per call of `run` on successive batches (after two warm-up calls)."""
    count = len(tokens)
    seconds = []
    for i in range(batches + 2):
        chosen = [(i * batch_size + j) % count for j in range(batch_size)]
        ids, mask = pad([tokens[k] for k in chosen], pad_id)
        start = time.perf_counter()
        run(ids, mask)
        if i >= 2:
            seconds.append(time.perf_counter() - start)
    return seconds


def measure(run, tokens: TokenizedTexts, pad_id: int, examples: int = 50, batches: int = 5) -> dict:
    single = np.array(_time(run, tokens, pad_id, 1, examples)) * 1000
    batched = _time(run, tokens, pad_id, 32, batches)
    return {
        "p50_ms": float(np.percentile(single, 50)),
        "p90_ms": float(np.percentile(single, 90)),
        "throughput_per_s": 32 * len(batched) / sum(batched) if batched else None,
    }


def bench_latency(
    members: dict, tokens: TokenizedTexts, pad_id: int, examples: int = 50, batches: int = 5
) -> dict:
    """Figures for each model, and for the committee of all of them when there are several."""
    models = list(members.values())
    for model in models:
        model.eval()
    report = {
        "models": {
            name: measure(
                lambda ids, mask, m=m: m(ids, mask).logits.softmax(-1),
                tokens,
                pad_id,
                examples,
                batches,
            )
            for name, m in members.items()
        },
        "mean_tokens": float(tokens.lengths.mean()),
        "threads": torch.get_num_threads(),
        "machine": machine(),
    }
    if len(models) > 1:
        report["committee"] = committee_latency(models, tokens, pad_id, examples, batches)
    return report


def committee_latency(
    models: list, tokens: TokenizedTexts, pad_id: int, examples: int = 50, batches: int = 5
) -> dict:
    """`measure` of the soft committee, members run sequential and parallel."""
    with ThreadPoolExecutor(max_workers=len(models)) as pool:
        return {
            "sequential": measure(
                lambda ids, mask: _sequential(models, ids, mask), tokens, pad_id, examples, batches
            ),
            "parallel": measure(
                lambda ids, mask: _parallel(pool, models, ids, mask),
                tokens,
                pad_id,
                examples,
                batches,
            ),
        }


def onnx_latency(
    members: dict, tokens: TokenizedTexts, pad_id: int, examples: int = 50, batches: int = 5
) -> dict:
    """`measure` of the ONNX export (checked against PyTorch, kept in memory) of the one
    model, or of the committee of several as one graph."""
    from tinylm.model.onnx import OnnxClassifier, build_onnx, require

    data, difference = build_onnx(members)
    figures = measure(OnnxClassifier(data), tokens, pad_id, examples, batches)
    report = {
        "onnxruntime": require("onnxruntime").__version__,
        "max_difference": difference,
    }
    if len(members) > 1:
        return {"committee": figures, **report}
    return {"models": {next(iter(members)): figures}, **report}


def onnx_speedups(report: dict) -> dict:
    """PyTorch's batch-1 p50 over ONNX Runtime's (above 1: ONNX is faster) and ONNX Runtime's
    batch-32 throughput over PyTorch's, for each model and for the committee against each of
    PyTorch's modes."""
    pairs = [
        (name, report["models"][name], f) for name, f in report["onnx"].get("models", {}).items()
    ]
    if "committee" in report["onnx"]:
        pairs += [
            (f"committee ({mode})", torch_figures, report["onnx"]["committee"])
            for mode, torch_figures in report["committee"].items()
        ]
    return {
        name: {
            "batch1_p50": t["p50_ms"] / o["p50_ms"],
            "batch32_throughput": o["throughput_per_s"] / t["throughput_per_s"],
        }
        for name, t, o in pairs
    }
