"""Where a masked-LM training step spends its time: each part of the model timed alone, forward
and backward, on the step's own shapes and precision, beside the whole step.

A profiler attributes a backward op to no module, so the parts are timed one at a time on
inputs of the shape they meet in the step (a fresh random input where the step would pass the
previous part's output). The parts do not add up exactly to the step: `other` is the rest
(masking, norms and residual adds between the parts, the loss's scaling, data movement), and
can come out slightly negative when the parts alone run warmer than in the step.
"""

import time
from collections.abc import Callable

import torch

from tinylm.bench.common import sync
from tinylm.model.bert import IGNORE_INDEX, BertForMaskedLM
from tinylm.model.mlm_loss import masked_lm_loss
from tinylm.train.runtime import Runtime
from tinylm.train.trainer import Batch, Trainer

PARTS = ("embeddings", "front-end", "attention", "feed-forward", "output layer", "optimizer")


def component_ms(trainer: Trainer, batch: Batch, runtime: Runtime, repeats: int = 3) -> dict:
    """Milliseconds per step of each of PARTS (those the model has), of the whole `step`, and
    `other`: the step less the parts. Best of `repeats` after one warm-up each."""
    model = trainer.model
    if not isinstance(model, BertForMaskedLM):
        raise TypeError("component times are those of a masked LM's step")
    bert, device = model.bert, runtime.device
    ids, mask = batch.inputs.to(device), batch.mask.to(device).bool()
    labels = batch.labels.to(device)
    keys_mask = mask[:, None, None, :]
    hidden = bert.embeddings.word_embeddings.weight.shape[1]

    def activations(rows=None):
        shape = (*ids.shape, hidden) if rows is None else (rows, hidden)
        return torch.randn(shape, device=device, requires_grad=True)

    def backward_of(f: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def run():
            with runtime.autocast():
                out = f()
            out.float().square().mean().backward()

        return run

    parts: dict[str, Callable[[], None]] = {
        "embeddings": backward_of(lambda: bert.embeddings(ids)),
    }
    if bert.conv is not None:
        x = activations()
        parts["front-end"] = backward_of(lambda: bert.conv(x, mask))
    x = activations()
    layers = bert.encoder.layer
    parts["attention"] = backward_of(
        lambda: sum(
            layer.attention.output.project(layer.attention.self(x, keys_mask)) for layer in layers
        )
    )
    parts["feed-forward"] = backward_of(
        lambda: sum(layer.output.project(layer.intermediate(x)) for layer in layers)
    )
    positions = labels != IGNORE_INDEX
    masked, targets = activations(int(positions.sum())), labels[positions]
    head = model.cls.predictions

    def output_layer():
        with runtime.autocast():
            loss = masked_lm_loss(
                head.transform(masked), bert.embeddings.word_embeddings.weight, head.bias, targets
            )
        loss.backward()

    parts["output layer"] = output_layer
    parts["optimizer"] = trainer.optimizer.step

    times = {name: _best_ms(run, device, repeats) for name, run in parts.items()}
    trainer.optimizer.zero_grad(set_to_none=True)
    step = _best_ms(lambda: trainer.step(0, batch), device, repeats)
    return {**times, "other": step - sum(times.values()), "step": step}


def _best_ms(run: Callable[[], object], device: torch.device, repeats: int) -> float:
    run()  # warm-up: allocations, first-call dispatch
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        run()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best * 1000
