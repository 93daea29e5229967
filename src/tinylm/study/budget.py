"""Study `budget`: the gap as a function of pre-training compute, beyond the paper.

Per seed, one pre-training on Ws = preset.budget_ws (else gap_ws) reads up to the largest
token count of preset.budget_tokens and keeps its model at each (snapshots along one run,
under one learning-rate schedule: a smaller budget's snapshot has not had its own decay, so
its gap is, if anything, an underestimate). Each snapshot is fine-tuned on each task beside the
scratch arm (the same jobs as the gap study's). The crossover is the smallest budget whose gap
interval lies above zero; the validation MLM loss of each snapshot goes beside it.
"""

import math
from pathlib import Path

import numpy as np

from tinylm.study.engine import Cell, JobFactory, Store
from tinylm.study.presets import Preset
from tinylm.study.protocol import Study
from tinylm.study.results import Claim, verdict_from_sign
from tinylm.study.stats import estimate, fmt_interval, fmt_mean_std, format_tokens, paired
from tinylm.study.tables import (
    accuracies,
    column_estimate,
    interval_bars,
    macro_f1_table,
    markdown_table,
    plateau_loss,
    plot_style,
    save_figure,
    tasks_in,
)

NAME = "budget"
TITLE = "The gap against pre-training compute"
COLUMNS = ("budget", "tokens_read")


def cells(factory: JobFactory, preset: Preset) -> list[Cell]:
    ws = preset.budget_ws or preset.gap_ws
    out = []
    for task in preset.tasks:
        for seed in range(preset.seeds):
            params = {"task": task, "seed": seed}
            pretrained = factory.pretrain(ws, seed, snapshots=preset.budget_tokens)
            for tokens in preset.budget_tokens:
                job = factory.finetune(task, seed, pretrained, snapshot=tokens)
                out.append(Cell({**params, "arm": "pretrained", "ws": ws, "budget": tokens}, job))
            out.append(Cell({**params, "arm": "scratch"}, factory.finetune(task, seed, None)))
    return out


def row_extras(cell: Cell, store: Store) -> dict:
    """A pre-trained row's snapshot: the tokens read to it and its validation MLM loss and
    accuracy, in place of the whole pre-training's (result_row's; the plateau is the same)."""
    job = cell.job
    if job.snapshot is None:
        return {}
    pretrained = store.summary(job.init)
    snapshot = next(s for s in pretrained["snapshots"] if s["tokens"] == job.snapshot)
    return {
        "tokens_read": snapshot["tokens_read"],
        "val_loss": snapshot.get("val_loss"),
        "val_accuracy": snapshot.get("val_accuracy"),
    }


def budgets(rows: list[dict]) -> list[int]:
    return sorted({int(r["budget"]) for r in rows if r["arm"] == "pretrained"})


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per task: the scratch arm, and per budget the pre-trained accuracy, the gap and the
    snapshot's validation loss; the crossover (None: no budget on the grid)."""
    out = {}
    for task in tasks_in(rows):
        scratch = accuracies(rows, task, "scratch")
        points = []
        for budget in budgets(rows):
            pretrained = accuracies(rows, task, "pretrained", budget=budget)
            at = [
                r
                for r in rows
                if r["task"] == task and r["arm"] == "pretrained" and r["budget"] == budget
            ]
            loss = column_estimate(at, "val_loss")
            points.append(
                {
                    "budget": budget,
                    "pretrained": estimate(pretrained.values()),
                    "gap": paired(pretrained, scratch),
                    "val_loss": loss if loss.n else None,
                    "by_seed": pretrained,
                }
            )
        crossover = next((p for p in points if p["gap"].low > 0), None)
        level = plateau_loss([r for r in rows if r["task"] == task])
        level = math.nan if level is None else level  # rows of older results
        out[task] = {
            "scratch": estimate(scratch.values()),
            "points": points,
            "crossover": crossover,
            "plateau": level,
            "extrapolated": None if crossover else extrapolate(points, level),
        }
    return out


