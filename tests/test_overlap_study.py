"""The overlap study: reverse-overlap swaps by hand, corpus jobs in the store (keys, order,
caching), the study's outputs on tiny data, and the correlations."""

import json
import math

import numpy as np
import pytest

from studykit import count_executions, run, tiny_preset
from tinylm.analysis.overlap import overlap, token_counts
from tinylm.analysis.reverse import foreign_share, swap_foreign
from tinylm.data.io import iter_jsonl
from tinylm.data.token_cache import TokenizedTexts
from tinylm.errors import ConfigError, TinylmError
from tinylm.study import overlap as overlap_study
from tinylm.study.corpora import CORPUS_FILE
from tinylm.study.engine import JobFactory, unique_jobs
from tinylm.study.overlap import correlations
from tinylm.study.results import read_rows
from tinylm.study.stats import estimate, fmt_mean_std
from tinylm.study.tables import save_figure

# Task types 1-4 (4 is absent from the subset); 5-9 are foreign.
TASK = np.zeros(10, dtype=bool)
TASK[[1, 2, 3, 4]] = True
PARAGRAPHS = [
    [1, 2, 1, 2],  # 0: foreign share 0
    [1, 3, 7, 7],  # 1: 0.5
    [2, 3, 8, 8],  # 2: 0.5
    [1, 2, 3, 9],  # 3: 0.25
    [7, 8, 9, 9],  # 4: 1.0
    [1, 1, 1, 1],  # 5: 0.0
    [5, 1, 7, 8],  # 6: 0.75
    [4, 9, 9, 9],  # 7: 0.75, but brings task type 4, which the subset lacks
]


def test_swap_foreign_moves_the_foreign_share_and_keeps_the_task_types():
    tokens = TokenizedTexts.from_lists(PARAGRAPHS)
    order, subset = np.arange(8), np.arange(4)
    np.testing.assert_allclose(foreign_share(tokens, TASK), [0, 0.5, 0.5, 0.25, 1, 0, 0.75, 0.75])
    # "more": the least foreign (0, then 3) leave; the most foreign eligible (4, 6) come in
    more = swap_foreign(tokens, subset, order, TASK, 0.5, "more")
    assert sorted(more.tolist()) == [1, 2, 4, 6]
    # "fewer": the most foreign (1, 2) leave; the least foreign eligible (5, 6) come in
    fewer = swap_foreign(tokens, subset, order, TASK, 0.5, "fewer")
    assert sorted(fewer.tolist()) == [0, 3, 5, 6]

    task_counts = np.zeros(10, dtype=np.int64)
    task_counts[[1, 2, 3, 4]] = 1

    def figures(indices):
        return overlap(task_counts, token_counts(tokens.select(indices), 10))

    base = figures(subset)
    for corpus in (more, fewer):
        swapped = figures(corpus)
        assert len(corpus) == 4 and swapped["corpus_tokens"] == base["corpus_tokens"]
        for key in ("missing_types", "missing_tokens", "type_overlap", "weighted_overlap"):
            assert swapped[key] == base[key]  # coverage held exactly
    assert figures(more)["reverse_missing_share"] == 11 / 16 > base["reverse_missing_share"]
    assert figures(fewer)["reverse_missing_share"] == 4 / 16 < base["reverse_missing_share"]


def test_swap_foreign_refuses_what_it_cannot_do():
    tokens = TokenizedTexts.from_lists([[1, 7], [2, 8], [3, 9], [7, 8]])
    # every paragraph of the subset holds a task type no other one holds: none can leave
    with pytest.raises(ValueError, match="can leave without losing a task type"):
        swap_foreign(tokens, np.arange(3), np.arange(4), TASK, 0.5, "more")
    with pytest.raises(ValueError, match="direction"):
        swap_foreign(tokens, np.arange(3), np.arange(4), TASK, 0.5, "sideways")


def test_corpus_jobs_have_keys_and_run_first():
    factory = JobFactory(tiny_preset(), vocab_size=100)
    random = factory.pretrain(40, 0)
    assert "init" not in random.identity["config"]  # random-subset keys as before the corpus jobs
    custom = factory.corpus("custom", "agnews", 0, 40)
    assert custom.key == factory.corpus("custom", "agnews", 0, 40).key
    assert custom.key != factory.corpus("custom", "agnews", 1, 40).key  # another task sample
    reverse = factory.corpus("reverse", "agnews", 0, 40, direction="more", fraction=0.3)
    on_custom, on_reverse = factory.pretrain_on(custom, 0), factory.pretrain_on(reverse, 0)
    assert len({on_custom.key, on_reverse.key, random.key}) == 3
    finetune = factory.finetune("agnews", 0, on_custom)
    assert [job.kind for job in unique_jobs([finetune])] == ["corpus", "pretrain", "finetune"]
    with pytest.raises(ConfigError, match="direction"):
        factory.corpus("reverse", "agnews", 0, 40, direction="up", fraction=0.3)


