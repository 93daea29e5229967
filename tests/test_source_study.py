"""Study `source`: Wikipedia, the task's own text and the two mixed, read for the same budget,
each fine-tuned beside the scratch arm; the paired differences and their claims."""

import json

import yaml

from studykit import count_executions, run, tiny_preset
from tinylm.study import source
from tinylm.study.results import read_rows


def test_source_study_pre_trains_each_corpus_for_the_same_budget(tmp_path, store, monkeypatch):
    preset = tiny_preset(tasks=("agnews",), source_tokens=1200)
    run("gap", preset, tmp_path, store)
    calls = count_executions(monkeypatch)
    run("source", preset, tmp_path, store)
    # per seed: three pre-trainings and their fine-tunings; scratch is the gap study's
    assert sorted(job.kind for job in calls) == ["finetune"] * 6 + ["pretrain"] * 6
    folder = tmp_path / "results" / "source" / "tiny"
    rows = read_rows(folder / "results.csv")
    assert len(rows) == 2 * 4  # seeds x (three corpora + scratch)
    corpora = {}
    for row in rows:
        assert 0 <= row["test_accuracy"] <= 1
        if row["arm"] == "scratch":
            assert row["budget"] is None
            continue
        assert row["budget"] == 1200 and 1200 <= row["tokens_read"] < 1200 + 8 * 64
        config = yaml.safe_load((store.root / row["pretrain_job"] / "config.yaml").read_text())
        corpora[(row["corpus"], row["seed"])] = (config["corpus"], row["corpus_tokens"])
        assert row["ws"] == (None if row["corpus"] == "task_text" else preset.gap_ws)
    for seed in (0, 1):
        wikipedia, wiki_tokens = corpora[("wikipedia", seed)]
        own, own_tokens = corpora[("task_text", seed)]
        mix, mix_tokens = corpora[("mix", seed)]
        assert wikipedia["name"] == "wikipedia" and wikipedia["ws"] == preset.gap_ws
        assert own["name"] == "task:agnews" and own["mix"] is None
        assert mix["name"] == "task:agnews" and (mix["mix"], mix["mix_ws"]) == ("wikipedia", 40)
        # the mixture reads the task's text and the Wikipedia subset, each once per epoch
        assert mix_tokens == own_tokens + wiki_tokens
    # each pre-training is validated on its own corpus's held-out text
    task_run = next(r["pretrain_job"] for r in rows if r["corpus"] == "task_text")
    assert json.loads((store.root / task_run / "summary.json").read_text())["val_corpus"] == (
        "task:agnews"
    )
    table = (folder / "table.md").read_text()
    assert "task text - Wikipedia [95% CI]" in table and "| agnews |" in table
    assert (folder / "source.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (tmp_path / "results" / "report.md").read_text()
    assert "The task's own text pre-trains better than a Wikipedia subset" in report


def _rows(accuracy: dict[str, list[float]]) -> list[dict]:
    rows = []
    for arm, values in accuracy.items():
        for seed, value in enumerate(values):
            pretrained = arm != "scratch"
            rows.append(
                {
                    "task": "t", "seed": seed, "arm": "pretrained" if pretrained else "scratch",
                    "corpus": arm if pretrained else None, "budget": 2000 if pretrained else None,
                    "test_accuracy": value,
                }
            )  # fmt: skip
    return rows


def test_the_claims_pair_each_corpus_with_wikipedia_by_seed():
    rows = _rows(
        {
            "wikipedia": [0.60, 0.62, 0.64],
            "task_text": [0.70, 0.71, 0.75],  # +0.10, +0.09, +0.11
            "mix": [0.55, 0.70, 0.60],  # -0.05, +0.08, -0.04: no clear sign
            "scratch": [0.50, 0.50, 0.50],
        }
    )
    (summary,) = source.summarise(rows)
    assert round(summary["task_vs_wikipedia"].mean, 6) == 0.1
    assert summary["task_vs_wikipedia"].low > 0 and summary["mix_vs_wikipedia"].low < 0
    assert round(summary["wikipedia_gap"].mean, 6) == 0.12
    own, mixed = source.claims(rows)
    assert own.verdict == "holds" and "at 2k tokens" in own.ours and "n = 3 seeds" in own.ours
    assert mixed.verdict == "inconclusive"
    worse = _rows({"wikipedia": [0.7, 0.72, 0.74], "task_text": [0.6, 0.6, 0.61], "mix": [0.7] * 3})
    assert source.claims(worse)[0].verdict == "does not hold"