def extrapolate(points: list[dict], plateau: float) -> dict | None:
    """Where the mean gap would reach zero if it kept growing as it does along the grid: a
    least-squares line of the mean gap against log tokens, through the snapshots that have
    left the plateau's level (before that a model ignores context, and its gap says nothing
    of the trend). An extrapolation of a mean, not a measurement. None where fewer than two
    such snapshots exist; `tokens` None where the line does not rise."""
    usable = [
        p
        for p in points
        if p["val_loss"] is not None
        and p["val_loss"].mean < plateau
        and not math.isnan(p["gap"].mean)
    ]
    if len(usable) < 2:
        return None
    x = [math.log10(p["budget"]) for p in usable]
    y = [p["gap"].mean for p in usable]
    slope, intercept = (float(v) for v in np.polyfit(x, y, 1))
    return {
        "slope": slope,  # gap per tenfold tokens
        "tokens": 10 ** (-intercept / slope) if slope > 0 else None,
        "from": [p["budget"] for p in usable],
    }


def table(rows: list[dict]) -> str:
    summary = summarise(rows)
    tasks = list(summary)
    body = []
    for i, budget in enumerate(budgets(rows)):
        first = summary[tasks[0]]["points"][i]
        body.append(
            [
                format_tokens(budget),
                "n/a" if first["val_loss"] is None else fmt_mean_std(first["val_loss"]),
                *(fmt_interval(summary[t]["points"][i]["gap"]) for t in tasks),
            ]
        )
    accuracy = markdown_table(
        ["tokens read", *tasks],
        [["0 (from scratch)", *(fmt_mean_std(summary[t]["scratch"]) for t in tasks)]]
        + [
            [
                format_tokens(b),
                *(fmt_mean_std(summary[t]["points"][i]["pretrained"]) for t in tasks),
            ]
            for i, b in enumerate(budgets(rows))
        ],
    )
    lines = [_crossover_line(task, data) for task, data in summary.items()]
    plateau = summary[tasks[0]]["plateau"]
    return (
        "The gap (pre-trained minus from scratch, paired by seed, 95% Student-t interval) "
        "against the tokens the pre-training had read, with the validation MLM loss of the "
        f"snapshot (mean ± sd over seeds; a model that ignores context scores {plateau:.2f}):"
        "\n\n"
        + markdown_table(["tokens read", "validation MLM loss", *tasks], body)
        + "\n\nTest accuracy (mean ± standard deviation over seeds):\n\n"
        + accuracy
        + "\n\n"
        + macro_f1_table(rows, "budget", "tokens read", format_tokens)
        + "\n\n"
        + "\n".join(f"- {line}" for line in lines)
    )


def _crossover_line(task: str, data: dict) -> str:
    crossover, last = data["crossover"], data["points"][-1]
    if crossover is not None:
        line = (
            f"{task}: the gap turns positive at {format_tokens(crossover['budget'])} tokens "
            f"({fmt_interval(crossover['gap'])})"
        )
        later = [p for p in data["points"] if p["budget"] > crossover["budget"]]
        if any(p["gap"].low <= 0 for p in later):  # it did not stay there: say where it ends
            line += f", not at every larger budget: {fmt_interval(last['gap'])} at "
            line += f"{format_tokens(last['budget'])} tokens"
        return line
    line = (
        f"{task}: no budget on the grid gives a gap whose interval lies above zero; at "
        f"{format_tokens(last['budget'])} tokens it is {fmt_interval(last['gap'])}"
    )
    trend = data.get("extrapolated")
    if trend is None:
        return line
    fitted = ", ".join(format_tokens(b) for b in trend["from"])
    if trend["tokens"] is None:
        return f"{line}; off the plateau ({fitted}) the mean gap does not rise with tokens"
    where = "beyond" if trend["tokens"] > last["budget"] else "within"
    zero = int(float(f"{trend['tokens']:.2g}"))  # two significant digits: it is a guess
    return (
        f"{line}; extrapolated, not measured: the mean gap rises {trend['slope']:+.3f} per "
        f"tenfold tokens off the plateau ({fitted}) and would reach zero near "
        f"{format_tokens(zero)} tokens ({where} the grid)"
    )


