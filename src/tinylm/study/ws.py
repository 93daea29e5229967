"""Study `ws`: the gap as a function of the pre-training corpus size Ws. Each Ws of the grid
is a nested subset of one permutation of the pool (the smaller ones lie inside the larger),
pre-trained per seed for the same number of epochs, as in the paper; the scratch arm is the
same for every Ws, so each gap is paired with it by seed. Each Ws's validation MLM loss on
held-out paragraphs goes beside its gap: at an equal token budget a small Ws is read many
times, and its training loss says how much of it the model has memorised, not what it has
learned."""

import math
from pathlib import Path

from tinylm.study.engine import Cell, JobFactory
from tinylm.study.presets import Preset
from tinylm.study.protocol import Study
from tinylm.study.results import Claim, verdict_from_sign
from tinylm.study.stats import estimate, fmt_interval, fmt_mean_std, paired
from tinylm.study.tables import (
    accuracies,
    column_estimate,
    interval_bars,
    macro_f1_table,
    markdown_table,
    plot_style,
    save_figure,
    tasks_in,
)

NAME = "ws"
TITLE = "The gap against the corpus size Ws"


def cells(factory: JobFactory, preset: Preset) -> list[Cell]:
    out = []
    for task in preset.tasks:
        for seed in range(preset.seeds):
            out.append(
                Cell(
                    {"task": task, "seed": seed, "arm": "scratch"},
                    factory.finetune(task, seed, None),
                )
            )
            for ws in preset.ws_grid:
                out.append(
                    Cell(
                        {"task": task, "seed": seed, "arm": "pretrained", "ws": ws},
                        factory.finetune(task, seed, factory.pretrain(ws, seed)),
                    )
                )
    return out


def grid(rows: list[dict]) -> list[int]:
    return sorted({r["ws"] for r in rows if r["arm"] == "pretrained"})


def summarise(rows: list[dict]) -> dict[str, list[dict]]:
    """Per task, per Ws: the pre-trained accuracy, the gap, the share of the largest gap, and
    the pre-training's losses (of no seed where the rows lack them: older results)."""
    out = {}
    for task in tasks_in(rows):
        scratch = accuracies(rows, task, "scratch")
        models = [r for r in rows if r["task"] == task and r["arm"] == "pretrained"]
        points = []
        for ws in grid(rows):
            pretrained = accuracies(rows, task, "pretrained", ws)
            at = [r for r in models if r["ws"] == ws]
            points.append(
                {
                    "ws": ws,
                    "pretrained": estimate(pretrained.values()),
                    "gap": paired(pretrained, scratch),
                    "by_seed": pretrained,
                    "val_loss": column_estimate(at, "val_loss"),
                    "train_loss": column_estimate(at, "pretrain_loss"),
                    # the context-free predictor counts its unigram on this Ws's own subset,
                    # so each Ws has its own plateau (a smaller subset's is higher)
                    "plateau": column_estimate(at, "plateau_loss"),
                }
            )
        # a share of a gap that may be zero means nothing: only of one whose interval clears it
        largest = max(points, key=lambda p: p["gap"].mean, default=None)
        clear = largest is not None and largest["gap"].low > 0
        for p in points:
            p["fraction"] = p["gap"].mean / largest["gap"].mean if clear else math.nan
        out[task] = {"scratch": estimate(scratch.values()), "points": points}
    return out


def table(rows: list[dict]) -> str:
    summary = summarise(rows)
    tasks = list(summary)
    accuracy = markdown_table(
        ["Ws", *tasks],
        [["0 (from scratch)", *(fmt_mean_std(summary[t]["scratch"]) for t in tasks)]]
        + [
            [f"{ws:,}", *(fmt_mean_std(summary[t]["points"][i]["pretrained"]) for t in tasks)]
            for i, ws in enumerate(grid(rows))
        ],
    )
    gaps = markdown_table(
        ["Ws", *(f"{t}: gap [95% CI]" for t in tasks), *(f"{t}: share" for t in tasks)],
        [
            [
                f"{ws:,}",
                *(fmt_interval(summary[t]["points"][i]["gap"]) for t in tasks),
                *(_percent(summary[t]["points"][i]["fraction"]) for t in tasks),
            ]
            for i, ws in enumerate(grid(rows))
        ],
    )
    return (
        _pretraining(summary[tasks[0]]["points"])
        + "Test accuracy against Ws (mean ± standard deviation over seeds):\n\n"
        + accuracy
        + "\n\nThe gap (pre-trained minus from scratch, paired by seed, 95% Student-t interval) "
        "and its share of the largest mean gap on the grid (n/a unless that gap's interval lies "
        "above zero):\n\n" + gaps + "\n\n" + macro_f1_table(rows, "ws", "Ws", lambda ws: f"{ws:,}")
    )


