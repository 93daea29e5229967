"""Study `committee`: soft committees of shallow models against one deep model (Table 8).

Per task and seed, each member architecture (the paper's five BERT-1 variants, or their CPU
twins), each candidate (other shapes for the search for cheaper committees) and the reference
(BERT-6, or its twin) is pre-trained on Ws = preset.committee_ws and fine-tuned on the seed's
task sample. Every model's test logits are kept in its job folder (`test_logits.npy`), so the
soft committee of every subset of members and candidates is scored without running a model
again; the full committee is the members' (the paper's five). A `timing` job per task (on seed
0's models: latency does not depend on the weights) measures on this machine the latency at
batch 1 (p50, p90) of every model and committee, run sequentially and in parallel, and the
throughput at batch 32 of each model, of the paper's committee and of the committee of all.
FLOPs per example are analytic.
"""

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tinylm.committee import combine
from tinylm.config import Config, TaskConfig
from tinylm.files import atomic_open
from tinylm.study.engine import Cell, Job, JobFactory, Store
from tinylm.study.presets import Preset
from tinylm.study.results import TIMING_COLUMNS, Claim, verdict_from_sign
from tinylm.study.stats import estimate, fmt_interval, fmt_mean_std, paired
from tinylm.study.tables import markdown_table, plot_style, save_figure, tasks_in

NAME = "committee"
TITLE = "Soft committees of shallow models against one deep model"
NEEDS = "committee_members and committee_reference"
LOGITS_FILE = "test_logits.npy"
MARGIN = 0.01  # "matches": the committee is at most one accuracy point below the reference


@dataclass
class TimingConfig(Config):
    """What a timing job measures: the fine-tuned models of one task and seed."""

    task: TaskConfig
    names: tuple[str, ...]  # member then candidate names (architectures), in order
    members: tuple[str, ...]  # their fine-tuning jobs in the store
    paper: int  # the first `paper` names are the members: the paper's committee
    reference_name: str
    reference: str  # the reference's fine-tuning job
    examples: int = 30  # batch-1 timings per model or committee
    batches: int = 3  # batch-32 timings


def applies(preset: Preset) -> bool:
    return bool(preset.committee_members) and preset.committee_reference is not None


def short(arch: str) -> str:
    """A member's name in tables: the architecture without its family and `-cpu` suffix."""
    return arch.removeprefix("bert1-").removesuffix("-cpu")


def member_cells(factory: JobFactory, preset: Preset, task: str, seed: int) -> list[Cell]:
    ws = preset.committee_ws or preset.gap_ws
    out = []
    archs = [("member", a) for a in preset.committee_members]
    archs += [("candidate", a) for a in preset.committee_candidates]
    archs += [("reference", preset.committee_reference)]
    for arm, arch in archs:
        pretrained = factory.pretrain(ws, seed, arch)
        out.append(
            Cell(
                {"task": task, "seed": seed, "arm": arm, "arch": arch, "ws": ws},
                factory.finetune(task, seed, pretrained, arch),
            )
        )
    return out


def cells(factory: JobFactory, preset: Preset) -> list[Cell]:
    return [
        cell
        for task in preset.tasks
        for seed in range(preset.seeds)
        for cell in member_cells(factory, preset, task, seed)
    ]


def extra_jobs(factory: JobFactory, preset: Preset) -> list[Job]:
    """One timing job per task, on seed 0's models."""
    jobs = []
    for task in preset.tasks:
        group = member_cells(factory, preset, task, 0)
        members, reference = group[:-1], group[-1]
        config = TimingConfig(
            task=factory.task(task, 0),
            names=tuple(short(c.params["arch"]) for c in members),
            members=tuple(c.job.name for c in members),
            paper=len(preset.committee_members),
            reference_name=short(reference.params["arch"]),
            reference=reference.job.name,
        )
        jobs.append(Job("timing", config))
    return jobs


def subsets(names: list[str]) -> list[tuple[str, ...]]:
    """Every non-empty subset of the members, by size, in member order."""
    return [
        combo for size in range(1, len(names) + 1) for combo in itertools.combinations(names, size)
    ]


