"""Helpers the studies share: reading accuracies out of result rows, markdown tables, and one
plot style."""

import contextlib

from tinylm.study.stats import Estimate, estimate, fmt_optional, mean_or_none


def tasks_in(rows: list[dict]) -> list[str]:
    """The tasks of the rows, in their order of appearance."""
    return list(dict.fromkeys(r["task"] for r in rows))


def accuracies(
    rows: list[dict],
    task: str,
    arm: str,
    ws: int | None = None,
    budget: int | None = None,
    metric: str = "test_accuracy",
    labels: int | None = None,
) -> dict[int, float]:
    """{seed: test accuracy (or another metric)} of one arm (and one Ws, or one budget, for
    the pre-trained arm; or one number of labels kept)."""
    return {
        r["seed"]: r[metric]
        for r in rows
        if r["task"] == task
        and r["arm"] == arm
        and (ws is None or r["ws"] == ws)
        and (budget is None or r["budget"] == budget)
        and (labels is None or r["labels"] == labels)
    }


def column_estimate(rows: list[dict], column: str) -> Estimate:
    """Mean and spread of a column over the rows that have it (rows written before the column
    existed, reused from an older results.csv, lack it)."""
    return estimate(r[column] for r in rows if r.get(column) is not None)


def plateau_loss(rows: list[dict]) -> float | None:
    """The validation MLM loss of a model that ignores context, as the first row that records it
    gives it, or None where no row does. Its unigram is counted on the pre-training's own
    subset, so the level is one per Ws: for rows of one Ws (ws.py shows one per Ws)."""
    return next((r["plateau_loss"] for r in rows if r.get("plateau_loss") is not None), None)


def interval_bars(estimates: list[Estimate]) -> tuple[list[float], list[list[float]]]:
    """(means, yerr) for matplotlib's errorbar: each mean and its 95% interval's distances
    below and above it (0 where one value leaves the interval undefined)."""
    import math

    means = [e.mean for e in estimates]
    below = [0 if math.isnan(e.low) else e.mean - e.low for e in estimates]
    above = [0 if math.isnan(e.high) else e.high - e.mean for e in estimates]
    return means, [below, above]


def markdown_table(header: list[str], body: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in body]
    return "\n".join(lines)


def macro_f1_table(rows: list[dict], column: str, label: str, fmt=str) -> str:
    """Mean test macro-F1 over seeds per task: the scratch arm, then the pre-trained arm at each
    value of `column` (ws, budget), shown by `fmt`; macro-F1 weighs a rare label as much as a
    common one, where accuracy weighs each example."""
    tasks = tasks_in(rows)
    values = sorted({r[column] for r in rows if r["arm"] == "pretrained"})

    def mean(task: str, arm: str, value=None) -> str:
        f1 = [
            r.get("test_macro_f1")
            for r in rows
            if r["task"] == task and r["arm"] == arm and (value is None or r[column] == value)
        ]
        return fmt_optional(mean_or_none(f1))

    body = [["0 (from scratch)", *(mean(t, "scratch") for t in tasks)]]
    body += [[fmt(v), *(mean(t, "pretrained", v) for t in tasks)] for v in values]
    return "Test macro-F1 (mean over seeds):\n\n" + markdown_table([label, *tasks], body)


@contextlib.contextmanager
def plot_style():
    """Matplotlib without a display, in one small, plain style."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3}):
        yield


def save_figure(fig, path, caption: str) -> None:
    """Writes the figure as PNG with the caption (the command and commit) in its footer."""
    import textwrap

    import matplotlib.pyplot as plt

    # wrapped to the figure's width (about 22 characters an inch at 6 points): a long
    # command would otherwise run off the image
    width = int(fig.get_figwidth() * 22)
    lines = textwrap.wrap(caption, width) or [""]
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=6, color="0.4", va="bottom")
    footer = 0.03 + 0.1 / fig.get_figheight() * len(lines)  # room for the footer's lines
    fig.tight_layout(rect=(0, footer, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def arm_bars(summary: list[dict], labels: dict, title: str, path, caption: str, width: float):
    """Each task's test accuracy per arm as grouped bars (± sd over seeds): `summary` holds a
    row per task with an Estimate per arm of `labels` (arm: legend label)."""
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(summary))
    middle = (len(labels) - 1) / 2
    with plot_style():
        # at least 5.4 inches: with one task (the demo) a narrower figure clips its title,
        # legend and footer
        fig, ax = plt.subplots(figsize=(max(5.4, 1.8 + 1.6 * len(summary)), 3.8))
        for i, (arm, label) in enumerate(labels.items()):
            means = [s[arm].mean for s in summary]
            stds = [0 if s[arm].n < 2 else s[arm].std for s in summary]
            ax.bar(x + (i - middle) * width, means, width, yerr=stds, capsize=3, label=label)
        ax.set_xticks(x, [s["task"] for s in summary])
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1.15)  # room for the legend above the bars
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.legend(loc="upper center", ncol=3, fontsize=8)
        ax.set_title(title)
        save_figure(fig, path, caption)