def _pretraining(points: list[dict]) -> str:
    """The pre-trainings' losses per Ws beside the plateau's level at that Ws, or nothing where
    the rows lack them."""
    if all(p["val_loss"].n == 0 for p in points):
        return ""
    losses = markdown_table(
        ["Ws", "validation MLM loss", "last training loss", "plateau (ignoring context)"],
        [
            [
                f"{p['ws']:,}",
                fmt_mean_std(p["val_loss"]),
                fmt_mean_std(p["train_loss"]),
                f"{p['plateau'].mean:.2f}" if p["plateau"].n else "n/a",
            ]
            for p in points
        ],
    )
    return (
        "The pre-trainings: masked-LM loss on held-out paragraphs and on the last training "
        "batch (nats, mean ± standard deviation over seeds), and the plateau: the validation "
        "loss of the best model that ignores context, whose unigram is counted on that Ws's "
        "own subset (a smaller subset's is higher):\n\n" + losses + "\n\n"
    )


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0%}"


def plot(rows: list[dict], path: Path, caption: str) -> None:
    import matplotlib.pyplot as plt

    summary = summarise(rows)
    with plot_style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
        for index, (task, data) in enumerate(summary.items()):
            points = data["points"]
            # tasks side by side at each Ws, so that their intervals do not hide each other
            dodge = 1.04 ** (index - (len(summary) - 1) / 2)
            ws = [p["ws"] * dodge for p in points]
            means, errors = interval_bars([p["gap"] for p in points])
            left.errorbar(ws, means, yerr=errors, marker="o", capsize=3, label=task)
            fractions = [p["fraction"] for p in points]
            if not all(math.isnan(f) for f in fractions):
                right.plot(ws, fractions, marker="o", label=task, color=f"C{index}")
        sizes = grid(rows)
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xlim(sizes[0] / 1.3, sizes[-1] * 1.3)
            ax.set_xticks(sizes, [f"{ws:,}" for ws in sizes])
            ax.minorticks_off()
            ax.set_xlabel("Ws (paragraphs)")
        left.legend(fontsize=8)
        if right.lines:
            right.legend(fontsize=8)
        else:
            right.text(
                0.5,
                0.5,
                "no gap on the grid clears zero:\nno share to show",
                ha="center",
                va="center",
                transform=right.transAxes,
            )
        left.axhline(0, color="0.6", linewidth=0.8)
        left.set_ylabel("gap (pre-trained − scratch)")
        left.set_title("Gap against Ws (95% CI)")
        right.set_ylabel("share of the largest gap")
        right.set_title("Share of the largest gap")
        save_figure(fig, path, caption)


def claims(rows: list[dict]) -> list[Claim]:
    out = []
    for task, data in summarise(rows).items():
        points = data["points"]
        if len(points) < 2:
            continue
        small, large = points[0], points[-1]
        # gap(large) - gap(small) = acc(large) - acc(small) seed by seed (scratch cancels)
        growth = paired(large["by_seed"], small["by_seed"])
        out.append(
            Claim(
                NAME,
                f"The gap grows with Ws on {task}",
                "grows from Ws = 2,000 to 90,000 on every task (Table 3)",
                f"gap {fmt_interval(small['gap'])} at Ws = {small['ws']:,}, "
                f"{fmt_interval(large['gap'])} at {large['ws']:,}; "
                f"difference {fmt_interval(growth)}",
                verdict_from_sign(growth.sign()),
            )
        )
        shares = ", ".join(f"{p['ws']:,}: {_percent(p['fraction'])}" for p in points)
        out.append(
            Claim(
                NAME,
                f"Ws = 90,000 reaches 50-90% of the maximal gap ({task})",
                "50% to 90% of the gap of full pre-training (Table 3)",
                f"share of the largest gap on our grid: {shares}",
                "not tested",  # needs the gap of a fully pre-trained model as the reference
            )
        )
    return out


STUDY = Study(
    name=NAME,
    title=TITLE,
    cells=cells,
    table=table,
    plot=plot,
    claims=claims,
)
