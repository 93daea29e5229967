"""Study `source`: what the pre-training corpus should be, beyond the paper: a Wikipedia subset,
the task's own text, or both, at equal tokens.

Per task and seed, three pre-trainings read the same budget (preset.source_tokens): the random
Wikipedia subset of Ws = preset.source_ws (else gap_ws); the task's train texts with the labels
dropped and every text a test sample can hold left out (`task:NAME`, data/sampling.py
`unlabelled_texts`); and that text followed by the same Wikipedia subset (`mix`, the two read
shuffled together, each paragraph once per epoch). Each is fine-tuned on the task beside the
scratch arm (the gap study's jobs). Each pre-training is validated on held-out text of its own
first corpus, so their losses do not compare; the accuracies do, paired by seed.
"""

from pathlib import Path

from tinylm.config import CorpusConfig
from tinylm.data.corpus import TASK_PREFIX
from tinylm.study.engine import Cell, JobFactory
from tinylm.study.presets import Preset
from tinylm.study.protocol import Study
from tinylm.study.results import Claim, verdict_from_sign
from tinylm.study.stats import estimate, fmt_interval, fmt_mean_std, format_tokens, paired
from tinylm.study.tables import arm_bars, markdown_table, tasks_in

NAME = "source"
TITLE = "The pre-training corpus: Wikipedia, the task's own text, or both"
# the `corpus` column of a pre-trained row: which text the model read
SOURCES = {"wikipedia": "Wikipedia", "task_text": "the task's text", "mix": "task text + Wikipedia"}
ARMS = (*SOURCES, "scratch")


def corpora(preset: Preset, task: str) -> dict[str, CorpusConfig]:
    """The three pre-training corpora of a task."""
    ws, seed = preset.source_ws or preset.gap_ws, preset.corpus_seed
    own = CorpusConfig(name=TASK_PREFIX + task, ws=None, seed=seed)
    return {
        "wikipedia": CorpusConfig(name=preset.corpus, ws=ws, seed=seed),
        "task_text": own,
        "mix": CorpusConfig(name=own.name, ws=None, seed=seed, mix=preset.corpus, mix_ws=ws),
    }


def cells(factory: JobFactory, preset: Preset) -> list[Cell]:
    budget = {"max_tokens": preset.source_tokens}
    out = []
    for task in preset.tasks:
        for seed in range(preset.seeds):
            params = {"task": task, "seed": seed}
            for source, corpus in corpora(preset, task).items():
                pretrained = factory.pretrain(corpus.ws, seed, changes=budget, corpus=corpus)
                job = factory.finetune(task, seed, pretrained)
                # ws: the Wikipedia subset read (the mixture's part of it; none for task text)
                wikipedia = corpus.ws if corpus.mix is None else corpus.mix_ws
                row = {**params, "arm": "pretrained", "corpus": source, "ws": wikipedia}
                out.append(Cell({**row, "budget": preset.source_tokens}, job))
            out.append(Cell({**params, "arm": "scratch"}, factory.finetune(task, seed, None)))
    return out


def arm_of(row: dict) -> str:
    """A row's arm in this study's terms: its corpus when pre-trained, else scratch."""
    return row["corpus"] if row["arm"] == "pretrained" else row["arm"]


def by_seed(rows: list[dict], task: str, arm: str) -> dict[int, float]:
    return {r["seed"]: r["test_accuracy"] for r in rows if r["task"] == task and arm_of(r) == arm}


def summarise(rows: list[dict]) -> list[dict]:
    """Per task: each arm's accuracy over seeds, and the paired differences of the task's text
    and of the mixture against Wikipedia, and of each pre-training against scratch."""
    out = []
    for task in tasks_in(rows):
        arms = {arm: by_seed(rows, task, arm) for arm in ARMS}
        out.append(
            {
                "task": task,
                "budget": next((r["budget"] for r in rows if r["arm"] == "pretrained"), None),
                **{arm: estimate(values.values()) for arm, values in arms.items()},
                "task_vs_wikipedia": paired(arms["task_text"], arms["wikipedia"]),
                "mix_vs_wikipedia": paired(arms["mix"], arms["wikipedia"]),
                **{f"{s}_gap": paired(arms[s], arms["scratch"]) for s in SOURCES},
            }
        )
    return out


def table(rows: list[dict]) -> str:
    body = [
        [
            s["task"],
            *(fmt_mean_std(s[arm]) for arm in ARMS),
            fmt_interval(s["task_vs_wikipedia"]),
            fmt_interval(s["mix_vs_wikipedia"]),
            " / ".join(fmt_interval(s[f"{source}_gap"]) for source in SOURCES),
            s["scratch"].n,
        ]
        for s in summarise(rows)
    ]
    header = [
        "task",
        *(f"pre-trained on {label}" for label in SOURCES.values()),
        "from scratch",
        "task text - Wikipedia [95% CI]",
        "mixture - Wikipedia [95% CI]",
        "gap over scratch: Wikipedia / task text / mixture",
        "seeds",
    ]
    return (
        "Test accuracy, mean ± standard deviation over seeds; differences paired by seed, with "
        "their 95% Student-t intervals. Every pre-training reads the same number of tokens "
        "(the preset's source_tokens); the task's text never holds a text of a test sample "
        "(docs/studies.md).\n\n" + markdown_table(header, body)
    )


def plot(rows: list[dict], path: Path, caption: str) -> None:
    labels = {**SOURCES, "scratch": "from scratch"}
    title = "Pre-training corpus at equal tokens (± sd over seeds)"
    arm_bars(summarise(rows), labels, title, path, caption, width=0.2)


def claims(rows: list[dict]) -> list[Claim]:
    out = []
    for s in summarise(rows):
        tokens = format_tokens(s["budget"]) if s["budget"] else "equal"
        for key, text, what in (
            ("task_vs_wikipedia", "The task's own text pre-trains better than", "task text"),
            (
                "mix_vs_wikipedia",
                "The task's text mixed into Wikipedia pre-trains better than",
                "mixture",
            ),
        ):
            out.append(
                Claim(
                    NAME,
                    f"{text} a Wikipedia subset at equal tokens on {s['task']}",
                    "(beyond the paper: it selects Wikipedia paragraphs close to the task)",
                    f"{what} minus Wikipedia {fmt_interval(s[key])} at {tokens} tokens "
                    f"(n = {s[key].n} seeds)",
                    verdict_from_sign(s[key].sign()),
                )
            )
    return out


def preset_lines(preset: Preset) -> list[str]:
    ws = preset.source_ws or preset.gap_ws
    return [
        f"- source study: {format_tokens(preset.source_tokens)} tokens of each corpus: Wikipedia "
        f"Ws = {ws:,}, the task's own text, and the two mixed"
    ]


STUDY = Study(
    name=NAME,
    title=TITLE,
    cells=cells,
    table=table,
    plot=plot,
    claims=claims,
    columns=("budget",),
    defined_by=lambda preset: preset.source_tokens is not None,
    needs="source_tokens (the budget every corpus is read for)",
    preset_lines=preset_lines,
)