def _test_sample(store: Store, task: TaskConfig):
    from tinylm.data.sampling import sample_task, tokenize_sample
    from tinylm.data.tasks import load_task
    from tinylm.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(store.data_dir)
    sample = sample_task(load_task(task, store.data_dir), task)
    tokens = tokenize_sample(sample, tokenizer, store.cache_dir, progress=False)
    return tokenizer, sample, tokens["test"]


def test_logits(store: Store, job: Job, tokens, pad_id: int) -> np.ndarray:
    """A fine-tuned model's logits on its test sample (`tokens`), computed once and kept in its
    folder."""
    path = store.path(job) / LOGITS_FILE
    if path.is_file():
        return np.load(path, allow_pickle=False)
    from tinylm.model.bert import BertForSequenceClassification
    from tinylm.train.evaluation import predict_logits

    model = BertForSequenceClassification.from_pretrained(store.path(job) / "model")
    logits = predict_logits(model, tokens, pad_id=pad_id, device=torch.device("cpu"))
    with atomic_open(path, text=False) as f:
        np.save(f, logits.numpy())
    return logits.numpy()


def run_timing(config: TimingConfig, store: Store) -> dict:
    """Latency and throughput of every member, the reference and every committee."""
    from tinylm.bench.common import machine
    from tinylm.bench.latency import committee_latency, measure
    from tinylm.committee import flops_per_example
    from tinylm.model.bert import BertForSequenceClassification

    tokenizer, _, tokens = _test_sample(store, config.task)

    def load(name):
        return BertForSequenceClassification.from_pretrained(store.root / name / "model").eval()

    models = dict(zip(config.names, map(load, config.members), strict=True))
    reference = load(config.reference)
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
        timing = committee_latency(chosen, tokens, pad_id, config.examples, batches)
        figures["+".join(combo)] = {
            "flops_per_example": flops_per_example(chosen, mean_tokens),
            "latency_ms": timing["parallel"]["p50_ms"],
            "latency_ms_p90": timing["parallel"]["p90_ms"],
            "latency_ms_sequential": timing["sequential"]["p50_ms"],
            "latency_ms_sequential_p90": timing["sequential"]["p90_ms"],
            "throughput_per_s": timing["parallel"]["throughput_per_s"],
            "throughput_per_s_sequential": timing["sequential"]["throughput_per_s"],
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


def extra_rows(factory: JobFactory, preset: Preset, rows: list[dict], store: Store) -> list[dict]:
    """The member and reference rows get their timing; one row per committee (every subset of
    members, per task and seed) is added, scored from the members' test logits."""
    timing = {job.config.task.name: store.summary(job) for job in extra_jobs(factory, preset)}
    out = []
    for row in rows:
        name = short(row["arch"])
        out.append({**row, "members": name, "size": 1, **_timing(timing[row["task"]], name)})
    for task in preset.tasks:
        for seed in range(preset.seeds):
            group = member_cells(factory, preset, task, seed)[:-1]
            names = [short(c.params["arch"]) for c in group]
            tokenizer, sample, tokens = _test_sample(store, factory.task(task, seed))
            truth = sample.split("test").labels
            logits = {
                n: torch.from_numpy(test_logits(store, c.job, tokens, tokenizer.pad_id))
                for n, c in zip(names, group, strict=True)
            }
            for combo in subsets(names):
                if len(combo) == 1:
                    continue  # a committee of one is its member's row
                probabilities = combine(torch.stack([logits[n] for n in combo])).numpy()
                key = "+".join(combo)
                out.append(
                    {
                        "study": NAME,
                        "preset": preset.name,
                        "task": task,
                        "arm": "committee",
                        "arch": "committee",
                        "ws": group[0].params["ws"],
                        "seed": seed,
                        "members": key,
                        "size": len(combo),
                        "test_accuracy": float((probabilities.argmax(-1) == truth).mean()),
                        "test_examples": len(truth),
                        **_timing(timing[task], key),
                    }
                )
    return out


def _timing(summary: dict, key: str) -> dict:
    figures = summary["figures"].get(key, {})
    machine = summary.get("machine", {})
    timed_on = f"{machine.get('cpu', 'unknown')}, {summary.get('threads')} thread(s) per model"
    return {**{k: figures.get(k) for k in TIMING_COLUMNS}, "timed_on": timed_on}


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per task: every model and committee (accuracy over seeds, its timing), the best and the
    mean committee of each size, and the full committee against the reference."""
    out = {}
    for task in tasks_in(rows):
        task_rows = [r for r in rows if r["task"] == task]
        entries: dict[str, dict] = {}
        for r in task_rows:
            entry = entries.setdefault(
                r["members"],
                {
                    "name": r["members"],
                    "arm": r["arm"],
                    "size": r["size"],
                    "by_seed": {},
                    **{k: r.get(k) for k in TIMING_COLUMNS},
                },
            )
            entry["by_seed"][r["seed"]] = r["test_accuracy"]
        for entry in entries.values():
            entry["accuracy"] = estimate(entry["by_seed"].values())
        reference = next(e for e in entries.values() if e["arm"] == "reference")
        committees = [e for e in entries.values() if e["arm"] != "reference"]
        members = {e["name"] for e in committees if e["arm"] == "member"}
        sizes = {}
        for size in sorted({e["size"] for e in committees}):
            group = [e for e in committees if e["size"] == size]
            best = max(group, key=lambda e: e["accuracy"].mean)
            sizes[size] = {
                "best": best,
                "mean": float(np.mean([e["accuracy"].mean for e in group])),
                "count": len(group),
                "vs_reference": paired(best["by_seed"], reference["by_seed"]),
            }
        full = next(e for e in committees if set(e["name"].split("+")) == members)
        front = pareto_front(list(entries.values()), "latency_ms")
        cheapest = cheapest_match(committees, reference)
        out[task] = {
            "reference": reference,
            "entries": entries,
            "sizes": sizes,
            "full": full,
            "papers": full if full["arm"] == "committee" else None,  # drawn and named apart
            "full_vs_reference": paired(full["by_seed"], reference["by_seed"]),
            "cheapest": cheapest,
            "cheapest_vs_reference": cheapest and paired(cheapest["by_seed"], reference["by_seed"]),
            "front": front,
            "front_flops": pareto_front(list(entries.values()), "flops_per_example"),
        }
    return out


def cheapest_match(entries: list[dict], reference: dict) -> dict | None:
    """The search's answer: of the models and committees whose mean accuracy is at most MARGIN
    below the reference's, the one of lowest latency (parallel, batch 1); None if none is."""
    bar = reference["accuracy"].mean - MARGIN
    matches = [e for e in entries if e["accuracy"].mean >= bar and e["latency_ms"] is not None]
    return min(matches, key=lambda e: e["latency_ms"], default=None)


def pareto_front(entries: list[dict], cost: str) -> set[str]:
    """Names of the entries no other entry beats on both accuracy (higher) and `cost` (lower)."""
    points = [(e[cost], e["accuracy"].mean, e["name"]) for e in entries if e[cost] is not None]
    front = set()
    for c, a, name in points:
        dominated = any(
            (c2 <= c and a2 >= a) and (c2 < c or a2 > a)
            for c2, a2, other in points
            if other != name
        )
        if not dominated:
            front.add(name)
    return front


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _rate(value) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def table(rows: list[dict]) -> str:
    parts = []
    for task, data in summarise(rows).items():
        shown = [data["reference"]]
        shown += [e for e in data["entries"].values() if e["arm"] in ("member", "candidate")]
        shown += [s["best"] for size, s in data["sizes"].items() if size > 1]
        if data["full"] not in shown:
            shown.append(data["full"])
        if data["cheapest"] is not None and data["cheapest"] not in shown:
            shown.append(data["cheapest"])
        body = []
        for e in shown:
            label = e["name"] if e["arm"] != "committee" else f"committee {e['name']}"
            if e["arm"] in ("reference", "candidate"):
                label += f" ({e['arm']})"
            elif e is data["papers"]:
                label += " (the paper's)"
            body.append(
                [
                    label,
                    e["size"],
                    fmt_mean_std(e["accuracy"]),
                    _ms(e["latency_ms"]),
                    _ms(e["latency_ms_sequential"]),
                    _rate(e["throughput_per_s"]),
                    _rate(e["throughput_per_s_sequential"]),
                    f"{e['flops_per_example'] / 1e6:,.0f}",
                    "yes" if e["name"] in data["front"] else "",
                ]
            )
        models = markdown_table(
            [
                "model",
                "members",
                "accuracy",
                "ms, batch 1 (parallel)",
                "ms, batch 1 (sequential)",
                "texts/s, batch 32 (parallel)",
                "texts/s, batch 32 (sequential)",
                "MFLOP/text",
                "Pareto (latency)",
            ],
            body,
        )
        sizes = markdown_table(
            ["size", "best committee", "its accuracy", "mean over subsets", "best - reference"],
            [
                [
                    size,
                    s["best"]["name"],
                    fmt_mean_std(s["best"]["accuracy"]),
                    f"{s['mean']:.3f} ({s['count']} subsets)",
                    fmt_interval(s["vs_reference"]),
                ]
                for size, s in data["sizes"].items()
            ],
        )
        cheapest, reference = data["cheapest"], data["reference"]
        if cheapest is None:
            search = (
                f"No model or committee comes within {MARGIN:.2f} of the reference's mean accuracy."
            )
        else:
            search = (
                f"Cheapest found within {MARGIN:.2f} of the reference's mean accuracy: "
                f"**{cheapest['name']}**, {fmt_mean_std(cheapest['accuracy'])} at "
                f"{_ms(cheapest['latency_ms'])} ms per text (reference "
                f"{fmt_mean_std(reference['accuracy'])} at {_ms(reference['latency_ms'])} ms); "
                f"difference {fmt_interval(data['cheapest_vs_reference'])}."
            )
        timed = f"Timed on {reference['timed_on']}." if reference.get("timed_on") else ""
        parts.append(f"### {task}\n\n{models}\n\n{sizes}\n\n{search} {timed}".rstrip())
    return "\n\n".join(
        [
            "Accuracy is the mean ± standard deviation over seeds; a committee is the soft vote "
            "(mean probability) of its members. Latency is the median per text at batch 1 on "
            "this machine, with the members run in parallel (one thread each) or one after "
            "another; throughput is at batch 32 (parallel for a committee: measured for the "
            "paper's committee and the committee of all members and candidates only). "
            "Candidates are other shapes tried in the search for cheaper committees; the "
            "paper's committee is the members'. The best committee of each size is the one of "
            "highest mean accuracy; its difference "
            "with the reference is paired by seed (95% interval).",
            *parts,
        ]
    )


PAPERS = "the paper's committee"  # the members' full committee, drawn apart from the others
STYLES = {  # arm: marker, colour, size
    "reference": ("s", "C3", 60),
    "member": ("o", "C0", 40),
    "candidate": ("D", "C2", 40),
    "committee": (".", "0.5", 25),
    PAPERS: ("*", "C4", 110),
}


def plot(rows: list[dict], path: Path, caption: str) -> None:
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    summary = summarise(rows)
    with plot_style():
        fig, axes = plt.subplots(len(summary), 2, figsize=(9.5, 3.4 * len(summary)), squeeze=False)
        for (task, data), (by_latency, by_flops) in zip(summary.items(), axes, strict=True):
            for ax, cost, front, label in (
                (by_latency, "latency_ms", data["front"], "ms per text, batch 1 (parallel)"),
                (by_flops, "flops_per_example", data["front_flops"], "FLOPs per text"),
            ):
                for e in data["entries"].values():
                    if e[cost] is None:
                        continue
                    style = STYLES[PAPERS if e is data["papers"] else e["arm"]]
                    ax.scatter(
                        e[cost],
                        e["accuracy"].mean,
                        marker=style[0],
                        color=style[1],
                        s=style[2],
                        edgecolors="k" if e["name"] in front else "none",
                        linewidths=1.2,
                    )
                on_front = sorted(
                    (e[cost], e["accuracy"].mean)
                    for e in data["entries"].values()
                    if e["name"] in front
                )
                if on_front:
                    ax.step(*zip(*on_front, strict=True), where="post", color="k", lw=0.8)
                ax.set_xscale("log")
                # ticks at 1, 2, 5 per decade, written plainly (10, 20, 50 ms; 100M FLOPs):
                # the default labels only some minor ticks, as overlapping powers of ten
                ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))
                ax.xaxis.set_major_formatter(
                    ticker.EngFormatter(sep="") if cost == "flops_per_example" else "{x:g}"
                )
                ax.xaxis.set_minor_formatter(ticker.NullFormatter())
                ax.set_xlabel(label)
                ax.set_ylabel("test accuracy")
                ax.set_title(f"{task}: accuracy against cost (outlined: Pareto front)")
            for arm, (marker, color, _) in STYLES.items():
                by_latency.scatter([], [], marker=marker, color=color, label=arm)
            by_latency.legend(fontsize=7)
        save_figure(fig, path, caption)


