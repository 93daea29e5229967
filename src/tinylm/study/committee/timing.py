"""The committee study's timing jobs: on this machine, the latency at batch 1 (p50, p90) of
every model and committee, run sequentially and in parallel, and the throughput at batch 32 of
each model, of the paper's committee and of the committee of all; FLOPs per example are
analytic. One job per task, on freshly initialised models of the members' and the reference's
architectures (latency does not depend on the weights), so a store without the fine-tuned models
(a fresh clone whose rows stand in for them) still times them.

`timing` is a kind of job of its own, registered here, beside the config its jobs hold.
"""

from dataclasses import dataclass

import torch

from tinylm.config import Config, ModelConfig, TaskConfig
from tinylm.files import write_json
from tinylm.study.committee.logits import test_sample
from tinylm.study.committee.members import member_cells, short, subsets
from tinylm.study.engine import Job, JobFactory, Store
from tinylm.study.kinds import JobKind, register_kind
from tinylm.study.presets import Preset

TIMING_SECONDS = 60.0  # --dry-run: timing a committee's members and subsets (about a minute)
# the timing of a model or committee in its rows
COLUMNS = (
    "flops_per_example",
    "latency_ms",
    "latency_ms_p90",
    "latency_ms_sequential",
    "latency_ms_sequential_p90",
    "throughput_per_s",
    "throughput_per_s_sequential",
    "timed_on",  # the CPU (or GPU) and threads per model
)


@dataclass
class TimingConfig(Config):
    """What a timing job measures: classifiers of the members' and the reference's
    architectures on one task's test sample."""

    task: TaskConfig
    names: tuple[str, ...]  # member then candidate names (architectures), in order
    members: tuple[ModelConfig, ...]  # their architectures
    paper: int  # the first `paper` names are the members: the paper's committee
    reference_name: str
    reference: ModelConfig
    pooling: str  # the classifiers' pooling, as fine-tuned
    examples: int = 30  # batch-1 timings per model or committee
    batches: int = 3  # batch-32 timings


def timing_jobs(factory: JobFactory, preset: Preset) -> list[Job]:
    """One timing job per task, on seed 0's test sample."""
    jobs = []
    for task in preset.tasks:
        group = member_cells(factory, preset, task, 0)
        members, reference = group[:-1], group[-1]
        config = TimingConfig(
            task=factory.task(task, 0),
            names=tuple(short(c.params["arch"]) for c in members),
            members=tuple(c.job.config.arch for c in members),
            paper=len(preset.committee_members),
            reference_name=short(reference.params["arch"]),
            reference=reference.job.config.arch,
            pooling=reference.job.config.pooling,
        )
        jobs.append(Job("timing", config))
    return jobs


def run_timing(config: TimingConfig, store: Store) -> dict:
    """Latency and throughput of every member, the reference and every committee."""
    from tinylm.bench.common import machine
    from tinylm.bench.latency import committee_figures, measure
    from tinylm.export.committee import flops_per_example
    from tinylm.model.bert import BertForSequenceClassification

    tokenizer, sample, tokens = test_sample(store, config.task)
    torch.manual_seed(0)

    labels = len(sample.label_names)

    def build(arch: ModelConfig):
        return BertForSequenceClassification(arch, labels, pooling=config.pooling).eval()

    models = dict(zip(config.names, map(build, config.members), strict=True))
    reference = build(config.reference)
    mean_tokens = float(tokens.lengths.mean())
    pad_id = tokenizer.pad_id

    def single(model) -> dict:
        return measure(
            lambda ids, mask: model(ids, mask).logits.softmax(-1),
            tokens,
            pad_id,
            config.examples,
            config.batches,
        )

    figures = {}
    # batch-32 throughput for the paper's committee and the committee of all (slow to measure)
    measured = {config.names[: config.paper], config.names}
    for combo in subsets(list(models)):
        chosen = [models[n] for n in combo]
        batches = config.batches if combo in measured else 0
        figures["+".join(combo)] = {
            "flops_per_example": flops_per_example(chosen, mean_tokens),
            **committee_figures(chosen, tokens, pad_id, config.examples, batches),
        }
        if len(combo) == 1:  # one model: its own batch-32 throughput
            alone = single(chosen[0])
            figures[combo[0]].update(
                throughput_per_s=alone["throughput_per_s"],
                throughput_per_s_sequential=alone["throughput_per_s"],
            )
    alone = single(reference)
    figures[config.reference_name] = {
        "flops_per_example": flops_per_example([reference], mean_tokens),
        "latency_ms": alone["p50_ms"],
        "latency_ms_p90": alone["p90_ms"],
        "latency_ms_sequential": alone["p50_ms"],
        "latency_ms_sequential_p90": alone["p90_ms"],
        "throughput_per_s": alone["throughput_per_s"],
        "throughput_per_s_sequential": alone["throughput_per_s"],
    }
    return {
        "figures": figures,
        "mean_tokens": mean_tokens,
        "threads": torch.get_num_threads(),
        "machine": machine(),
    }


def _execute(job: Job, folder, store: Store) -> dict:
    summary = run_timing(job.config, store)
    write_json(folder / "summary.json", summary)
    return summary


TIMING = register_kind(
    JobKind(
        name="timing",
        rank=4,  # after the fine-tunings it times
        execute=_execute,
        label=lambda job: [job.config.task.name, f"s{job.config.task.seed}"],
        describe=lambda job: (
            f"timing {job.config.task.name}: {len(job.config.members)} members and the reference"
        ),
        outcome=lambda summary: f"{len(summary['figures'])} models and committees timed",
        seconds=TIMING_SECONDS,
        alone=True,
    )
)