def plot(rows: list[dict], path: Path, caption: str) -> None:
    import matplotlib.pyplot as plt

    summary = summarise(rows)
    grid = budgets(rows)
    with plot_style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
        for task, data in summary.items():
            points = data["points"]
            means, errors = interval_bars([p["gap"] for p in points])
            left.errorbar(grid, means, yerr=errors, marker="o", capsize=3, label=task)
        first = next(iter(summary.values()))
        losses = [p["val_loss"].mean if p["val_loss"] else math.nan for p in first["points"]]
        right.plot(grid, losses, marker="o", color="0.3", label="validation MLM loss")
        if not math.isnan(first["plateau"]):
            right.axhline(first["plateau"], color="tab:red", linestyle="--", linewidth=0.9)
            right.text(grid[0], first["plateau"], " plateau (no context)", va="bottom", fontsize=7)
        left.axhline(0, color="0.6", linewidth=0.8)
        # a gap of accuracies lies within [-1, 1]; an interval of few seeds can reach beyond
        # and would squash every mean onto the zero line (the table has its full bounds)
        low, high = left.get_ylim()
        left.set_ylim(max(low, -1.05), min(high, 1.05))
        left.set_ylabel("gap (pre-trained − scratch)")
        left.set_title("Gap against tokens read (95% CI)")
        right.set_ylabel("nats")
        right.set_title("Validation MLM loss of the snapshot")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xlim(grid[0] / 1.4, grid[-1] * 1.4)
            ax.set_xticks(grid, [format_tokens(b) for b in grid])
            ax.minorticks_off()
            ax.set_xlabel("tokens read in pre-training")
            ax.legend(fontsize=8, loc="best")
        save_figure(fig, path, caption)


def claims(rows: list[dict]) -> list[Claim]:
    out = []
    for task, data in summarise(rows).items():
        points = data["points"]
        last = points[-1]
        crossover = data["crossover"]
        verdict = "holds" if crossover is not None else verdict_from_sign(last["gap"].sign())
        out.append(
            Claim(
                NAME,
                f"Pre-training pays off within the budget grid on {task}",
                "a positive gap (the paper pre-trains 50 epochs on a GPU)",
                _crossover_line(task, data),
                verdict,
            )
        )
        if len(points) >= 2:
            growth = paired(last["by_seed"], points[0]["by_seed"])
            out.append(
                Claim(
                    NAME,
                    f"The gap grows with pre-training compute on {task}",
                    "(beyond the paper)",
                    f"gap {fmt_interval(points[0]['gap'])} at {format_tokens(points[0]['budget'])} "
                    f"tokens, {fmt_interval(last['gap'])} at {format_tokens(last['budget'])}; "
                    f"difference {fmt_interval(growth)}",
                    verdict_from_sign(growth.sign()),
                )
            )
    return out


def preset_lines(preset: Preset) -> list[str]:
    grid = ", ".join(format_tokens(t) for t in preset.budget_tokens)
    ws = preset.budget_ws or preset.gap_ws
    return [f"- budget study: snapshots at {grid} tokens of one pre-training on Ws = {ws:,}"]


STUDY = Study(
    name=NAME,
    title=TITLE,
    cells=cells,
    table=table,
    plot=plot,
    claims=claims,
    columns=COLUMNS,
    row_extras=row_extras,
    defined_by=lambda preset: bool(preset.budget_tokens),
    needs="a budget_tokens grid",
    preset_lines=preset_lines,
)
