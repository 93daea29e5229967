"""The committee study's analysis of its rows: per task, every model and committee, the best
of each size, the full committee against the reference, the search for the cheapest match and
the Pareto fronts."""

import numpy as np

from tinylm.study.committee.timing import COLUMNS
from tinylm.study.stats import estimate, mean_or_none, paired
from tinylm.study.tables import tasks_in

MARGIN = 0.01  # "matches": the committee is at most one accuracy point below the reference


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
                    "f1_by_seed": {},
                    **{k: r.get(k) for k in COLUMNS},
                },
            )
            entry["by_seed"][r["seed"]] = r["test_accuracy"]
            entry["f1_by_seed"][r["seed"]] = r.get("test_macro_f1")
        for entry in entries.values():
            entry["accuracy"] = estimate(entry["by_seed"].values())
            entry["macro_f1"] = mean_or_none(entry["f1_by_seed"].values())
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
