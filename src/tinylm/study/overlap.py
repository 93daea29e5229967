"""Study `overlap`: the gap against the token overlap between the corpus and the task.

Per task and seed, beside the scratch arm, the model is pre-trained on:
- the random subsets of the `ws` grid (the same jobs as the `ws` study);
- at Ws = preset.fixed_ws, corpora built against the seed's task sample (study/corpora.py):
  missing-token ablations (the paper's Table 4), the custom selection that maximises the
  weighted coverage of the task's train tokens, and reverse-overlap swaps (more or fewer
  corpus tokens the task never uses, coverage unchanged: open question 2).
Every row carries its corpus's overlap figures against the task sample (train and test texts),
so the gap can be read against plain and weighted overlap (open question 1): the Pearson
correlation over every (corpus, seed) point, over all corpora and over the fixed-Ws ones alone
(where Ws cannot stand in for overlap), with a bootstrap interval for the difference.
"""

import json
import math
from pathlib import Path

import numpy as np

from tinylm.study.engine import Cell, JobFactory, Store
from tinylm.study.presets import Preset, describe_changes
from tinylm.study.protocol import Study
from tinylm.study.results import Claim, verdict_from_sign
from tinylm.study.stats import (
    Estimate,
    estimate,
    fmt_interval,
    fmt_mean_std,
    fmt_optional,
    mean_or_none,
    paired,
)
from tinylm.study.tables import (
    column_estimate,
    markdown_table,
    plot_style,
    save_figure,
    tasks_in,
)

NAME = "overlap"
TITLE = "The gap against token overlap"
# the pre-training corpus against the task sample (analysis/overlap.py), in every row
FIGURES = (
    "missing_types",
    "missing_tokens",
    "type_overlap",
    "weighted_overlap",
    "reverse_missing_share",
    "corpus_tokens",
)
KIND_ORDER = ("random", "ablation", "custom", "reverse-fewer", "reverse-more")
BOOTSTRAP = 2000


def cells(factory: JobFactory, preset: Preset) -> list[Cell]:
    fixed, changes, tuning = preset.fixed_ws, preset.overlap_pretrain, preset.overlap_finetune
    grid = sorted({*preset.ws_grid, fixed})
    out = []
    for task in preset.tasks:
        for seed in range(preset.seeds):
            params = {"task": task, "seed": seed}
            out.append(Cell({**params, "arm": "scratch"}, factory.finetune(task, seed, None)))
            for ws in grid:
                out.append(
                    Cell(
                        {**params, "arm": "pretrained", "ws": ws, "corpus": "random"},
                        factory.finetune(
                            task, seed, factory.pretrain(ws, seed, changes=changes), changes=tuning
                        ),
                    )
                )
            built = [("custom", {}, {})]
            built += [("ablation", {"removed": n}, {"removed": n}) for n in preset.ablation_removed]
            built += [
                (
                    f"reverse-{direction}",
                    {},
                    {"direction": direction, "fraction": preset.reverse_fraction},
                )
                for direction in preset.reverse
            ]
            for label, extra, options in built:
                corpus = factory.corpus(label.split("-")[0], task, seed, fixed, **options)
                pretrained = factory.pretrain_on(corpus, seed, changes)
                out.append(
                    Cell(
                        {**params, "arm": "pretrained", "ws": fixed, "corpus": label, **extra},
                        factory.finetune(task, seed, pretrained, changes=tuning),
                    )
                )
    return out


# Overlap figures of random subsets, computed once per (corpus, task sample) and process.
_RANDOM_FIGURES: dict[str, dict] = {}
_CORPORA: dict[str, object] = {}


def row_extras(cell: Cell, store: Store) -> dict:
    """The overlap figures of the row's pre-training corpus against its task sample."""
    pretrain = cell.job.init
    if pretrain is None:
        return {}
    if pretrain.init is not None:  # a built corpus: its job measured it
        summary = store.summary(pretrain.init)
        return {**{k: summary[k] for k in FIGURES}, "corpus_job": store.path(pretrain.init).name}
    return random_figures(pretrain.config.corpus, cell.job.config.task, store)


