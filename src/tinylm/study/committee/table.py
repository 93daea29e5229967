"""The committee study's table.md section: per task, the models and committees beside their
costs, the best committee of each size (chosen on validation, reported on test; on test where
the rows predate validation, said so), and the search's answer."""

from tinylm.study.committee.analysis import MARGIN, VALIDATION, summarise
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
        validated = data["chosen_on"] == VALIDATION
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
                    *([fmt_mean_std(e["selection"])] if validated else []),
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
                "test accuracy" if validated else "accuracy",
                "macro-F1",
                *(["validation accuracy"] if validated else []),
                "ms, batch 1 (parallel)",
                "ms, batch 1 (sequential)",
                "texts/s, batch 32 (parallel)",
                "texts/s, batch 32 (sequential)",
                "MFLOP/text",
                "Pareto (latency)",
            ],
            body,
        )
        sizes = _sizes(data, validated)
        search = _search(data, validated)
        reference = data["reference"]
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
            "paper's committee is the members'. The best committee of each size, and the "
            "search's cheapest match, are chosen by their mean accuracy on the validation split "
            "(carved from each model's train sample; of equals, the first in member order), then "
            "reported on test; a task whose rows predate validation selection says that its "
            "choices were made on test. The difference with the reference is paired by seed "
            "(95% interval).",
            *parts,
        ]
    )


def _sizes(data: dict, validated: bool) -> str:
    """The best committee of each size: chosen on validation (beside test's pick, where it
    differs) or, for rows without validation figures, on test, with a note saying so."""
    head = ["size", "best committee", "its accuracy", "mean over subsets", "best - reference"]
    body = []
    for size, s in data["sizes"].items():
        best, other = s["best"], s["on_test"]
        line = [
            size,
            best["name"],
            fmt_mean_std(best["accuracy"]),
            f"{s['mean']:.3f} ({s['count']} subset{'s' if s['count'] != 1 else ''})",
            fmt_interval(s["vs_reference"]),
        ]
        if validated:
            test_pick = "same" if other is None else f"{other['name']}, {_figures(other)}"
            line[2:3] = [fmt_mean_std(best["selection"]), fmt_mean_std(best["accuracy"])]
            line.append(test_pick)
        body.append(line)
    if validated:
        head[1:3] = [
            "best committee (chosen on validation)",
            "its validation accuracy",
            "its test accuracy",
        ]
        head.append("test's pick (validation, test accuracy)")
        return markdown_table(head, body)
    return (
        markdown_table(head, body)
        + "\n\nChosen on test: rows predate validation selection (they hold no validation "
        "accuracy), so each size's best is the committee of highest mean test accuracy, a "
        "choice made on the split it is reported on."
    )


def _search(data: dict, validated: bool) -> str:
    """The search's answer, chosen like the best committees; test's, where it differs."""
    cheapest, reference, other = data["cheapest"], data["reference"], data["cheapest_on_test"]
    on = "validation" if validated else "test"
    if cheapest is None:
        search = (
            f"No model or committee comes within {MARGIN:.2f} of the reference's mean {on} "
            "accuracy."
        )
    else:
        search = (
            f"Cheapest found within {MARGIN:.2f} of the reference's mean {on} accuracy: "
            f"**{cheapest['name']}**, {fmt_mean_std(cheapest['accuracy'])} "
            f"{'on test ' if validated else ''}at {_ms(cheapest['latency_ms'])} ms per text "
            f"(reference {fmt_mean_std(reference['accuracy'])} at "
            f"{_ms(reference['latency_ms'])} ms); difference "
            f"{fmt_interval(data['cheapest_vs_reference'])}."
        )
    if not validated:
        return search + " (Chosen on test: rows predate validation selection.)"
    if other is not None:
        return search + (
            f" Chosen on test, the match would have been {other['name']}, "
            f"{fmt_mean_std(other['accuracy'])} at {_ms(other['latency_ms'])} ms."
        )
    if cheapest is None:
        return search + " Nor on test."
    return search + " Chosen on test, the match would have been the same."


def _figures(e: dict) -> str:
    return f"{fmt_mean_std(e['selection'])}, {fmt_mean_std(e['accuracy'])}"


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
