"""The committee study's table.md section: per task, the models and committees beside their
costs, the best committee of each size, and the search's answer."""

from tinylm.study.committee.analysis import MARGIN, summarise
from tinylm.study.stats import fmt_interval, fmt_mean_std, fmt_optional
from tinylm.study.tables import column_estimate, markdown_table, plateau_loss


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
                    fmt_optional(e["macro_f1"]),
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
                "macro-F1",
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
                    f"{s['mean']:.3f} ({s['count']} subset{'s' if s['count'] != 1 else ''})",
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
            *_pretraining(rows),
            "Accuracy is the mean ± standard deviation over seeds, macro-F1 the mean over "
            "seeds; a committee is the soft vote (mean probability) of its members. "
            "Latency is the median per text at batch 1 on "
            "this machine, with the members run in parallel (a Python thread each, all "
            "sharing PyTorch's threads, the count named below each table) or one after "
            "another; throughput is at batch 32 (parallel for a committee: measured for the "
            "paper's committee and the committee of all members and candidates only). "
            "Candidates are other shapes tried in the search for cheaper committees; the "
            "paper's committee is the members'. The best committee of each size is the one of "
            "highest mean accuracy; its difference "
            "with the reference is paired by seed (95% interval).",
            *parts,
        ]
    )


def _pretraining(rows: list[dict]) -> list[str]:
    """A table of each model's pre-training losses (one pre-training per model and seed,
    shared by the tasks), or nothing where no row records one."""
    order = {"reference": 0, "member": 1, "candidate": 2}
    models: dict[str, dict[int, dict]] = {}
    for r in sorted(rows, key=lambda r: order.get(r["arm"], 3)):
        if r["arm"] != "committee":
            label = r["members"] + ("" if r["arm"] == "member" else f" ({r['arm']})")
            models.setdefault(label, {})[r["seed"]] = r
    losses = {
        name: [column_estimate(list(by_seed.values()), c) for c in ("val_loss", "pretrain_loss")]
        for name, by_seed in models.items()
    }
    if all(e.n == 0 for pair in losses.values() for e in pair):
        return []
    level = plateau_loss(rows)
    plateau = "" if level is None else f"; a model that ignores context scores {level:.2f}"
    body = [[name, *(_seeds(e) for e in pair)] for name, pair in losses.items()]
    return [
        "Each model's pre-training: its masked-LM loss on held-out paragraphs and on its last "
        "training batch (nats, mean ± standard deviation over the seeds that record it, their "
        f"count in parentheses{plateau}).\n\n"
        + markdown_table(["model", "validation MLM loss", "last training loss"], body)
    ]


def _seeds(e) -> str:
    return f"{fmt_mean_std(e)} ({e.n})" if e.n else "n/a"
