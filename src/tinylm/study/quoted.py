"""The figures that README.md and docs/findings.md quote from the studies' results, each a
function of one study's results.csv rows (figures.py puts them in the documents' blocks).

Every figure is computed by its study's own summary (gap.summarise, budget.summarise, ...) and
formatted as its tables format it (stats.fmt_interval, fmt_mean_std), so a quoted figure is the
table's figure; what is added here is the wording: which figures, in which sentence or table.
A function takes the rows and the block's arguments (strings: a budget "2M", a Ws "2000", a
task, the gap study's test split "confirm"), and returns a phrase that reads within a sentence,
or a table.
"""

from collections.abc import Callable
from typing import Any

from tinylm.data.tasks import task_title
from tinylm.errors import TinylmError
from tinylm.study import budget, gap, overlap, ws
from tinylm.study.committee import analysis as committee
from tinylm.study.stats import Estimate, fmt_interval, fmt_mean_std, format_tokens, paired
from tinylm.study.tables import accuracies, markdown_table

NUMBERS = (
    *("none", "one", "two", "three", "four", "five", "six"),
    *("seven", "eight", "nine", "ten", "eleven", "twelve"),
)


# --- summaries ----------------------------------------------------------------------------

_SUMMARIES: dict[tuple[int, Callable], tuple[list, object]] = {}


def summarised(summarise: Callable[[list[dict]], Any], rows: list[dict]) -> Any:
    """summarise(rows), computed once per list of rows: a document quotes one study's summary
    in many blocks, and the committee's (every subset) and overlap's (a bootstrap) take
    seconds. The entry holds the rows, so no other list can take their id while it lasts."""
    key = (id(rows), summarise)
    if key not in _SUMMARIES:
        if len(_SUMMARIES) >= 64:
            _SUMMARIES.clear()
        _SUMMARIES[key] = (rows, summarise(rows))
    return _SUMMARIES[key][1]


# --- wording ------------------------------------------------------------------------------


def number(n: int) -> str:
    """Twelve and below in words, as prose writes them."""
    return NUMBERS[n] if 0 <= n < len(NUMBERS) else f"{n:,}"


def listing(items) -> str:
    """a, b and c."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def points(values) -> str:
    """A range of accuracy differences in points (hundredths): "4 to 5", or "4"."""
    values = [abs(v) * 100 for v in values]
    low, high = (f"{v:.0f}" if v >= 1 else f"{v:.1f}" for v in (min(values), max(values)))
    return low if low == high else f"{low} to {high}"


def interval(e: Estimate, digits: int = 3) -> str:
    """A gap with its interval, in bold where the interval lies above zero."""
    text = fmt_interval(e, digits)
    return f"**{text}**" if e.sign() > 0 else text


def count(positive: int, total: int, every: str, of: str) -> str:
    """`every` ("every seed of every task"), or "thirteen of fifteen seeds and tasks"."""
    if positive == total:
        return every
    return f"{number(positive)} of {number(total)} {of}"


def clear(estimates: dict[str, Estimate], subject: str) -> str:
    """Which of the tasks' intervals exclude zero, said of `subject` ("interval", "rise")."""
    signs = {task: e.sign() for task, e in estimates.items()}
    if all(s > 0 for s in signs.values()):
        return f"every {subject}'s interval lies above zero"
    if not any(signs.values()):
        return f"no {subject}'s interval excludes zero"
    parts = []
    for sign, side in ((1, "above"), (-1, "below")):
        tasks = [task_title(t) for t, s in signs.items() if s == sign]
        if tasks:
            only = (
                " only" if len(tasks) == 1 and not any(s == -sign for s in signs.values()) else ""
            )
            parts.append(f"lies {side} zero on {listing(tasks)}{only}")
    return f"the {subject}'s interval " + " and ".join(parts)


