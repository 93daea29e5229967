"""What a study would cost: each job's tokens and model FLOPs, and its time at the training
throughput measured on this device (a few timed steps per architecture, right now).

Costs are exact token counts (the corpus subset and the task sample are tokenized through the
cache) times the analytic FLOPs per token of model/accounting.py. The time is FLOPs divided by
the measured FLOP rate, so it inherits the model FLOPs utilisation of the timed steps.
"""

import dataclasses
import time

import torch

from tinylm.bench.common import synthetic_training
from tinylm.config import ImplConfig, ModelConfig
from tinylm.data.corpus import load_corpus
from tinylm.data.sampling import sample_task, tokenize_sample
from tinylm.data.tasks import load_task
from tinylm.model.accounting import (
    default_predicted_share,
    forward_flops_per_token,
    training_flops_per_token,
)
from tinylm.study.corpora import CORPUS_FILE
from tinylm.study.engine import Job, Store
from tinylm.study.kinds import job_kind
from tinylm.tokenizer import load_tokenizer
from tinylm.train.batches import schedule_length
from tinylm.train.checkpoint import list_checkpoints
from tinylm.train.runtime import setup_runtime

# Kinds of job that do not train have a fixed estimate (JobKind.seconds). Per training job:
# building the model, loading data and weights, evaluating, saving. Calibrated on the cpu
# preset (2 cores): with it, the estimated fine-tuning times (29-36 s) match the measured ones
# (25-43 s).
JOB_OVERHEAD_SECONDS = 8.0
TIMED_STEPS = 2


def job_cost(job: Job, store: Store, tokenizer, corpora: dict) -> dict:
    """Steps, tokens and training FLOPs of the whole job (`corpora`: those loaded so far)."""
    if job_kind(job.kind).seconds is not None:  # it does not train
        return {"steps": 0, "tokens": 0, "flops": 0.0, "shape": None}
    config = job.config
    train = config.train
    if job.kind == "pretrain":
        corpus_config = config.corpus
        if job.init is not None:
            built = store.path(job.init) / CORPUS_FILE
            # Before the corpus is built, the random subset it starts from stands in for it
            # (same paragraph count; the ablation and swaps keep its tokens within 2%).
            corpus_config = (
                dataclasses.replace(corpus_config, name=str(built))
                if store.done(job.init)
                else job.init.config.pool
            )
        if corpus_config.name not in corpora:
            corpora[corpus_config.name] = load_corpus(
                corpus_config.name,
                data_dir=store.data_dir,
                tokenizer=tokenizer,
                cache_dir=store.cache_dir,
                progress=False,
            )
        corpus = corpora[corpus_config.name]
        subset = corpus.subset(corpus_config.ws, corpus_config.seed, corpus_config.lead_only)
        lengths = subset.tokens.lengths
        share, extra = default_predicted_share(config.arch), 0.0
    else:
        sample = sample_task(load_task(config.task, store.data_dir), config.task)
        tokens = tokenize_sample(sample, tokenizer, store.cache_dir, progress=False)
        lengths = tokens["train"].lengths
        share = 0.0
        test = tokens["test"]  # scored once at the end: one forward pass
        extra = test.num_tokens * sum(forward_flops_per_token(config.arch, 128, 0.0).values())
    _, steps = schedule_length(len(lengths), train.batch_size, train.epochs, train.max_steps)
    per_epoch_tokens = int(lengths.sum())
    tokens = per_epoch_tokens * steps * train.batch_size // max(1, len(lengths))
    if train.max_tokens is not None:  # a budget: as many steps as read it (trainer.py)
        per_step = max(1, per_epoch_tokens * train.batch_size // max(1, len(lengths)))
        steps = -(-train.max_tokens // per_step)
        if train.max_steps is not None:
            steps = min(steps, train.max_steps)
        tokens = min(train.max_tokens, steps * per_step)
    mean_length = int(lengths.mean()) if len(lengths) else 1
    flops = tokens * training_flops_per_token(config.arch, mean_length, share) + extra
    # the batch shape the rate is measured at: the job's batch size and its mean length
    length = min(config.arch.max_length, max(16, 16 * round(mean_length / 16)))
    shape = (train.batch_size, length)
    return {"steps": steps, "tokens": tokens, "flops": float(flops), "shape": shape}


def measure_flop_rate(
    arch: ModelConfig, kind: str, impl: ImplConfig, batch: int = 32, length: int = 96
) -> float:
    """Model FLOP/s of a few of the trainer's steps on random batches of `batch` x `length`
    tokens."""
    runtime = setup_runtime(impl)
    trainer, tokens = synthetic_training(arch, kind, runtime, batch, length)
    trainer.step(0, tokens)  # warm-up
    if runtime.device.type == "cuda":
        torch.cuda.synchronize()
    start, flops = time.perf_counter(), 0.0
    for step in range(TIMED_STEPS):
        flops += trainer.step(1 + step, tokens).flops
    if runtime.device.type == "cuda":
        torch.cuda.synchronize()
    return flops / (time.perf_counter() - start)


def plan_report(jobs: list[Job], store: Store) -> dict:
    """One row per job: its status, cost and the time still needed; and the totals."""
    tokenizer = load_tokenizer(store.data_dir)
    rates: dict[tuple, float] = {}
    corpora: dict = {}
    rows = []
    for job in jobs:
        status = store.status(job)
        cost = job_cost(job, store, tokenizer, corpora)
        remaining = 0.0 if status == "cached" else 1.0
        if status.startswith("partial") and cost["steps"]:
            done = int(list_checkpoints(store.path(job))[-1].name.removeprefix("step-"))
            remaining = max(0.0, 1 - done / cost["steps"])
        fixed = job_kind(job.kind).seconds
        if fixed is not None:
            seconds = remaining * fixed
        else:
            rate_key = (job.kind, repr(job.config.arch), cost["shape"])
            if remaining and rate_key not in rates:
                rates[rate_key] = measure_flop_rate(
                    job.config.arch, job.kind, store.impl_for(job), *cost["shape"]
                )
            seconds = (
                (cost["flops"] / rates[rate_key] + JOB_OVERHEAD_SECONDS) * remaining
                if remaining
                else 0.0
            )
        rows.append({"job": job, "status": status, **cost, "seconds": seconds})
    return {
        "rows": rows,
        "flops": sum(r["flops"] for r in rows),
        "seconds": sum(r["seconds"] for r in rows),
        "to_run": sum(r["status"] != "cached" for r in rows),
    }
