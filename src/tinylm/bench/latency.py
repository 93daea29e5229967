"""`tinylm bench latency`: per-example latency (batch 1: p50, p90) and throughput (batch 32)
of one classifier or of a soft committee of several.

A committee runs in two modes: `sequential` (members one after another) and `parallel`
(members at once, a Python thread each: PyTorch releases the GIL inside its operations). Its
output is the average of the members' probabilities, as in the paper's soft committee.

With an ONNX export (`bench_latency(..., onnx=...)`), the same batches also go through it in
ONNX Runtime (a committee: its one-graph export), with as many threads as PyTorch, the engines
taking turns on every batch, so their figures compare (`onnx_speedups`); its int8 form
(`onnx_int8=...`) takes its turn too.
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
def _time(
    runs: dict, tokens: TokenizedTexts, pad_id: int, batch_size: int, batches: int
) -> dict[str, list[float]]:
    """Seconds per call of each of `runs` on successive batches (after two warm-up calls). The
    runs take turns on each batch, so a drift of the machine falls on all of them alike."""
    count = len(tokens)
    seconds = {name: [] for name in runs}
    for i in range(batches + 2):
        chosen = [(i * batch_size + j) % count for j in range(batch_size)]
        ids, mask = pad([tokens[k] for k in chosen], pad_id)
        for name, run in runs.items():
            start = time.perf_counter()
            run(ids, mask)
            if i >= 2:
                seconds[name].append(time.perf_counter() - start)
    return seconds


def measure(run, tokens: TokenizedTexts, pad_id: int, examples: int = 50, batches: int = 5) -> dict:
    return measure_together({"run": run}, tokens, pad_id, examples, batches)["run"]


def measure_together(
    runs: dict, tokens: TokenizedTexts, pad_id: int, examples: int = 50, batches: int = 5
) -> dict[str, dict]:
    """`measure` of each of `runs` (name: run(ids, mask)), timed in turn on the same batches."""
    singles = _time(runs, tokens, pad_id, 1, examples)
    batched = _time(runs, tokens, pad_id, 32, batches)
    report = {}
    for name in runs:
        single = np.array(singles[name]) * 1000
        report[name] = {
            "p50_ms": float(np.percentile(single, 50)),
            "p90_ms": float(np.percentile(single, 90)),
            "throughput_per_s": (
                32 * len(batched[name]) / sum(batched[name]) if batched[name] else None
            ),
        }
    return report


def bench_latency(
    members: dict,
    tokens: TokenizedTexts,
    pad_id: int,
    examples: int = 50,
    batches: int = 5,
    onnx=None,
    onnx_int8=None,
) -> dict:
    """Figures for each model, and for the committee of all of them when there are several.
    With `onnx` (export/onnx.py's OnnxClassifier of the one model, or of the committee of
    several as one graph), its figures too, timed in turn with PyTorch's on the same batches,
    and the ratios of the two engines' (`onnx_speedups`); with `onnx_int8` (its int8 form)
    likewise, under `onnx_int8` and `onnx_int8_speedup`."""
    models = list(members.values())
    for model in models:
        model.eval()
    engines = {k: v for k, v in (("onnx", onnx), ("onnx_int8", onnx_int8)) if v is not None}
    report = {"models": {}}
    for name, m in members.items():
        runs = {"torch": lambda ids, mask, m=m: m(ids, mask).logits.softmax(-1)}
        single = len(models) == 1
        figures = measure_together(
            {**runs, **engines} if single else runs, tokens, pad_id, examples, batches
        )
        report["models"][name] = figures["torch"]
        for engine in engines if single else ():
            report[engine] = {"models": {name: figures[engine]}}
    report.update(
        mean_tokens=float(tokens.lengths.mean()), threads=torch.get_num_threads(), machine=machine()
    )
    if len(models) > 1:
        figures = committee_latency(models, tokens, pad_id, examples, batches, engines or None)
        report["committee"] = {mode: figures[mode] for mode in ("sequential", "parallel")}
        for engine in engines:
            report[engine] = {"committee": figures[engine]}
    for engine in engines:
        report[f"{engine}_speedup"] = onnx_speedups(report, engine)
    return report


def committee_latency(
    models: list,
    tokens: TokenizedTexts,
    pad_id: int,
    examples: int = 50,
    batches: int = 5,
    others: dict | None = None,
) -> dict:
    """`measure` of the soft committee, members run sequential and parallel; with `others`
    (name: run), those too, the runs taking turns on every batch."""
    with ThreadPoolExecutor(max_workers=len(models)) as pool:
        runs = {
            "sequential": lambda ids, mask: _sequential(models, ids, mask),
            "parallel": lambda ids, mask: _parallel(pool, models, ids, mask),
        }
        if others:
            return measure_together({**runs, **others}, tokens, pad_id, examples, batches)
        return {name: measure(run, tokens, pad_id, examples, batches) for name, run in runs.items()}


def committee_figures(
    models: list, tokens: TokenizedTexts, pad_id: int, examples: int = 50, batches: int = 5
) -> dict:
    """`committee_latency` as a report's flat fields: batch-1 latency (p50, p90) and batch-32
    throughput, members run in parallel and (`_sequential`) one after another."""
    timing = committee_latency(models, tokens, pad_id, examples, batches)
    return {
        "latency_ms": timing["parallel"]["p50_ms"],
        "latency_ms_p90": timing["parallel"]["p90_ms"],
        "latency_ms_sequential": timing["sequential"]["p50_ms"],
        "latency_ms_sequential_p90": timing["sequential"]["p90_ms"],
        "throughput_per_s": timing["parallel"]["throughput_per_s"],
        "throughput_per_s_sequential": timing["sequential"]["throughput_per_s"],
    }


def onnx_speedups(report: dict, engine: str = "onnx") -> dict:
    """PyTorch's batch-1 p50 over ONNX Runtime's (above 1: ONNX is faster) and ONNX Runtime's
    batch-32 throughput over PyTorch's, for the one model, or for the committee against each
    of PyTorch's modes; `engine`: the report's entry of the ONNX figures (onnx, onnx_int8)."""
    onnx = report[engine]
    pairs = [(name, report["models"][name], f) for name, f in onnx.get("models", {}).items()]
    if "committee" in onnx:
        pairs += [
            (f"committee ({mode})", torch_figures, onnx["committee"])
            for mode, torch_figures in report["committee"].items()
        ]
    return {
        name: {
            "batch1_p50": t["p50_ms"] / o["p50_ms"],
            "batch32_throughput": o["throughput_per_s"] / t["throughput_per_s"],
        }
        for name, t, o in pairs
    }