def random_figures(corpus_config, task_config, store: Store) -> dict:
    from tinylm.analysis.overlap import overlap, task_token_counts, token_counts
    from tinylm.data.corpus import load_corpus
    from tinylm.tokenizer import load_tokenizer

    key = json.dumps([str(store.data_dir), corpus_config.to_dict(), task_config.to_dict()])
    if key not in _RANDOM_FIGURES:
        tokenizer = load_tokenizer(store.data_dir)
        name = f"{store.data_dir}:{corpus_config.name}"
        if name not in _CORPORA:
            _CORPORA[name] = load_corpus(
                corpus_config.name,
                data_dir=store.data_dir,
                tokenizer=tokenizer,
                cache_dir=store.cache_dir,
                progress=False,
            )
        corpus = _CORPORA[name]
        subset = corpus.subset(corpus_config.ws, corpus_config.seed, corpus_config.lead_only)
        _, task_counts = task_token_counts(
            task_config, data_dir=store.data_dir, tokenizer=tokenizer, cache_dir=store.cache_dir
        )
        specials = (tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id)
        counts = token_counts(subset.tokens, tokenizer.vocab_size, specials)
        figures = overlap(task_counts, counts)
        _RANDOM_FIGURES[key] = {k: figures[k] for k in FIGURES}
    return dict(_RANDOM_FIGURES[key])


def _kind(row: dict) -> str:
    return row["corpus"] or "random"


def _corpus_key(row: dict) -> tuple:
    kind = _kind(row)
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else 99, kind, row["ws"], row["removed"])


def corpus_label(corpus: dict) -> str:
    kind, ws = corpus["kind"], corpus["ws"]
    if kind == "random":
        return f"random, Ws = {ws:,}"
    if kind == "ablation":
        return f"ablation: {corpus['removed']:,} types removed (Ws = {ws:,})"
    if kind == "custom":
        return f"custom selection (Ws = {ws:,})"
    return f"{kind.replace('-', ': ')} foreign tokens (Ws = {ws:,})"


def summarise(rows: list[dict]) -> dict[str, dict]:
    out = {}
    for task in tasks_in(rows):
        task_rows = [r for r in rows if r["task"] == task]
        scratch = {r["seed"]: r["test_accuracy"] for r in task_rows if r["arm"] == "scratch"}
        pretrained = [r for r in task_rows if r["arm"] == "pretrained"]
        groups: dict[tuple, list[dict]] = {}
        for r in sorted(pretrained, key=_corpus_key):
            groups.setdefault(_corpus_key(r), []).append(r)
        corpora = []
        for (_, kind, ws, removed), group in groups.items():
            accuracy = {r["seed"]: r["test_accuracy"] for r in group}
            corpora.append(
                {
                    "kind": kind,
                    "ws": ws,
                    "removed": removed,
                    "by_seed": accuracy,
                    "pretrained": estimate(accuracy.values()),
                    "macro_f1": mean_or_none(r.get("test_macro_f1") for r in group),
                    "val_loss": column_estimate(group, "val_loss"),
                    "gap": paired(accuracy, scratch),
                    **{f: float(np.mean([r[f] for r in group])) for f in FIGURES},
                }
            )
        built = [c for c in corpora if c["kind"] != "random"]
        fixed = built[0]["ws"] if built else None
        paired_rows = [r for r in pretrained if r["seed"] in scratch]

        def points(rows, scratch=scratch):
            return [
                (r["type_overlap"], r["weighted_overlap"], r["test_accuracy"] - scratch[r["seed"]])
                for r in rows
            ]

        out[task] = {
            "scratch": estimate(scratch.values()),
            "scratch_macro_f1": mean_or_none(
                r.get("test_macro_f1") for r in task_rows if r["arm"] == "scratch"
            ),
            "corpora": corpora,
            "fixed_ws": fixed,
            "correlation": {
                "all": correlations(points(paired_rows)),
                "fixed": correlations(points([r for r in paired_rows if r["ws"] == fixed])),
            },
        }
    return out


def correlations(points: list[tuple]) -> dict:
    """Pearson r of the gap with plain and with weighted overlap, and a bootstrap 95% interval
    of r(weighted) - r(plain) over the points."""
    n = len(points)
    nan = {"n": n, "plain": math.nan, "weighted": math.nan, "difference": None}
    if n < 3:
        return nan
    values = np.asarray(points, dtype=float)
    plain, weighted = (float(_pearson(values[:, i], values[:, 2])) for i in (0, 1))
    # every resample at once: the same draws as one resample after another, 100 times faster
    samples = values[np.random.default_rng(0).integers(0, n, (BOOTSTRAP, n))]
    draws = _pearson(samples[..., 1], samples[..., 2]) - _pearson(samples[..., 0], samples[..., 2])
    draws = draws[np.isfinite(draws)]
    low, high = np.percentile(draws, [2.5, 97.5]) if len(draws) else (math.nan, math.nan)
    difference = Estimate(weighted - plain, math.nan, float(low), float(high), n)
    return {"n": n, "plain": plain, "weighted": weighted, "difference": difference}


