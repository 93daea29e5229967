"""`tinylm bench pretrain` and `tinylm bench finetune`: tinylm's training step against the
reference procedure's, on the same model size, batch size and data, in one process.

Both procedures draw from the same examples: tinylm as it trains (batches grouped by length,
padded to their longest sequence, sparse MLM prediction, the run's precision), the reference as
its code does (random batches padded to 128, dense vocabulary logits, fp32 on a CPU, fp16
autocast on a GPU). Throughput counts real tokens (or examples), never padding.

Conv models (the BERT-1 front-end) have no Hugging Face form, so no reference: tinylm is timed
alone and the report says why. MFU divides by the measured peak of the run's own precision.
`other_cores` says how much of the machine other processes used while timing; `busy` flags
figures that read low because of it.
"""

import torch

from tinylm.config import CorpusConfig, ImplConfig, ModelConfig, TaskConfig
from tinylm.data.corpus import load_subset
from tinylm.data.sampling import sample_task, tokenize_sample
from tinylm.data.tasks import load_task
from tinylm.model.bert import BertForMaskedLM, BertForSequenceClassification
from tinylm.tokenizer import load_tokenizer
from tinylm.train.batches import BatchPlan, pad
from tinylm.train.masking import mask_tokens
from tinylm.train.runtime import setup_runtime
from tinylm.train.trainer import Batch

from .common import (
    MachineLoad,
    PeakMemory,
    alternate,
    best_of,
    device_peaks,
    machine,
    state_mb,
    timing_trainer,
)
from .components import component_ms
from .reference import ReferenceStep, pad_to

NO_REFERENCE = "the reference procedure has no Hugging Face form for conv models: tinylm alone"


class _Procedure:
    """One optimizer step on the examples of `plan`'s step; returns the work units done."""

    def __init__(self, step, plan: BatchPlan, tokens, pad_id: int, units: str):
        self.step, self.plan, self.tokens, self.pad_id, self.units = (
            step,
            plan,
            tokens,
            pad_id,
            units,
        )
        self.flops = 0.0
        self.done = 0

    def __call__(self, step: int) -> int:
        indices = self.plan.indices(step)
        ids, mask = pad([self.tokens[i] for i in indices], self.pad_id)
        self.flops += self.step(step, indices, ids, mask)
        done = int(mask.sum()) if self.units == "tokens" else len(indices)
        self.done += done
        return done


def _measure(procedures: dict, models: dict, device, warmup, steps, rounds):
    """Rates, peak memory and the machine's load while the rates were timed."""
    with MachineLoad() as load:
        rates = alternate(procedures, warmup=warmup, steps=steps, rounds=rounds, device=device)
    memory = {}
    last = warmup + rounds * steps
    for name, run in procedures.items():
        model, optimizer = models[name]
        with PeakMemory(device) as peak:
            run(last)
        memory[name] = round(state_mb(model, optimizer) + peak.peak_mb, 1)
    return rates, memory, load


def _figures(runtime, peaks: dict, load: MachineLoad, reference: bool) -> dict:
    """The fields both training benchmarks report about where and how they measured."""
    precision = runtime.precision
    return {
        "device": runtime.device.type,
        "precision": precision,
        "peak_flops": peaks[f"peak_flops_{precision}"],  # MFU's denominator: this precision's
        **{k: v for k, v in peaks.items() if k != "peak_flops"},
        "other_cores": load.other_cores,
        "busy": load.busy,
        **({} if reference else {"reference_note": NO_REFERENCE}),
    }


