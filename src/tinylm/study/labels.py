"""Study `labels`: how the gap scales with task complexity, the paper's second open check.

Per task of preset.labels_grid and seed, the task's samples keep 2, 4, ... of its labels
(TaskConfig.labels: nested subsets drawn by the seed, so a seed's 2 labels are among its 4, at
the preset's examples per label; data/sampling.py), and then all of them. Each is fine-tuned
from the gap study's pre-trained model of that seed and from scratch, beside TF-IDF + LR; the
whole task's cells are the gap study's own jobs. The gap is paired by seed at each count; the
claim compares the gap at the largest count with the gap at the smallest, paired by seed.
"""

from pathlib import Path

from tinylm.study.engine import Cell, JobFactory
from tinylm.study.presets import Preset
from tinylm.study.protocol import Study
from tinylm.study.results import Claim, verdict_from_sign
from tinylm.study.stats import estimate, fmt_interval, fmt_mean_std, paired
from tinylm.study.tables import (
    accuracies,
    interval_bars,
    markdown_table,
    plot_style,
    save_figure,
    tasks_in,
)

NAME = "labels"
TITLE = "The gap against the number of labels (task complexity)"
ARMS = ("pretrained", "scratch", "tfidf")


def tasks_of(preset: Preset) -> list[str]:
    """The preset's tasks that its labels_grid names (so that `--tasks` narrows the study)."""
    return [task for task in preset.tasks if task in preset.labels_grid]


def cells(factory: JobFactory, preset: Preset) -> list[Cell]:
    out = []
    for task in tasks_of(preset):
        for seed in range(preset.seeds):
            pretrained = factory.pretrain(preset.gap_ws, seed)
            # each subset of the grid, then the whole task (None): the gap study's own jobs
            for kept in (*preset.labels_grid[task], None):
                params = {"task": task, "seed": seed}
                jobs = {
                    "pretrained": factory.finetune(task, seed, pretrained, labels=kept),
                    "scratch": factory.finetune(task, seed, None, labels=kept),
                    "tfidf": factory.baseline(task, seed, labels=kept),
                }
                out += [Cell({**params, "arm": arm}, job) for arm, job in jobs.items()]
    return out


def summarise(rows: list[dict]) -> dict[str, list[dict]]:
    """Per task, per number of labels: each arm's accuracy over seeds and the paired gap."""
    out = {}
    for task in tasks_in(rows):
        counts = sorted({r["labels"] for r in rows if r["task"] == task})
        points = []
        for count in counts:
            arms = {arm: accuracies(rows, task, arm, labels=count) for arm in ARMS}
            points.append(
                {
                    "labels": count,
                    "chance": 1 / count,
                    **{arm: estimate(values.values()) for arm, values in arms.items()},
                    "gap": paired(arms["pretrained"], arms["scratch"]),
                    "gaps": {
                        seed: arms["pretrained"][seed] - arms["scratch"][seed]
                        for seed in arms["pretrained"].keys() & arms["scratch"].keys()
                    },
                }
            )
        out[task] = points
    return out


def growth(points: list[dict]):
    """The gap at the largest count minus the gap at the smallest, paired by seed."""
    first, last = points[0]["gaps"], points[-1]["gaps"]
    return estimate(last[seed] - first[seed] for seed in sorted(first.keys() & last.keys()))


def table(rows: list[dict]) -> str:
    body = [
        [
            task,
            p["labels"],
            f"{p['chance']:.3f}",
            fmt_mean_std(p["pretrained"]),
            fmt_mean_std(p["scratch"]),
            fmt_interval(p["gap"]),
            fmt_mean_std(p["tfidf"]),
            p["gap"].n,
        ]
        for task, points in summarise(rows).items()
        for p in points
    ]
    header = [
        "task",
        "labels",
        "chance",
        "pre-trained",
        "from scratch",
        "gap [95% CI]",
        "TF-IDF + LR",
        "seeds",
    ]
    return (
        "Test accuracy, mean ± standard deviation over seeds, on samples that keep that many "
        "of the task's labels (nested subsets drawn by seed, the same examples per label); the "
        "gap is pre-trained minus from scratch, paired by seed, with its 95% Student-t "
        "interval.\n\n" + markdown_table(header, body)
    )


def plot(rows: list[dict], path: Path, caption: str) -> None:
    import matplotlib.pyplot as plt

    summary = summarise(rows)
    with plot_style():
        fig, ax = plt.subplots(figsize=(5.4, 3.6))
        for task, points in summary.items():
            counts = [p["labels"] for p in points]
            means, errors = interval_bars([p["gap"] for p in points])
            ax.errorbar(counts, means, yerr=errors, marker="o", capsize=3, label=task)
        counts = sorted({r["labels"] for r in rows})
        ax.set_xscale("log", base=2)
        ax.set_xticks(counts, [str(c) for c in counts])
        ax.minorticks_off()
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.set_xlabel("labels kept")
        ax.set_ylabel("gap (pre-trained − scratch)")
        ax.set_title("The gap against the number of labels (95% CI)")
        ax.legend(fontsize=8)
        save_figure(fig, path, caption)


def claims(rows: list[dict]) -> list[Claim]:
    out = []
    for task, points in summarise(rows).items():
        if len(points) < 2:
            continue
        rise = growth(points)
        out.append(
            Claim(
                NAME,
                f"The gap grows with the number of labels on {task}",
                "benefits less pronounced on AG News (4 labels) than on the tasks with more",
                f"gap at {points[-1]['labels']} labels minus at {points[0]['labels']}: "
                f"{fmt_interval(rise)} (n = {rise.n} seeds; gaps "
                + ", ".join(f"{p['labels']}: {p['gap'].mean:+.3f}" for p in points)
                + ")",
                verdict_from_sign(rise.sign()),
            )
        )
    return out


def preset_lines(preset: Preset) -> list[str]:
    grid = "; ".join(
        f"{task} {', '.join(map(str, preset.labels_grid[task]))}" for task in tasks_of(preset)
    )
    return [f"- labels study: labels kept per task: {grid}"]


STUDY = Study(
    name=NAME,
    title=TITLE,
    cells=cells,
    table=table,
    plot=plot,
    claims=claims,
    defined_by=lambda preset: bool(tasks_of(preset)),
    needs="labels_grid naming one of its tasks (the numbers of labels to keep)",
    preset_lines=preset_lines,
)