def tokens(text: str) -> int:
    """A budget as a block names it: 250k, 2M, 8000000."""
    scale = {"k": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    try:
        return int(float(text.rstrip("kM")) * scale)
    except ValueError:
        raise TinylmError(f"not a token count: {text!r} (250k, 2M, ...)") from None


def at(points_: list[dict], key: str, value: int) -> dict:
    found = next((p for p in points_ if p[key] == value), None)
    if found is None:
        grid = ", ".join(str(p[key]) for p in points_)
        raise TinylmError(f"no {key} {value} in the results (they hold {grid})")
    return found


def seeds(by_seed: dict[int, float]) -> str:
    return ", ".join(f"{by_seed[s]:.3f}" for s in sorted(by_seed))


def signed(values) -> str:
    return ", ".join(f"{v:+.3f}" for v in values)


def differences(a: dict, b: dict) -> list[float]:
    """a[s] - b[s] over the seeds both have, in seed order."""
    return [a[s] - b[s] for s in sorted(set(a) & set(b))]


# --- the gap study ------------------------------------------------------------------------


def _split(rows: list[dict], split: str) -> list[dict]:
    """The gap study's rows of one test split: `dev` (the development samples, the default) or
    `confirm` (the confirmation samples, read once)."""
    if split not in gap.SPLITS:
        raise TinylmError(f"unknown test split {split!r}: {', '.join(gap.SPLITS)}")
    return gap.on_split(rows, split)


def gap_gaps(rows: list[dict], split: str = "dev") -> str:
    """Each task's gap with its interval, over n seeds."""
    rows = _split(rows, split)
    summary = summarised(gap.summarise, rows)
    gaps = listing(f"{fmt_interval(s['gap'])} ({task_title(s['task'])})" for s in summary)
    return f"**{gaps}** over {number(min(s['gap'].n for s in summary))} seeds"


def gap_wins(rows: list[dict], split: str = "dev") -> str:
    """On how many seeds the pre-trained arm beats the arm from scratch."""
    rows = _split(rows, split)
    per_seed = [
        d for s in summarised(gap.summarise, rows) for d in differences(*_arms(rows, s["task"]))
    ]
    return count(
        sum(d > 0 for d in per_seed), len(per_seed), "every seed of every task", "seeds and tasks"
    )


def _arms(rows: list[dict], task: str) -> tuple[dict, dict]:
    """{seed: accuracy} of the pre-trained arm (of the gap study: one Ws) and of scratch."""
    return accuracies(rows, task, "pretrained"), accuracies(rows, task, "scratch")


def gap_clear(rows: list[dict], split: str = "dev") -> str:
    """Which tasks' gap intervals exclude zero."""
    rows = _split(rows, split)
    return clear({s["task"]: s["gap"] for s in summarised(gap.summarise, rows)}, "gap")


def gap_range(rows: list[dict], split: str = "dev") -> str:
    """The mean gaps' range in points."""
    rows = _split(rows, split)
    return points(s["gap"].mean for s in summarised(gap.summarise, rows)) + " points"


def gap_tfidf(rows: list[dict], split: str = "dev") -> str:
    """TF-IDF's lead over each arm, in points."""
    rows = _split(rows, split)
    summary = summarised(gap.summarise, rows)
    leads = {
        arm: [s["tfidf"].mean - s[arm].mean for s in summary] for arm in ("pretrained", "scratch")
    }
    if all(v > 0 for values in leads.values() for v in values):
        return (
            f"beats both arms, the pre-trained one by {points(leads['pretrained'])} points and "
            f"the one from scratch by {points(leads['scratch'])} points"
        )
    names = {"pretrained": "the pre-trained arm", "scratch": "the arm from scratch"}
    parts = []
    for arm, values in leads.items():
        verb = "beats" if min(values) > 0 else "trails" if max(values) < 0 else "is level with"
        span = "" if verb == "is level with" else f" by {points(values)} points"
        parts.append(f"{verb} {names[arm]}{span}")
    return " and ".join(parts)


def gap_arms(rows: list[dict], split: str = "dev") -> str:
    """Each arm's accuracy, the gap and TF-IDF, per task."""
    rows = _split(rows, split)
    return markdown_table(
        ["task", "pre-trained", "from scratch", "gap [95% CI]", "TF-IDF + LR"],
        [
            [
                task_title(s["task"]),
                fmt_mean_std(s["pretrained"]),
                fmt_mean_std(s["scratch"]),
                interval(s["gap"]),
                fmt_mean_std(s["tfidf"]),
            ]
            for s in summarised(gap.summarise, rows)
        ],
    )


def gap_seeds(rows: list[dict], split: str = "dev") -> str:
    """Each arm's test accuracy per seed."""
    rows = _split(rows, split)
    body = []
    for s in summarised(gap.summarise, rows):
        pretrained, scratch = _arms(rows, s["task"])
        body.append([task_title(s["task"]), seeds(pretrained), seeds(scratch)])
    return markdown_table(["task", "pre-trained", "from scratch"], body)


# --- the budget study ---------------------------------------------------------------------


def budget_gaps(rows: list[dict]) -> str:
    """Per budget: the snapshot's validation loss and each task's gap."""
    summary = summarised(budget.summarise, rows)
    tasks = list(summary)
    body = []
    for i, tokens_ in enumerate(budget.budgets(rows)):
        loss = summary[tasks[0]]["points"][i]["val_loss"]
        body.append(
            [
                format_tokens(tokens_),
                "n/a" if loss is None else f"{loss.mean:.2f}",
                *(interval(summary[t]["points"][i]["gap"]) for t in tasks),
            ]
        )
    header = [f"{task_title(t)} gap [95% CI]" for t in tasks]
    return markdown_table(["tokens read", "validation MLM loss", *header], body)


def budget_seeds(rows: list[dict]) -> str:
    """Per budget, each task's gap per seed."""
    summary = summarised(budget.summarise, rows)
    scratch = {t: _arms(rows, t)[1] for t in summary}
    body = [
        [
            format_tokens(b),
            *(
                signed(differences(at(d["points"], "budget", b)["by_seed"], scratch[t]))
                for t, d in summary.items()
            ),
        ]
        for b in budget.budgets(rows)
    ]
    return markdown_table(["tokens read", *map(task_title, summary)], body)


def budget_at(rows: list[dict], tokens_read: str) -> str:
    """Each task's mean gap at one budget, and which intervals exclude zero."""
    wanted = tokens(tokens_read)
    gaps = {
        t: at(d["points"], "budget", wanted)["gap"]
        for t, d in summarised(budget.summarise, rows).items()
    }
    means = listing(f"{task_title(t)} {e.mean:+.3f}" for t, e in gaps.items())
    return f"at {format_tokens(wanted)} tokens, {means} ({clear(gaps, 'gap')})"


def budget_crossover(rows: list[dict]) -> str:
    """Where the gap's interval first lies above zero: between which budgets, on which tasks."""
    grid = budget.budgets(rows)
    by_budget: dict[int | None, list[str]] = {}
    for task, data in summarised(budget.summarise, rows).items():
        crossover = data["crossover"]["budget"] if data["crossover"] else None
        by_budget.setdefault(crossover, []).append(task_title(task))
    parts = []
    for crossover, tasks in by_budget.items():
        where = "every task" if len(by_budget) == 1 else listing(tasks)
        if crossover is None:
            parts.append(f"beyond {format_tokens(grid[-1])} tokens on {where}")
        elif crossover == grid[0]:
            parts.append(f"at or below {format_tokens(crossover)} tokens on {where}")
        else:
            before = grid[grid.index(crossover) - 1]
            parts.append(
                f"between {format_tokens(before)} and {format_tokens(crossover)} tokens on {where}"
            )
    return "; ".join(parts)


def budget_crossovers(rows: list[dict]) -> str:
    """Each task's crossover with its gap there, tasks of one crossover together."""
    by_budget: dict[int | None, list[str]] = {}
    for task, data in summarised(budget.summarise, rows).items():
        crossover = data["crossover"]
        key = crossover["budget"] if crossover else None
        gap_ = f" ({fmt_interval(crossover['gap'])})" if crossover else ""
        by_budget.setdefault(key, []).append(task_title(task) + gap_)
    return "; ".join(
        ("none on the grid" if b is None else f"{format_tokens(b)} tokens")
        + f" on {listing(tasks)}"
        for b, tasks in by_budget.items()
    )


def _budget_gaps(rows: list[dict], summary: dict, tokens_: int) -> list[float]:
    """Every task's gap per seed at one budget."""
    return [
        g
        for t, d in summary.items()
        for g in differences(at(d["points"], "budget", tokens_)["by_seed"], _arms(rows, t)[1])
    ]


def budget_signs(rows: list[dict]) -> str:
    """How many per-seed gaps are positive: from the first budget where all are, and below."""
    summary = summarised(budget.summarise, rows)
    grid = budget.budgets(rows)
    gaps = {b: _budget_gaps(rows, summary, b) for b in grid}
    first = next(
        (i for i in range(len(grid)) if all(g > 0 for b in grid[i:] for g in gaps[b])), None
    )
    parts = []
    if first is not None:
        above = [g for b in grid[first:] for g in gaps[b]]
        parts.append(
            f"from {format_tokens(grid[first])} tokens on, {len(above)} gaps of {len(above)} are "
            f"positive (by {points(above)} points)"
        )
    for b in reversed(grid[:first] if first is not None else grid):
        shown = [round(g, 3) for g in gaps[b]]  # as the per-seed table shows them
        zero = shown.count(0)
        more = f" ({number(zero)} more at 0.000)" if zero else ""
        parts.append(f"at {format_tokens(b)}, {sum(g > 0 for g in shown)} of {len(shown)}{more}")
    return "; ".join(parts)


def budget_above(rows: list[dict], first: str) -> str:
    """Whether every seed's gap is positive from one budget on."""
    summary = summarised(budget.summarise, rows)
    wanted = tokens(first)
    gaps = [g for b in budget.budgets(rows) if b >= wanted for g in _budget_gaps(rows, summary, b)]
    said = count(
        sum(g > 0 for g in gaps),
        len(gaps),
        "every seed's gap is positive on every task",
        "per-seed gaps are positive",
    )
    return f"from {format_tokens(wanted)} tokens on, {said}"


def budget_under(rows: list[dict], tokens_read: str) -> str:
    """By how much, and on how many seeds, the pre-trained arm falls under scratch at a budget."""
    wanted = tokens(tokens_read)
    gaps = _budget_gaps(rows, summarised(budget.summarise, rows), wanted)
    below = [g for g in gaps if g < 0]
    if not below:
        return f"above scratch on every seed and task at {format_tokens(wanted)} tokens"
    return (
        f"{points(below)} points under scratch on {number(len(below))} of {number(len(gaps))} "
        "seeds and tasks"
    )


def budget_accuracy(rows: list[dict]) -> str:
    """Test accuracy from scratch and at the largest budget, per task."""
    summary = summarised(budget.summarise, rows)
    last = budget.budgets(rows)[-1]
    scratch = ", ".join(f"{d['scratch'].mean:.3f}" for d in summary.values())
    top = ", ".join(f"{d['points'][-1]['pretrained'].mean:.3f}" for d in summary.values())
    return f"from scratch: {scratch}; pre-trained to {format_tokens(last)}: {top}"


def budget_between(rows: list[dict], first: str, last: str) -> str:
    """Each task's mean gap at two budgets, and the snapshots' validation losses."""
    a, b = tokens(first), tokens(last)
    summary = summarised(budget.summarise, rows)
    moves = listing(
        f"{task_title(t)} {at(d['points'], 'budget', a)['gap'].mean:+.3f} to "
        f"{at(d['points'], 'budget', b)['gap'].mean:+.3f}"
        for t, d in summary.items()
    )
    points_ = next(iter(summary.values()))["points"]
    before, after = (at(points_, "budget", x)["val_loss"] for x in (a, b))
    if before is None or after is None:
        return moves
    change = before.mean - after.mean
    verb = "falls" if change >= 0 else "rises"
    return f"{moves}, while the validation loss {verb} {abs(change):.2f} nats"


def budget_rise(rows: list[dict], first: str, last: str) -> str:
    """Each task's gap at `last` minus at `first`, paired by seed, with its interval."""
    a, b = tokens(first), tokens(last)
    parts = []
    for t, d in summarised(budget.summarise, rows).items():
        before, after = (at(d["points"], "budget", x)["by_seed"] for x in (a, b))
        parts.append(f"{task_title(t)} {fmt_interval(paired(after, before))}")
    return listing(parts)


def budget_plateau(rows: list[dict]) -> str:
    return f"{next(iter(summarised(budget.summarise, rows).values()))['plateau']:.2f}"


# --- the ws study -------------------------------------------------------------------------


def _ws_scratch(rows: list[dict]) -> dict[str, dict]:
    return {t: _arms(rows, t)[1] for t in summarised(ws.summarise, rows)}


def ws_seeds(rows: list[dict]) -> str:
    """Per Ws: each seed's validation and last training loss, and each task's gap per seed;
    the largest Ws's mean gap with its interval last."""
    summary = summarised(ws.summarise, rows)
    scratch = _ws_scratch(rows)
    tasks = list(summary)
    body = []
    for size in ws.grid(rows):
        models = {
            r["seed"]: r for r in rows if r["arm"] == "pretrained" and r["ws"] == size
        }  # one pre-training per seed, shared by the tasks
        losses = [
            ", ".join(
                "n/a" if models[s].get(c) is None else f"{models[s][c]:.2f}" for s in sorted(models)
            )
            for c in ("val_loss", "pretrain_loss")
        ]
        gaps = [
            signed(differences(at(summary[t]["points"], "ws", size)["by_seed"], scratch[t]))
            for t in tasks
        ]
        body.append([f"{size:,}", *losses, *gaps])
    largest = ws.grid(rows)[-1]
    body.append(
        [
            f"mean gap [95% interval] at {largest:,}",
            "",
            "",
            *(interval(at(summary[t]["points"], "ws", largest)["gap"]) for t in tasks),
        ]
    )
    header = ["Ws", "validation MLM loss (per seed)", "last training loss"]
    return markdown_table([*header, *(f"{task_title(t)} gap (per seed)" for t in tasks)], body)


def ws_accuracy(rows: list[dict]) -> str:
    """Accuracy against Ws (0: from scratch) and the gaps, per task."""
    summary = summarised(ws.summarise, rows)
    tasks = list(summary)
    body = [["0", *(fmt_mean_std(summary[t]["scratch"]) for t in tasks), *[""] * len(tasks)]]
    for size in ws.grid(rows):
        here = {t: at(summary[t]["points"], "ws", size) for t in tasks}
        body.append(
            [
                f"{size:,}",
                *(fmt_mean_std(here[t]["pretrained"]) for t in tasks),
                *(fmt_interval(here[t]["gap"]) for t in tasks),
            ]
        )
    names = [task_title(t) for t in tasks]
    return markdown_table(["Ws", *names, *(f"{n} gap" for n in names)], body)


def ws_scratch(rows: list[dict]) -> str:
    return "; ".join(f"{task_title(t)} {seeds(s)}" for t, s in _ws_scratch(rows).items())


def ws_plateau(rows: list[dict]) -> str:
    """The plateau's level per Ws: the context-free predictor is fitted on each subset's own
    tokens, so a smaller subset's is higher."""
    levels = []
    for size in ws.grid(rows):
        values = {r["plateau_loss"] for r in rows if r["ws"] == size and r.get("plateau_loss")}
        levels.append(f"{min(values):.2f}" if values else "n/a")
    return f"{listing(levels)} at Ws = {listing(f'{s:,}' for s in ws.grid(rows))}"


def ws_means(rows: list[dict]) -> str:
    return "; ".join(
        f"{task_title(t)} {signed(p['gap'].mean for p in d['points'])}"
        for t, d in summarised(ws.summarise, rows).items()
    )


def _ws_growth(rows: list[dict]) -> dict[str, tuple[list[float], Estimate]]:
    """Per task: the largest Ws's accuracy minus the smallest's per seed (the scratch arm
    cancels), and their mean with its interval, as the study's claim pairs them."""
    out = {}
    for task, data in summarised(ws.summarise, rows).items():
        small, large = data["points"][0]["by_seed"], data["points"][-1]["by_seed"]
        out[task] = (differences(large, small), paired(large, small))
    return out


def ws_rises(rows: list[dict]) -> str:
    return "; ".join(
        f"{task_title(t)} {signed(per_seed)}, mean {fmt_interval(mean)}"
        for t, (per_seed, mean) in _ws_growth(rows).items()
    )


def ws_growth(rows: list[dict]) -> str:
    return listing(
        f"{task_title(t)} {fmt_interval(mean)}" for t, (_, mean) in _ws_growth(rows).items()
    )


def ws_rising(rows: list[dict]) -> str:
    """On how many seeds the gap rises from the smallest Ws to the largest, by how much on
    average, and whether any rise's interval excludes zero."""
    growth = _ws_growth(rows)
    grid = ws.grid(rows)
    by_count: dict[tuple[int, int], list[str]] = {}
    for task, (per_seed, _) in growth.items():
        by_count.setdefault((sum(d > 0 for d in per_seed), len(per_seed)), []).append(
            task_title(task)
        )
    groups = sorted(by_count.items(), key=lambda item: -item[0][0] / item[0][1])
    seeds_ = listing(
        "on " + ("every seed" if up == n else f"{number(up)} of {number(n)}") + f" on {listing(t)}"
        for (up, n), t in groups
    )
    means = {t: mean for t, (_, mean) in growth.items()}
    values = [e.mean for e in means.values()]
    size = (
        points(values)
        if min(values) > 0
        else f"{min(values) * 100:+.0f} to {max(values) * 100:+.0f}"
    )
    return (
        f"rising from Ws = {grid[0]:,} to {grid[-1]:,} {seeds_}, by {size} points on average; "
        f"{clear(means, 'rise')}"
    )


def ws_losses(rows: list[dict], size: str) -> str:
    """The pre-trainings' last training and validation losses at one Ws, over the seeds."""
    models = {r["seed"]: r for r in rows if r["arm"] == "pretrained" and r["ws"] == int(size)}
    if not models:
        raise TinylmError(f"no pre-training at Ws = {size} in the results")

    def span(column: str) -> str:
        values = [m[column] for m in models.values() if m.get(column) is not None]
        return f"{min(values):.2f} to {max(values):.2f}" if values else "n/a"

    return f"training loss {span('pretrain_loss')}, validation loss {span('val_loss')}"


def ws_positive(rows: list[dict], size: str) -> str:
    """How many per-seed gaps at one Ws are positive."""
    scratch = _ws_scratch(rows)
    values = [
        g
        for t, d in summarised(ws.summarise, rows).items()
        for g in differences(at(d["points"], "ws", int(size))["by_seed"], scratch[t])
    ]
    return f"{number(sum(g > 0 for g in values))} of {number(len(values))}"


# --- the overlap study --------------------------------------------------------------------


def _corpora(data: dict, kind: str) -> tuple[dict, dict]:
    """The two corpora whose accuracies a claim subtracts, as the study's claims pick them:
    `ablation` (the most types removed; `ablation:400` that many) against the random subset of
    the fixed Ws, `custom` against it, `reverse` (more foreign tokens) against fewer (or it)."""
    fixed = data["fixed_ws"]
    base = next(iter(overlap._find(data, "random", fixed)), None)
    name, _, removed = kind.partition(":")
    if name == "ablation":
        found = overlap._find(data, "ablation")
        if removed:
            found = [c for c in found if c["removed"] == int(removed)]
        other = found[-1] if found else None
    elif name == "custom":
        other = next(iter(overlap._find(data, "custom")), None)
    elif name == "reverse":
        other = next(iter(overlap._find(data, "reverse-more")), None)
        base = next(iter(overlap._find(data, "reverse-fewer")), base)
    else:
        raise TinylmError(f"unknown corpus effect {kind!r}: ablation[:N], custom or reverse")
    if other is None or base is None:
        raise TinylmError(f"the results hold no {kind} corpus to compare")
    return other, base


def overlap_effect(rows: list[dict], kind: str, task: str | None = None) -> str:
    """A built corpus's accuracy minus the random subset's (or the swap's), per seed and its
    mean with its interval, per task; with `task`, that task's mean alone."""
    summary = summarised(overlap.summarise, rows)
    if task is not None:
        other, base = _corpora(_task(summary, task), kind)
        return fmt_interval(paired(other["by_seed"], base["by_seed"]))
    per_seed, means = [], []
    for t, data in summary.items():
        other, base = _corpora(data, kind)
        values = differences(other["by_seed"], base["by_seed"])
        per_seed.append(" / ".join(f"{v:+.3f}" for v in values) + f" ({task_title(t)})")
        means.append(fmt_interval(paired(other["by_seed"], base["by_seed"])))
    return f"{', '.join(per_seed)}; means {', '.join(means)}"


def _task(summary: dict, task: str) -> dict:
    if task not in summary:
        raise TinylmError(f"no task {task!r} in the results (they hold {', '.join(summary)})")
    return summary[task]


def overlap_correlation(rows: list[dict], task: str | None = None) -> str:
    """r(weighted) - r(plain) at the fixed Ws, with its bootstrap interval, per task."""
    summary = summarised(overlap.summarise, rows)
    if task is not None:
        return fmt_interval(_task(summary, task)["correlation"]["fixed"]["difference"], 2)
    return ", ".join(
        f"{fmt_interval(d['correlation']['fixed']['difference'], 2)} ({task_title(t)})"
        for t, d in summary.items()
    )


def overlap_scratch(rows: list[dict]) -> str:
    summary = summarised(overlap.summarise, rows)
    by_seed = {
        t: {r["seed"]: r["test_accuracy"] for r in rows if r["task"] == t and r["arm"] == "scratch"}
        for t in summary
    }
    seeds_ = sorted(next(iter(by_seed.values())))
    listed = ", ".join(
        " / ".join(f"{s[k]:.3f}" for k in sorted(s)) + f" ({task_title(t)})"
        for t, s in by_seed.items()
    )
    return f"{listed} on seeds {' / '.join(map(str, seeds_))}"


def overlap_random(rows: list[dict]) -> str:
    """The random subsets' mean gaps per Ws, per task."""
    summary = summarised(overlap.summarise, rows)
    sizes = sorted({c["ws"] for d in summary.values() for c in overlap._find(d, "random")})
    gaps = ", ".join(
        f"{task_title(t)} "
        + " / ".join(f"{c['gap'].mean:+.3f}" for c in overlap._find(d, "random"))
        for t, d in summary.items()
    )
    return f"mean gap at Ws = {' / '.join(f'{s:,}' for s in sizes)}: {gaps}"


def overlap_excluding(rows: list[dict]) -> str:
    """How many intervals of the corpus effects (claims 4 to 7, every task) exclude zero."""
    estimates = []
    for data in summarised(overlap.summarise, rows).values():
        for kind in ("ablation", "custom", "reverse"):
            try:
                other, base = _corpora(data, kind)
            except TinylmError:
                continue
            estimates.append(paired(other["by_seed"], base["by_seed"]))
        difference = data["correlation"]["fixed"]["difference"]
        if difference is not None:
            estimates.append(difference)
    return f"{number(sum(e.sign() != 0 for e in estimates))} of {number(len(estimates))}"


# --- the committee study ------------------------------------------------------------------


def _entry(data: dict, name: str) -> dict:
    if name == "reference":
        return data["reference"]
    if name == "full":
        return data["full"]
    if name not in data["entries"]:
        raise TinylmError(
            f"no model or committee {name!r} (known: reference, full, {', '.join(data['entries'])})"
        )
    return data["entries"][name]


def committee_accuracy(rows: list[dict], name: str, spread: str = "") -> str:
    """A model's or committee's mean accuracy per task (`sd`: with its standard deviation)."""
    entries = [_entry(d, name)["accuracy"] for d in summarised(committee.summarise, rows).values()]
    if spread == "sd":
        return listing(fmt_mean_std(e) for e in entries)
    return ", ".join(f"{e.mean:.3f}" for e in entries)


def committee_seeds(rows: list[dict], name: str) -> str:
    """A model's accuracy per seed, per task."""
    return ", ".join(
        f"{listing(seeds(_entry(d, name)['by_seed']).split(', '))} on {task_title(t)}"
        for t, d in summarised(committee.summarise, rows).items()
    )


def committee_difference(rows: list[dict], name: str = "full") -> str:
    """A model's or committee's accuracy minus the reference's, paired by seed, per task."""
    parts = []
    for t, d in summarised(committee.summarise, rows).items():
        difference = paired(_entry(d, name)["by_seed"], d["reference"]["by_seed"])
        parts.append(f"{interval(difference)} on {task_title(t)}")
    return listing(parts)


def committee_clear(rows: list[dict], name: str = "full") -> str:
    """Which tasks' intervals of that difference exclude zero."""
    return clear(
        {
            t: paired(_entry(d, name)["by_seed"], d["reference"]["by_seed"])
            for t, d in summarised(committee.summarise, rows).items()
        },
        "difference",
    )


def committee_latency(rows: list[dict], name: str, mode: str = "parallel") -> str:
    """A model's or committee's median latency at batch 1 per task, in ms."""
    column = "latency_ms" if mode == "parallel" else "latency_ms_sequential"
    values = [_entry(d, name)[column] for d in summarised(committee.summarise, rows).values()]
    return listing("n/a" if v is None else f"{v:.2f}" for v in values)


def committee_slower(rows: list[dict], name: str = "full") -> str:
    """How many times the reference's latency a model or committee takes: "2.2 to 2.7"."""
    ratios = [
        _entry(d, name)["latency_ms"] / d["reference"]["latency_ms"]
        for d in summarised(committee.summarise, rows).values()
    ]
    low, high = f"{min(ratios):.1f}", f"{max(ratios):.1f}"
    return low if low == high else f"{low} to {high}"


def committee_beats(rows: list[dict], name: str) -> str:
    """On how many seeds and tasks a model beats the reference."""
    values = [
        v
        for d in summarised(committee.summarise, rows).values()
        for v in differences(_entry(d, name)["by_seed"], d["reference"]["by_seed"])
    ]
    return count(
        sum(v > 0 for v in values), len(values), "every seed of every task", "seeds and tasks"
    )


def committee_best(rows: list[dict]) -> str:
    """The best committee per task (of two models or more, chosen as the study chooses: on
    validation, or on test for rows that predate it): its test accuracy and size."""
    parts = []
    for t, d in summarised(committee.summarise, rows).items():
        best = d["best"]
        parts.append(
            f"{fmt_mean_std(best['accuracy'])} ({number(best['size'])} models, {task_title(t)})"
        )
    return listing(parts)


def committee_versus(rows: list[dict]) -> str:
    """A list: per task, the paper's committee against the reference, and the difference."""
    return "\n".join(
        f"- {task_title(t)} {fmt_mean_std(d['full']['accuracy'])} against "
        f"{fmt_mean_std(d['reference']['accuracy'])} ({fmt_interval(d['full_vs_reference'])})"
        + (";" if i < len(summarised(committee.summarise, rows)) - 1 else ".")
        for i, (t, d) in enumerate(summarised(committee.summarise, rows).items())
    )


def committee_speed(rows: list[dict]) -> str:
    """A table: per task, the reference's and the paper's committee's latency and throughput."""

    def rate(value) -> str:
        return "n/a" if value is None else f"{value:,.0f}"

    body = []
    for t, d in summarised(committee.summarise, rows).items():
        ref, full = d["reference"], d["full"]
        body.append(
            [
                task_title(t),
                f"{ref['latency_ms']:.1f} ms / {rate(ref['throughput_per_s'])}",
                f"{full['latency_ms']:.1f} ms / {rate(full['throughput_per_s'])}",
                f"{full['latency_ms_sequential']:.1f} ms / "
                f"{rate(full['throughput_per_s_sequential'])}",
                f"{ref['flops_per_example'] / 1e6:,.0f} vs {full['flops_per_example'] / 1e6:,.0f}",
            ]
        )
    return markdown_table(
        [
            "task",
            "BERT-6 twin: batch 1 / texts/s at 32",
            "paper's committee, parallel: batch 1 / texts/s at 32",
            "sequential",
            "MFLOP/text: twin vs committee",
        ],
        body,
    )


def committee_cheapest(rows: list[dict]) -> str:
    """Per task, the search's cheapest model within the margin against the reference."""
    parts = []
    for t, d in summarised(committee.summarise, rows).items():
        cheapest, ref = d["cheapest"], d["reference"]
        if cheapest is None:
            parts.append(f"{task_title(t)}: none within {committee.MARGIN:.2f}")
            continue
        parts.append(
            f"{task_title(t)}: {cheapest['name']}, {cheapest['accuracy'].mean:.3f} at "
            f"{cheapest['latency_ms']:.1f} ms, against {ref['accuracy'].mean:.3f} at "
            f"{ref['latency_ms']:.1f} ms"
        )
    return "; ".join(parts)


FIGURES = {
    "gap gaps": gap_gaps,
    "gap wins": gap_wins,
    "gap clear": gap_clear,
    "gap range": gap_range,
    "gap tfidf": gap_tfidf,
    "gap arms": gap_arms,
    "gap seeds": gap_seeds,
    "budget gaps": budget_gaps,
    "budget seeds": budget_seeds,
    "budget at": budget_at,
    "budget crossover": budget_crossover,
    "budget crossovers": budget_crossovers,
    "budget signs": budget_signs,
    "budget above": budget_above,
    "budget under": budget_under,
    "budget accuracy": budget_accuracy,
    "budget between": budget_between,
    "budget rise": budget_rise,
    "budget plateau": budget_plateau,
    "ws seeds": ws_seeds,
    "ws accuracy": ws_accuracy,
    "ws scratch": ws_scratch,
    "ws plateau": ws_plateau,
    "ws means": ws_means,
    "ws rises": ws_rises,
    "ws growth": ws_growth,
    "ws rising": ws_rising,
    "ws losses": ws_losses,
    "ws positive": ws_positive,
    "overlap effect": overlap_effect,
    "overlap correlation": overlap_correlation,
    "overlap scratch": overlap_scratch,
    "overlap random": overlap_random,
    "overlap excluding": overlap_excluding,
    "committee accuracy": committee_accuracy,
    "committee seeds": committee_seeds,
    "committee difference": committee_difference,
    "committee clear": committee_clear,
    "committee latency": committee_latency,
    "committee slower": committee_slower,
    "committee beats": committee_beats,
    "committee best": committee_best,
    "committee versus": committee_versus,
    "committee speed": committee_speed,
    "committee cheapest": committee_cheapest,
}