def claims(rows: list[dict]) -> list[Claim]:
    out = []
    for task, data in summarise(rows).items():
        full, reference = data["full"], data["reference"]
        difference = data["full_vs_reference"]
        if difference.low > -MARGIN:
            verdict = "holds"
        elif difference.high < 0:
            verdict = "does not hold"
        else:
            verdict = "inconclusive"
        if math.isnan(difference.low):
            verdict = "inconclusive"
        out.append(
            Claim(
                NAME,
                f"A soft committee of {full['size']} BERT-1 variants matches BERT-6 ({task})",
                "0.866 against 0.866 on FewRel (Table 8)",
                f"committee {fmt_mean_std(full['accuracy'])}, reference "
                f"{fmt_mean_std(reference['accuracy'])}; difference {fmt_interval(difference)} "
                f"(matches: within {MARGIN:.2f} below)",
                verdict,
            )
        )
        if full["latency_ms"] is not None and reference["latency_ms"] is not None:
            faster = reference["latency_ms"] - full["latency_ms"]
            out.append(
                Claim(
                    NAME,
                    f"The committee answers faster than BERT-6 at batch 1 ({task})",
                    "lower latency (Table 8)",
                    f"{full['latency_ms']:.2f} ms in parallel "
                    f"({full['latency_ms_sequential']:.2f} sequential) against "
                    f"{reference['latency_ms']:.2f} ms, median of one run on this machine",
                    verdict_from_sign(int(np.sign(faster))),
                )
            )
        out.append(_search_claim(task, data))
    return out


def _search_claim(task: str, data: dict) -> Claim:
    """Beyond the paper: is some model or committee as accurate as the reference and faster?"""
    cheapest, reference = data["cheapest"], data["reference"]
    statement = f"A committee or shallow model keeps BERT-6's accuracy at lower latency ({task})"
    if cheapest is None or reference["latency_ms"] is None:
        return Claim(
            NAME, statement, "(beyond the paper)", "none within the margin", "does not hold"
        )
    difference = data["cheapest_vs_reference"]
    faster = cheapest["latency_ms"] < reference["latency_ms"]
    if not faster:
        verdict = "does not hold"
    elif difference.low > -MARGIN:
        verdict = "holds"
    else:
        verdict = "inconclusive"
    return Claim(
        NAME,
        statement,
        "(beyond the paper)",
        f"{cheapest['name']}: {fmt_mean_std(cheapest['accuracy'])} at "
        f"{cheapest['latency_ms']:.2f} ms against {fmt_mean_std(reference['accuracy'])} at "
        f"{reference['latency_ms']:.2f} ms; difference {fmt_interval(difference)}",
        verdict,
    )
