"""Study `gap`: what pre-training buys. For each task and seed, the same architecture is
fine-tuned from a model pre-trained on Ws = preset.gap_ws paragraphs and from scratch; a
TF-IDF + logistic-regression fit on the same sample is the classical reference row.

The development test samples were read many times while the recipe was searched, so with
`preset.confirm` every cell is repeated on the task's confirmation split (the same train
sample, tested on examples no development sample can have read: data/sampling.py), and the
table and claims state each gap on both splits. Rows carry `split` (dev | confirm); rows of
older results without it are dev rows. The plot shows the development split."""

from pathlib import Path

from tinylm.config import TaskConfig
from tinylm.study.engine import Cell, JobFactory, Store
from tinylm.study.presets import Preset
from tinylm.study.protocol import Study
from tinylm.study.results import Claim, verdict_from_sign
from tinylm.study.stats import estimate, fmt_interval, fmt_mean_std, paired
from tinylm.study.tables import accuracies, arm_bars, markdown_table, tasks_in

NAME = "gap"
TITLE = "The pre-training gap"
ARMS = ("pretrained", "scratch", "tfidf")
SPLITS = {"dev": "development split", "confirm": "confirmation split"}  # TaskConfig.split


def cells(factory: JobFactory, preset: Preset) -> list[Cell]:
    """Every task and seed on the development split, then (preset.confirm) the same on the
    confirmation split: its fine-tunings start from the same pre-trained models."""
    out = []
    for split in SPLITS if preset.confirm else ("dev",):
        for task in preset.tasks:
            for seed in range(preset.seeds):
                pretrained = factory.pretrain(preset.gap_ws, seed)
                params = {"task": task, "seed": seed}
                out.append(
                    Cell(
                        {**params, "arm": "pretrained", "ws": preset.gap_ws},
                        factory.finetune(task, seed, pretrained, split=split),
                    )
                )
                scratch = factory.finetune(task, seed, None, split=split)
                out.append(Cell({**params, "arm": "scratch"}, scratch))
                out.append(Cell({**params, "arm": "tfidf"}, factory.baseline(task, seed, split)))
    return out


def row_extras(cell: Cell, store: Store) -> dict:
    """The test split a row's job read (a baseline's config is its task's)."""
    config = cell.job.config
    return {"split": (config if isinstance(config, TaskConfig) else config.task).split}


def with_split(
    factory: JobFactory, preset: Preset, rows: list[dict], store: Store, previous: list[dict]
) -> list[dict]:
    """The rows as written: each says its split (a row reused from older results is dev)."""
    return [{**row, "split": split_of(row)} for row in rows]


def split_of(row: dict) -> str:
    return row.get("split") or "dev"


def on_split(rows: list[dict], split: str) -> list[dict]:
    return [r for r in rows if split_of(r) == split]


def summarise(rows: list[dict]) -> list[dict]:
    """Per split (development first) and task: each arm's accuracy over seeds and the paired
    gap."""
    return [s for split in SPLITS for s in _summarise(on_split(rows, split), split)]


def _summarise(rows: list[dict], split: str) -> list[dict]:
    out = []
    for task in tasks_in(rows):
        arms = {arm: accuracies(rows, task, arm) for arm in ARMS}
        first = next(r for r in rows if r["task"] == task)
        out.append(
            {
                "task": task,
                "split": split,
                "labels": first["labels"],
                "train": first["train_examples"],
                "test": first["test_examples"],
                "ws": next((r["ws"] for r in rows if r["arm"] == "pretrained"), None),
                **{arm: estimate(values.values()) for arm, values in arms.items()},
                "gap": paired(arms["pretrained"], arms["scratch"]),
                "macro_f1": {
                    arm: estimate(accuracies(rows, task, arm, metric="test_macro_f1").values())
                    for arm in ARMS
                },
            }
        )
    return out


def table(rows: list[dict]) -> str:
    lines = markdown_table(
        [
            "task",
            "test split",
            "labels",
            "train / test",
            "pre-trained",
            "from scratch",
            "gap [95% CI]",
            "TF-IDF + LR",
            "macro-F1: pre-trained / scratch / TF-IDF",
            "seeds",
        ],
        [
            [
                s["task"],
                s["split"],
                s["labels"],
                f"{s['train']} / {s['test']}",
                fmt_mean_std(s["pretrained"]),
                fmt_mean_std(s["scratch"]),
                fmt_interval(s["gap"]),
                fmt_mean_std(s["tfidf"]),
                " / ".join(f"{s['macro_f1'][arm].mean:.3f}" for arm in ARMS),
                s["gap"].n,
            ]
            for s in summarise(rows)
        ],
    )
    return (
        "Test accuracy, mean ± standard deviation over seeds. The gap is pre-trained minus "
        "from scratch, paired by seed, with its 95% Student-t interval. Macro-F1 (the mean "
        "over labels of each label's F1; it weighs a rare label as much as a common one): "
        "means over seeds. Test split dev: the development test samples, read while the "
        "recipe was searched; confirm: the same train samples, tested on examples that no "
        "development sample can have read (docs/studies.md).\n\n" + lines
    )


def plot(rows: list[dict], path: Path, caption: str) -> None:
    labels = {"pretrained": "pre-trained", "scratch": "from scratch", "tfidf": "TF-IDF + LR"}
    title = "Pre-trained vs from scratch (± sd over seeds)"
    arm_bars(summarise(on_split(rows, "dev")), labels, title, path, caption, width=0.27)


def claims(rows: list[dict]) -> list[Claim]:
    """The gap claims on each split the rows hold, the development split's first."""
    return [claim for split in SPLITS for claim in _claims(on_split(rows, split), split)]


def _claims(rows: list[dict], split: str) -> list[Claim]:
    summary = _summarise(rows, split)
    on = SPLITS[split]
    out = []
    for s in summary:
        out.append(
            Claim(
                NAME,
                f"Pre-training gives a positive gap on {s['task']} ({on})",
                "a clear gap on every task (FewRel, AG News, DBpedia)",
                f"gap {fmt_interval(s['gap'])} at Ws = {s['ws']:,} (n = {s['gap'].n} seeds)",
                verdict_from_sign(s["gap"].sign()),
            )
        )
    simple = next((s for s in summary if s["task"] == "agnews"), None)
    others = [s for s in summary if s["task"] != "agnews"]
    if simple is not None and others:
        # agnews' gap interval must lie wholly below (or above) each other task's
        below = all(simple["gap"].high < o["gap"].low for o in others)
        above = all(simple["gap"].low > o["gap"].high for o in others)
        ours = "; ".join(f"{s['task']} {fmt_interval(s['gap'])}" for s in summary)
        out.append(
            Claim(
                NAME,
                f"The gap is smaller on the simpler task (AG News, 4 labels; {on})",
                "benefits less pronounced on AG News",
                ours,
                "holds" if below else "does not hold" if above else "inconclusive",
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
    columns=("split",),
    text_columns=frozenset({"split"}),
    row_extras=row_extras,
    extra_rows=with_split,
)
