"""`tinylm bench jobs`: how a study should use a CPU's cores, by measurement.

A study's jobs are independent trainings, so the cores can run one job on all of them (its
threads share each product) or one job per core (one thread each). Small models' products
are too small to split well across threads, so the second often reads more tokens per second
in all; this measures both on the same pre-training step, full batches of random tokens, and
says which one `--jobs`/`--threads` should take. The arrangements run one after the other,
each process timing the same number of steps after a warm-up.
"""

import multiprocessing
import os
import time

from tinylm.config import ImplConfig
from tinylm.model.architectures import get_architecture
from tinylm.train.runtime import setup_runtime

from .common import MachineLoad, machine, synthetic_training

BATCH, LENGTH = 16, 92  # the studies' batch, Wikipedia's mean paragraph


def _rate(arch_name: str, threads: int, precision: str, steps: int, start) -> float:
    """Tokens/s of `steps` pre-training steps in a process of `threads` threads; waits on
    `start` (a barrier) after its warm-up so that concurrent processes time together."""
    runtime = setup_runtime(ImplConfig(device="cpu", precision=precision, threads=threads))
    trainer, batch = synthetic_training(
        get_architecture(arch_name), "pretrain", runtime, BATCH, LENGTH
    )
    for step in range(2):
        trainer.step(step, batch)
    start.wait()
    began = time.perf_counter()
    for step in range(steps):
        trainer.step(2 + step, batch)
    return steps * batch.inputs.numel() / (time.perf_counter() - began)


def bench_jobs(arch: str, *, cores: int | None = None, precision: str = "fp32", steps: int = 10):
    """Tokens/s in all of one job on `cores` threads and of `cores` jobs of one thread."""
    cores = cores or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    with MachineLoad() as load:  # before timing: the timed processes are all this one's
        time.sleep(1.0)
    arrangements = {}
    for jobs, threads in ((1, cores), (cores, 1)):
        with context.Manager() as manager:
            start = manager.Barrier(jobs)
            with context.Pool(jobs) as pool:
                args = [(arch, threads, precision, steps, start)] * jobs
                rates = pool.starmap(_rate, args)
        arrangements[f"{jobs}x{threads}"] = {
            "jobs": jobs,
            "threads": threads,
            "tokens_per_s_per_job": [round(r) for r in rates],
            "tokens_per_s": round(sum(rates)),
        }
    one, many = arrangements[f"1x{cores}"], arrangements[f"{cores}x1"]
    best = many if many["tokens_per_s"] > one["tokens_per_s"] else one
    return {
        "benchmark": "jobs",
        "arch": arch,
        "precision": precision,
        "batch": [BATCH, LENGTH],
        "cores": cores,
        "arrangements": list(arrangements.values()),
        "jobs_over_threads": many["tokens_per_s"] / one["tokens_per_s"],
        "best": {"jobs": best["jobs"], "threads": best["threads"]},
        "other_cores": load.other_cores,  # in the second before timing
        "busy": load.busy,
        "machine": machine(),
    }
