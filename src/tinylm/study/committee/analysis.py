"""The committee study's analysis of its rows: per task, every model and committee, the best
of each size, the full committee against the reference, the search for the cheapest match and
the Pareto fronts.

The best committee of each size and the cheapest match are choices among many subsets, so they
are made on validation: by the mean over seeds of each committee's accuracy on the validation
split of its members' samples (`selection_accuracy`), and only then is the chosen one's test
accuracy reported. Rows without that figure (made before the study kept validation logits, or by
a preset without a validation split) leave a task to the old choice, on test, which the table
says; where validation chooses another committee than test would have, both are kept.
"""

import numpy as np

from tinylm.study.committee.timing import COLUMNS
from tinylm.study.stats import estimate, mean_or_none, paired
from tinylm.study.tables import tasks_in

MARGIN = 0.01  # "matches": the committee is at most one accuracy point below the reference
VALIDATION, TEST = "validation", "test"  # what a task's choices were made on


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per task: every model and committee (accuracy over seeds, its timing), the best (chosen
    on validation where the rows allow) and the mean committee of each size, the best of two or
    more, the full committee against the reference, and the cheapest match."""
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
                    "selection_by_seed": {},
                    **{k: r.get(k) for k in COLUMNS},
                },
            )
            entry["by_seed"][r["seed"]] = r["test_accuracy"]
            entry["f1_by_seed"][r["seed"]] = r.get("test_macro_f1")
            entry["selection_by_seed"][r["seed"]] = r.get("selection_accuracy")
        for entry in entries.values():
            entry["accuracy"] = estimate(entry["by_seed"].values())
            entry["macro_f1"] = mean_or_none(entry["f1_by_seed"].values())
            figures = list(entry["selection_by_seed"].values())
            entry["selection"] = None if None in figures else estimate(figures)
        reference = next(e for e in entries.values() if e["arm"] == "reference")
        committees = [e for e in entries.values() if e["arm"] != "reference"]
        members = {e["name"] for e in committees if e["arm"] == "member"}
        # validation where every row has its figure; else the old choice, on test
        on = VALIDATION if all(e["selection"] is not None for e in entries.values()) else TEST
        sizes = {}
        for size in sorted({e["size"] for e in committees}):
            group = [e for e in committees if e["size"] == size]
            best, on_test = best_of(group, on), best_of(group, TEST)
            sizes[size] = {
                "best": best,
                "on_test": None if on_test is best else on_test,  # test's pick, where it differs
                "mean": float(np.mean([e["accuracy"].mean for e in group])),
                "count": len(group),
                "vs_reference": paired(best["by_seed"], reference["by_seed"]),
            }
        several = [s["best"] for size, s in sizes.items() if size > 1]
        full = next(e for e in committees if set(e["name"].split("+")) == members)
        front = pareto_front(list(entries.values()), "latency_ms")
        cheapest = cheapest_match(committees, reference, on)
        on_test = cheapest_match(committees, reference, TEST)
        out[task] = {
            "reference": reference,
            "entries": entries,
            "chosen_on": on,  # what the best committees and the cheapest match were chosen on
            "sizes": sizes,
            # the best committee of two models or more: the best of the sizes', chosen likewise
            "best": best_of(several, on) if several else None,
            "full": full,
            "papers": full if full["arm"] == "committee" else None,  # drawn and named apart
            "full_vs_reference": paired(full["by_seed"], reference["by_seed"]),
            "cheapest": cheapest,
            "cheapest_vs_reference": cheapest and paired(cheapest["by_seed"], reference["by_seed"]),
            # the cheapest match test would have found, where it differs
            "cheapest_on_test": None if on_test is cheapest else on_test,
            "front": front,
            "front_flops": pareto_front(list(entries.values()), "flops_per_example"),
        }
    return out


def chosen_by(entry: dict, on: str) -> float:
    """The mean accuracy over seeds that a choice `on` validation (or test) reads."""
    return (entry["selection"] if on == VALIDATION else entry["accuracy"]).mean


def best_of(group: list[dict], on: str = VALIDATION) -> dict:
    """The committee of highest mean accuracy `on` validation (or, for rows without it, test);
    of equals, the first in subset order."""
    return max(group, key=lambda e: chosen_by(e, on))


def cheapest_match(entries: list[dict], reference: dict, on: str = TEST) -> dict | None:
    """The search's answer: of the models and committees whose mean accuracy `on` validation
    (or test) is at most MARGIN below the reference's there, the one of lowest latency
    (parallel, batch 1); None if none is."""
    bar = chosen_by(reference, on) - MARGIN
    matches = [e for e in entries if chosen_by(e, on) >= bar and e["latency_ms"] is not None]
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