def _pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r along the last axis (NaN where x or y is constant): of one sample, or of
    every bootstrap resample at once."""
    dx, dy = x - x.mean(-1, keepdims=True), y - y.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dx * dy).sum(-1) / np.sqrt((dx * dx).sum(-1) * (dy * dy).sum(-1))
    return np.where((x.std(-1) == 0) | (y.std(-1) == 0), np.nan, np.clip(r, -1, 1))


def _find(data: dict, kind: str, ws: int | None = None) -> list[dict]:
    return [c for c in data["corpora"] if c["kind"] == kind and (ws is None or c["ws"] == ws)]


def custom_worth(data: dict) -> dict | None:
    """The custom corpus against random subsets: paired differences with the random subset of
    the same size and with the largest, and the largest random Ws whose mean gap it reaches."""
    custom = _find(data, "custom")
    randoms = _find(data, "random")
    if not custom or not randoms:
        return None
    custom = custom[0]
    same = next((c for c in randoms if c["ws"] == custom["ws"]), None)
    largest = randoms[-1]
    reached = [c["ws"] for c in randoms if custom["gap"].mean >= c["gap"].mean]
    return {
        "custom": custom,
        "vs_same": paired(custom["by_seed"], same["by_seed"]) if same else None,
        "largest": largest,
        "vs_largest": paired(custom["by_seed"], largest["by_seed"]),
        "reached": max(reached) if reached else None,
        "smallest": randoms[0]["ws"],
    }


def table(rows: list[dict]) -> str:
    summary = summarise(rows)
    parts = []
    for task, data in summary.items():
        body = [
            [
                "from scratch",
                *[""] * 5,
                fmt_mean_std(data["scratch"]),
                fmt_optional(data["scratch_macro_f1"]),
                "",
            ],
            *[
                [
                    corpus_label(c),
                    f"{c['corpus_tokens']:,.0f}",
                    f"{c['missing_types']:,.0f}",
                    f"{c['weighted_overlap']:.4f}",
                    f"{c['reverse_missing_share']:.3f}",
                    fmt_mean_std(c["val_loss"], 2),
                    fmt_mean_std(c["pretrained"]),
                    fmt_optional(c["macro_f1"]),
                    fmt_interval(c["gap"]),
                ]
                for c in data["corpora"]
            ],
        ]
        parts.append(
            f"### {task}\n\n"
            + markdown_table(
                [
                    "corpus",
                    "tokens",
                    "missing types",
                    "weighted overlap",
                    "foreign share",
                    "validation MLM loss",
                    "accuracy",
                    "macro-F1",
                    "gap [95% CI]",
                ],
                body,
            )
        )
    correlation_rows = []
    for task, data in summary.items():
        for scope, label in (("all", "every corpus"), ("fixed", f"Ws = {data['fixed_ws']}")):
            c = data["correlation"][scope]
            correlation_rows.append(
                [
                    task,
                    label,
                    c["n"],
                    _r(c["plain"]),
                    _r(c["weighted"]),
                    fmt_interval(c["difference"]) if c["difference"] else "n/a",
                ]
            )
    worth_rows = []
    for task, data in summary.items():
        worth = custom_worth(data)
        if worth:
            worth_rows.append(
                [
                    task,
                    fmt_interval(worth["vs_same"]) if worth["vs_same"] else "n/a",
                    f"{fmt_interval(worth['vs_largest'])} (Ws = {worth['largest']['ws']:,})",
                    _reach(worth),
                ]
            )
    return "\n\n".join(
        [
            "Per corpus: its tokens, the task types it never shows (missing types), the "
            "weighted overlap (1 - the task's occurrences of those types over all its tokens), "
            "the share of its tokens whose types the task never uses (foreign share), the "
            "masked-LM loss of its model on held-out paragraphs (over the seeds that record it; "
            "n/a for rows of older results), the pre-trained accuracy, its macro-F1 and the gap "
            "in accuracy (paired by seed, 95% Student-t interval). Losses and accuracies are "
            "the mean ± standard deviation over seeds, macro-F1 the mean; the corpus figures "
            "are means over the seeds' task samples.",
            *parts,
            "### Which overlap predicts the gap (open question 1)\n\nPearson r between the "
            "per-seed gap and the corpus's plain (type) or weighted overlap, over every "
            "(corpus, seed) point and over the fixed-Ws corpora alone (where corpus size "
            "cannot stand in for overlap); the last column is r(weighted) - r(plain) with a "
            f"bootstrap 95% interval ({BOOTSTRAP} resamples of the points).\n\n"
            + markdown_table(
                ["task", "corpora", "points", "r plain", "r weighted", "weighted - plain"],
                correlation_rows,
            ),
            "### What a custom corpus is worth\n\nAccuracy of the custom corpus minus that of "
            "random subsets (paired by seed), and the largest random Ws on the grid whose mean "
            "gap the custom corpus reaches.\n\n"
            + markdown_table(
                ["task", "vs random, same Ws", "vs the largest random", "reaches"], worth_rows
            ),
        ]
    )


def _r(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.2f}"


def _reach(worth: dict) -> str:
    if worth["reached"] is None:
        return f"below random Ws = {worth['smallest']:,}"
    if worth["reached"] == worth["largest"]["ws"]:
        return f"random Ws = {worth['reached']:,} (the largest)"
    return f"random Ws = {worth['reached']:,}"


def plot(rows: list[dict], path: Path, caption: str) -> None:
    import matplotlib.pyplot as plt

    summary = summarise(rows)
    markers = {
        "random": "o",
        "ablation": "v",
        "custom": "*",
        "reverse-more": ">",
        "reverse-fewer": "<",
    }
    with plot_style():
        fig, axes = plt.subplots(2, 2, figsize=(9.5, 7))
        (scatter, ablation), (custom, reverse) = axes
        for index, (task, data) in enumerate(summary.items()):
            color = f"C{index}"
            for c in data["corpora"]:
                scatter.scatter(
                    c["weighted_overlap"],
                    c["gap"].mean,
                    marker=markers.get(c["kind"], "s"),
                    color=color,
                    s=60 if c["kind"] == "custom" else 30,
                )
            scatter.plot([], [], color=color, label=task)
            fixed = data["fixed_ws"]
            ablations = _find(data, "random", fixed) + _find(data, "ablation")
            if len(ablations) > 1:
                _errorbar(ablation, [c["removed"] or 0 for c in ablations], ablations, color)
            randoms = _find(data, "random")
            _errorbar(custom, [c["ws"] for c in randoms], randoms, color)
            for c in _find(data, "custom"):
                custom.errorbar(
                    [c["ws"]],
                    [c["gap"].mean],
                    yerr=_yerr([c]),
                    marker="*",
                    markersize=12,
                    color=color,
                    linestyle="none",
                    capsize=3,
                )
            swapped = sorted(
                _find(data, "reverse-fewer")
                + _find(data, "random", fixed)
                + _find(data, "reverse-more"),
                key=lambda c: c["reverse_missing_share"],
            )
            if len(swapped) > 1:
                _errorbar(reverse, [c["reverse_missing_share"] for c in swapped], swapped, color)
        drawn = {c["kind"] for data in summary.values() for c in data["corpora"]}
        for kind, marker in markers.items():
            if kind in drawn:  # the legend names the kinds of corpus this study built
                ablation.scatter([], [], marker=marker, color="0.4", label=kind)
        scatter.set_xlabel("weighted overlap")
        scatter.set_title("Gap against weighted overlap (means)")
        ablation.set_xlabel("task types removed from the corpus")
        ablation.set_title("Missing-token ablation (fixed Ws)")
        custom.set_xscale("log")
        sizes = sorted({c["ws"] for d in summary.values() for c in d["corpora"]})
        custom.set_xticks(sizes, [f"{ws:,}" for ws in sizes])
        custom.minorticks_off()
        custom.set_xlabel("Ws (paragraphs)")
        custom.set_title("Custom corpus against random subsets")
        reverse.set_xlabel("share of corpus tokens the task never uses")
        reverse.set_title("Reverse overlap (fixed Ws and coverage)")
        for ax in (scatter, ablation, custom, reverse):
            ax.axhline(0, color="0.6", linewidth=0.8)
            ax.set_ylabel("gap (pre-trained − scratch)")
        # the legends above the panels (left, colour: task; right, marker: kind of corpus):
        # inside the panels they hid points, which land anywhere
        for ax in (scatter, ablation):
            ax.legend(fontsize=8, ncol=4, loc="lower left", bbox_to_anchor=(0, 1.1))
        save_figure(fig, path, caption)


def _yerr(corpora: list[dict]) -> list[list[float]]:
    def half(c, side):
        bound = c["gap"].low if side == "low" else c["gap"].high
        return 0.0 if math.isnan(bound) else abs(c["gap"].mean - bound)

    return [[half(c, "low") for c in corpora], [half(c, "high") for c in corpora]]


def _errorbar(ax, x, corpora, color) -> None:
    ax.errorbar(
        x,
        [c["gap"].mean for c in corpora],
        yerr=_yerr(corpora),
        marker="o",
        color=color,
        capsize=3,
    )


def claims(rows: list[dict]) -> list[Claim]:
    out = []
    for task, data in summarise(rows).items():
        fixed = data["fixed_ws"]
        base = next(iter(_find(data, "random", fixed)), None)
        ablations = _find(data, "ablation")
        if base and ablations:
            most = ablations[-1]
            drop = paired(most["by_seed"], base["by_seed"])
            out.append(
                Claim(
                    NAME,
                    f"Task tokens missing from the corpus lower the gap ({task})",
                    "at fixed Ws, more missing task tokens give lower accuracy, like a much "
                    "smaller corpus (Table 4)",
                    f"gap {fmt_interval(base['gap'])} with {base['missing_types']:,.0f} missing "
                    f"types at Ws = {fixed:,}; {fmt_interval(most['gap'])} with "
                    f"{most['missing_types']:,.0f} ({most['removed']:,} removed); "
                    f"difference {fmt_interval(drop)}",
                    verdict_from_sign(-drop.sign()),
                )
            )
        worth = custom_worth(data)
        if worth and worth["vs_same"]:
            custom = worth["custom"]
            out.append(
                Claim(
                    NAME,
                    f"A corpus chosen for the task's tokens beats a random one of its size "
                    f"({task})",
                    "the paper builds a custom corpus that maximises token overlap",
                    f"custom gap {fmt_interval(custom['gap'])} ({custom['missing_types']:,.0f} "
                    f"missing types); minus random: {fmt_interval(worth['vs_same'])}; "
                    f"reaches {_reach(worth)}",
                    verdict_from_sign(worth["vs_same"].sign()),
                )
            )
        c = data["correlation"]["fixed"]
        if c["difference"] is not None:
            out.append(
                Claim(
                    NAME,
                    f"Weighted overlap predicts the gap better than plain overlap ({task})",
                    "open question 1",
                    f"at Ws = {fixed:,}, r = {_r(c['weighted'])} (weighted) against "
                    f"{_r(c['plain'])} (plain) over {c['n']} points; difference "
                    f"{fmt_interval(c['difference'], 2)}",
                    verdict_from_sign(c["difference"].sign()),
                )
            )
        more, fewer = _find(data, "reverse-more"), _find(data, "reverse-fewer")
        if more and (fewer or base):
            other = fewer[0] if fewer else base
            effect = paired(more[0]["by_seed"], other["by_seed"])
            out.append(
                Claim(
                    NAME,
                    f"Corpus tokens the task never uses lower the gap ({task})",
                    "open question 2",
                    f"foreign share {more[0]['reverse_missing_share']:.3f} against "
                    f"{other['reverse_missing_share']:.3f} at equal coverage: accuracy "
                    f"difference {fmt_interval(effect)}",
                    verdict_from_sign(-effect.sign()),
                )
            )
    return out


def preset_lines(preset: Preset) -> list[str]:
    built = ["custom selection"]
    built += [f"ablation of {n:,} task types" for n in preset.ablation_removed]
    built += [
        f"swap {preset.reverse_fraction:.0%} toward {d} foreign tokens" for d in preset.reverse
    ]
    changes = preset.overlap_pretrain
    budget = f"; every pre-training: {describe_changes(changes)}" if changes else ""
    tuning = preset.overlap_finetune
    budget += f"; every pre-trained arm's fine-tuning: {describe_changes(tuning)}" if tuning else ""
    return [f"- overlap study: at Ws = {preset.fixed_ws:,}, {'; '.join(built)}{budget}"]


STUDY = Study(
    name=NAME,
    title=TITLE,
    cells=cells,
    table=table,
    plot=plot,
    claims=claims,
    # the ablation's removed types, the corpus's figures, and its folder if it was built
    columns=("removed", *FIGURES, "corpus_job"),
    text_columns=frozenset({"corpus_job"}),
    row_extras=row_extras,
    preset_lines=preset_lines,
)