def test_overlap_study_on_tiny_data(tmp_path, store, monkeypatch):
    preset = tiny_preset(tasks=("agnews",), reverse=("more",), reverse_fraction=0.25)
    run("ws", preset, tmp_path, store)
    calls = count_executions(monkeypatch)
    figures = []

    def keep(fig, path, caption):
        figures.append(fig)
        save_figure(fig, path, caption)

    monkeypatch.setattr(overlap_study, "save_figure", keep)
    run("overlap", preset, tmp_path, store)
    # new: per seed one custom and one reverse corpus, their pre-trainings and fine-tunings;
    # the random subsets and the scratch arm come from the ws study
    assert sorted(job.kind for job in calls) == ["corpus"] * 4 + ["finetune"] * 4 + ["pretrain"] * 4
    folder = tmp_path / "results" / "overlap" / "tiny"
    rows = read_rows(folder / "results.csv")
    assert len(rows) == 2 * (1 + 2 + 2)  # seeds x (scratch, random 20 and 40, custom, reverse)
    by = {(r["seed"], r["arm"], r["corpus"], r["ws"]): r for r in rows}
    for seed in (0, 1):
        random = by[(seed, "pretrained", "random", 40)]
        reverse = by[(seed, "pretrained", "reverse-more", 40)]
        custom = by[(seed, "pretrained", "custom", 40)]
        for key in ("missing_types", "missing_tokens", "weighted_overlap"):
            assert reverse[key] == random[key]  # the swap keeps the coverage
        assert reverse["reverse_missing_share"] > random["reverse_missing_share"]
        built = store.root / custom["corpus_job"]
        summary = json.loads((built / "summary.json").read_text())
        assert summary["coverage"] > summary["random_coverage"]  # the objective it maximises
        assert 0 <= by[(seed, "pretrained", "random", 20)]["weighted_overlap"] <= 1
        assert by[(seed, "scratch", None, None)]["missing_types"] is None
        # the pre-training read the corpus its job built: 40 paragraphs
        assert len(list(iter_jsonl(built / CORPUS_FILE))) == 40
        assert custom["pretrain_steps"] == 5  # 40 paragraphs / batch 8
    table = (folder / "table.md").read_text()
    assert "custom selection (Ws = 40)" in table and "Which overlap predicts the gap" in table
    custom_f1 = np.mean([by[(s, "pretrained", "custom", 40)]["test_macro_f1"] for s in (0, 1)])
    line = next(x for x in table.splitlines() if x.startswith("| custom selection"))
    assert f"| {custom_f1:.3f} |" in line  # macro-F1 beside accuracy
    loss = estimate(by[(s, "pretrained", "custom", 40)]["val_loss"] for s in (0, 1))
    assert f"| {fmt_mean_std(loss, 2)} |" in line  # its model's validation MLM loss
    assert (folder / "overlap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the legends above the panels: the tasks, and the kinds of corpus built (no ablation,
    # no "fewer"); none inside the other panels, where they hid points
    legends = [ax.get_legend() for ax in figures[0].axes]
    assert [t.get_text() for t in legends[0].get_texts()] == ["agnews"]
    kinds = [t.get_text() for t in legends[1].get_texts()]
    assert kinds == ["random", "custom", "reverse-more"]
    assert legends[2:] == [None, None]
    report = (tmp_path / "results" / "report.md").read_text()
    assert "A corpus chosen for the task's tokens beats a random one" in report
    assert "Corpus tokens the task never uses lower the gap" in report

    calls.clear()
    run("overlap", preset, tmp_path, store)
    assert calls == []  # every job, corpus jobs included, is found in the store


@pytest.mark.parametrize("workers", [1, 2])
def test_an_impossible_ablation_is_refused_with_its_reason(tmp_path, store, workers):
    # the tiny corpus repeats its words: no task type is rare enough to remove; in a worker
    # process too, the error reaches the caller
    preset = tiny_preset(tasks=("agnews",), seeds=1, ablation_removed=(3,))
    with pytest.raises(TinylmError, match="cannot build the ablation corpus"):
        run("overlap", preset, tmp_path, store, workers=workers)


def test_correlations_by_hand():
    weighted = [0.90, 0.92, 0.94, 0.96, 0.98]
    plain = [0.80, 0.70, 0.85, 0.75, 0.90]
    gap = [0.01, 0.02, 0.03, 0.04, 0.05]  # exactly linear in weighted overlap
    result = correlations(list(zip(plain, weighted, gap, strict=True)))
    assert result["n"] == 5
    assert result["weighted"] == pytest.approx(1.0)
    assert result["plain"] == pytest.approx(np.corrcoef(plain, gap)[0, 1])
    difference = result["difference"]
    assert difference.mean == pytest.approx(1.0 - result["plain"])
    assert difference.low <= difference.high
    assert math.isnan(correlations([(0.1, 0.2, 0.3)] * 2)["plain"])  # too few points


def test_presets_validate_the_overlap_fields():
    with pytest.raises(ConfigError, match="reverse"):
        tiny_preset(reverse=("sideways",))
    with pytest.raises(ConfigError, match="ablation_removed"):
        tiny_preset(ablation_removed=(400, 100))
    assert tiny_preset().fixed_ws == 40 and tiny_preset(overlap_ws=20).fixed_ws == 20


def test_a_study_pretraining_changes_every_model_of_that_study():
    from tinylm.study import overlap
    from tinylm.study.committee import members

    plain = tiny_preset(committee_members=("bert1-a3",), committee_reference="bert6-a3")
    changed = tiny_preset(
        committee_members=("bert1-a3",),
        committee_reference="bert6-a3",
        overlap_pretrain={"max_tokens": 5000, "mask_rate": 0.3},
        committee_pretrain={"max_tokens": 7000, "batch_size": 4},
        committee_reference_pretrain={"max_tokens": 9000},
    )

    def pretrainings(study, preset):
        cells = study.cells(JobFactory(preset, vocab_size=100), preset)
        return [cell.job.init for cell in cells if cell.job.init is not None]

    # every overlap model, random subsets included (equal compute against built corpora)
    overlap_models = pretrainings(overlap, changed)
    assert {job.config.train.max_tokens for job in overlap_models} == {5000}
    assert {job.config.mask_rate for job in overlap_models} == {0.3}
    models = pretrainings(members, changed)
    committee_models = {job.config.arch.layers: job.config for job in models}
    assert committee_models[1].train.max_tokens == 7000  # bert1-a3
    assert committee_models[6].train.max_tokens == 9000  # bert6-a3, the reference: its own
    assert {c.train.batch_size for c in committee_models.values()} == {4}  # ... over the study's
    assert {c.mask_rate for c in committee_models.values()} == {plain.recipe.get("mask_rate", 0.15)}
    # without changes of its own a study shares the preset's pre-trainings (equal keys)
    gap_keys = {
        JobFactory(plain, vocab_size=100).pretrain(ws, s).key for ws in (20, 40) for s in (0, 1)
    }
    assert {job.key for job in pretrainings(overlap, plain) if job.init is None} == gap_keys
    assert {job.config.train.max_tokens for job in pretrainings(members, plain)} == {None}


def test_a_study_pretraining_changes_are_validated():
    with pytest.raises(ConfigError, match="committee_pretrain.max_tokens"):
        tiny_preset(committee_pretrain={"max_tokens": 0})
    with pytest.raises(ConfigError, match="overlap_pretrain.colour"):
        tiny_preset(overlap_pretrain={"colour": "blue"})
    with pytest.raises(ConfigError, match="committee_reference_pretrain.mask_rate"):
        tiny_preset(committee_reference_pretrain={"mask_rate": 1.5})


def test_a_study_finetuning_changes_only_its_pretrained_arms():
    from tinylm.study import gap, overlap
    from tinylm.study.committee import members

    shapes = {"committee_members": ("bert1-a3",), "committee_reference": "bert6-a3"}
    plain = tiny_preset(**shapes)
    changed = tiny_preset(
        **shapes, overlap_finetune={"lr": 2e-3}, committee_finetune={"lr": 5e-4, "epochs": 3}
    )

    def finetunings(study, preset, pretrained=True):
        cells = study.cells(JobFactory(preset, vocab_size=100), preset)
        return [
            cell.job.config.train for cell in cells if (cell.job.init is not None) == pretrained
        ]

    assert {t.lr for t in finetunings(overlap, changed)} == {2e-3}
    committee = finetunings(members, changed)
    assert {(t.lr, t.epochs) for t in committee} == {(5e-4, 3)}
    # the scratch arm keeps the preset's fine-tuning, and other studies are untouched
    assert finetunings(overlap, changed, False) == finetunings(overlap, plain, False)
    assert finetunings(gap, changed) == finetunings(gap, plain)
    # without changes the jobs are those of before the field existed (equal keys)
    keys = [c.job.key for c in overlap.cells(JobFactory(plain, vocab_size=100), plain)]
    again = tiny_preset(**shapes, overlap_finetune={})
    assert keys == [c.job.key for c in overlap.cells(JobFactory(again, vocab_size=100), again)]
    with pytest.raises(ConfigError, match="overlap_finetune.lr"):
        tiny_preset(overlap_finetune={"lr": -1.0})
    with pytest.raises(ConfigError, match="committee_finetune"):
        tiny_preset(committee_finetune={"colour": "blue"})