def bench_pretrain(
    arch: ModelConfig,
    *,
    data_dir,
    cache_dir,
    device: str = "auto",
    batch_size: int = 32,
    ws: int = 2000,
    warmup: int = 3,
    steps: int = 5,
    rounds: int = 2,
    precision: str = "auto",
    reference: bool = True,
) -> dict:
    """The figures of the module doc; `reference=False` times tinylm alone."""
    runtime = setup_runtime(ImplConfig(device=device, precision=precision))
    tokenizer = load_tokenizer(data_dir, max_length=arch.max_length)
    corpus = load_subset(
        CorpusConfig(ws=ws),
        data_dir=data_dir,
        tokenizer=tokenizer,
        cache_dir=cache_dir,
        progress=False,
    )
    tokens = corpus.tokens
    special = torch.tensor([tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id])
    torch.manual_seed(0)
    ours = BertForMaskedLM(arch).to(runtime.device).train()
    trainer = timing_trainer(ours, runtime)
    reference = reference and not arch.conv_layers
    baseline = ReferenceStep(arch, runtime.device) if reference else None

    def masked(step, ids, mask):
        return mask_tokens(
            ids,
            mask,
            special_ids=special,
            mask_id=tokenizer.mask_id,
            vocab_size=arch.vocab_size,
            generator=torch.Generator().manual_seed(step),
        )

    def tinylm_step(step, indices, ids, mask):
        inputs, labels = masked(step, ids, mask)
        return trainer.step(step, Batch(inputs, mask, labels)).flops

    def reference_step(step, indices, ids, mask):
        inputs, labels = masked(step, ids, mask)
        baseline(pad_to(inputs, tokenizer.pad_id), pad_to(mask, 0), pad_to(labels, -100))
        return 0.0

    plans = {
        "tinylm": BatchPlan(tokens.lengths, batch_size, 0, True),
        "reference": BatchPlan(tokens.lengths, batch_size, 0, False),
    }
    procedures = {
        "tinylm": _Procedure(tinylm_step, plans["tinylm"], tokens, tokenizer.pad_id, "tokens")
    }
    models = {"tinylm": (ours, trainer.optimizer)}
    if baseline is not None:
        procedures["reference"] = _Procedure(
            reference_step, plans["reference"], tokens, tokenizer.pad_id, "tokens"
        )
        models["reference"] = (baseline.model, baseline.optimizer)
    before = device_peaks(runtime.device)
    rates, memory, load = _measure(procedures, models, runtime.device, warmup, steps, rounds)
    step = warmup + rounds * steps + 1  # a batch no timing has seen, of the same plan
    ids, mask = pad([tokens[i] for i in plans["tinylm"].indices(step)], tokenizer.pad_id)
    inputs, labels = masked(step, ids, mask)
    components = component_ms(trainer, Batch(inputs, mask, labels), runtime)
    peaks = best_of(before, device_peaks(runtime.device))
    rates.setdefault("reference", None)
    timed = procedures["tinylm"]
    flops_per_token = timed.flops / max(1, timed.done)
    figures = _figures(runtime, peaks, load, baseline is not None)
    return {
        "benchmark": "pretrain",
        **figures,
        "batch_size": batch_size,
        "ws": ws,
        "arch": arch.to_dict(),
        "tinylm_tokens_per_s": rates["tinylm"],
        "reference_tokens_per_s": rates["reference"],
        "speedup": rates["tinylm"] / rates["reference"] if rates["reference"] else None,
        "mfu": rates["tinylm"] * flops_per_token / figures["peak_flops"],
        "tokens_per_paragraph": tokens.num_tokens / len(tokens),
        "tinylm_flops_per_token": flops_per_token,
        "components_ms": {k: round(v, 2) for k, v in components.items()},
        "components_batch": list(inputs.shape),
        "peak_memory_mb": memory,
        "machine": machine(),
        "timing": {"warmup": warmup, "steps": steps, "rounds": rounds},
    }


def bench_finetune(
    arch: ModelConfig,
    *,
    task: str,
    data_dir,
    cache_dir,
    device: str = "auto",
    batch_size: int = 32,
    warmup: int = 3,
    steps: int = 5,
    rounds: int = 2,
    precision: str = "auto",
    train_per_label: int | None = None,
) -> dict:
    runtime = setup_runtime(ImplConfig(device=device, precision=precision))
    config = TaskConfig(name=task, train_per_label=train_per_label, test_per_label=1)
    task_data = load_task(config, data_dir)
    sample = sample_task(task_data, config)  # the paper's train sample: real lengths
    tokenizer = load_tokenizer(data_dir, max_length=arch.max_length)
    tokens = tokenize_sample(sample, tokenizer, cache_dir, progress=False)["train"]
    labels = torch.from_numpy(sample.train.labels)
    torch.manual_seed(0)
    ours = BertForSequenceClassification(arch, task_data.num_labels).to(runtime.device).train()
    trainer = timing_trainer(ours, runtime)
    reference = (
        None
        if arch.conv_layers
        else ReferenceStep(arch, runtime.device, num_labels=task_data.num_labels)
    )

    def tinylm_step(step, indices, ids, mask):
        return trainer.step(step, Batch(ids, mask, labels[indices])).flops

    def reference_step(step, indices, ids, mask):
        reference(pad_to(ids, tokenizer.pad_id), pad_to(mask, 0), labels[indices])
        return 0.0

    def procedure(step, group: bool):
        plan = BatchPlan(tokens.lengths, batch_size, 0, group)
        return _Procedure(step, plan, tokens, tokenizer.pad_id, "examples")

    procedures = {"tinylm": procedure(tinylm_step, True)}
    models = {"tinylm": (ours, trainer.optimizer)}
    if reference is not None:
        procedures["reference"] = procedure(reference_step, False)
        models["reference"] = (reference.model, reference.optimizer)
    before = device_peaks(runtime.device)
    rates, memory, load = _measure(procedures, models, runtime.device, warmup, steps, rounds)
    peaks = best_of(before, device_peaks(runtime.device))
    rates.setdefault("reference", None)
    timed = procedures["tinylm"]
    figures = _figures(runtime, peaks, load, reference is not None)
    return {
        "benchmark": "finetune",
        "task": task_data.name,
        **figures,
        "batch_size": batch_size,
        "arch": arch.to_dict(),
        "mean_tokens": float(tokens.lengths.mean()),
        "tinylm_examples_per_s": rates["tinylm"],
        "reference_examples_per_s": rates["reference"],
        "speedup": rates["tinylm"] / rates["reference"] if rates["reference"] else None,
        "mfu": rates["tinylm"] * (timed.flops / max(1, timed.done)) / figures["peak_flops"],
        "peak_memory_mb": memory,
        "machine": machine(),
        "timing": {"warmup": warmup, "steps": steps, "rounds": rounds},
    }
