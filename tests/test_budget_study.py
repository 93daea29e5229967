"""Study `budget`: snapshots of one pre-training per seed, each fine-tuned beside the scratch
arm; the crossover; outputs; reuse of the gap study's scratch jobs."""

import json
import math

from studykit import count_executions, run, tiny_preset
from tinylm.study import budget
from tinylm.study.results import read_rows
from tinylm.study.stats import estimate


def test_budget_study_fine_tunes_every_snapshot(tmp_path, store, monkeypatch):
    preset = tiny_preset(tasks=("agnews",), budget_tokens=[600, 1800])
    run("gap", preset, tmp_path, store)
    calls = count_executions(monkeypatch)
    run("budget", preset, tmp_path, store)
    kinds = [(job.kind, job.snapshot) for job in calls]
    # per seed: one pre-training (snapshots at both budgets), two fine-tunings from them; the
    # scratch fine-tunings are the gap study's, reused
    assert sorted(kinds, key=str) == sorted(
        [("pretrain", None)] * 2 + [("finetune", 600), ("finetune", 1800)] * 2, key=str
    )
    folder = tmp_path / "results" / "budget" / "tiny"
    rows = read_rows(folder / "results.csv")
    assert len(rows) == 2 * (2 + 1)  # seeds x (two budgets + scratch)
    for row in rows:
        assert 0 <= row["test_accuracy"] <= 1
        if row["arm"] == "pretrained":
            assert row["tokens_read"] >= row["budget"] and row["val_loss"] > 0
            assert row["job"].startswith("finetune-agnews-") and f"tok{row['budget']}" in row["job"]
        else:
            assert row["budget"] is None
    pretraining = store.root / rows[0]["pretrain_job"]
    summary = json.loads((pretraining / "summary.json").read_text())
    assert [s["tokens"] for s in summary["snapshots"]] == [600, 1800]
    assert summary["tokens_read"] >= 1800 and summary["tokens_read"] - 1800 < 8 * 64
    table = (folder / "table.md").read_text()
    assert "| 600 |" in table and "| 1.8k |" in table and "ignores context scores" in table
    assert "Test macro-F1 (mean over seeds)" in table and table.count("| 1.8k |") == 3
    assert (folder / "budget.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (tmp_path / "results" / "report.md").read_text()
    assert "Pre-training pays off within the budget grid on agnews" in report


def _rows(gaps: dict[int, list[float]]) -> list[dict]:
    """Rows whose scratch arm scores 0.5 and whose pre-trained arm scores 0.5 + gap."""
    rows = []
    for seed in range(3):
        rows.append({"task": "t", "seed": seed, "arm": "scratch", "test_accuracy": 0.5})
        for tokens, values in gaps.items():
            rows.append(
                {
                    "task": "t", "seed": seed, "arm": "pretrained", "budget": tokens,
                    "test_accuracy": 0.5 + values[seed], "val_loss": 6.0, "plateau_loss": 7.0,
                }
            )  # fmt: skip
    return rows


def test_the_crossover_is_the_first_budget_whose_interval_clears_zero():
    rows = _rows({1000: [-0.1, 0.02, -0.05], 2000: [0.04, 0.05, 0.06], 4000: [0.1, 0.12, 0.11]})
    data = budget.summarise(rows)["t"]
    assert data["crossover"]["budget"] == 2000
    assert data["points"][1]["gap"].low > 0 > data["points"][0]["gap"].low
    (pays, grows) = budget.claims(rows)
    assert pays.verdict == "holds" and "turns positive at 2k tokens" in pays.ours
    assert grows.verdict == "holds" and "not at every larger budget" not in pays.ours
    # a crossover the larger budgets do not keep is named with where the gap ends
    (blip, _) = budget.claims(_rows({1000: [0.04, 0.05, 0.06], 2000: [-0.1, 0.02, -0.05]}))
    assert "turns positive at 1k tokens" in blip.ours
    assert "not at every larger budget: -0.043" in blip.ours and "at 2k tokens" in blip.ours
    none = budget.summarise(_rows({1000: [-0.1, -0.12, -0.11], 2000: [-0.1, 0.1, 0.0]}))["t"]
    assert none["crossover"] is None
    assert budget.claims(_rows({1000: [-0.1, -0.12, -0.11]}))[0].verdict == "does not hold"
    assert estimate([6.0, 6.0]).mean == data["points"][0]["val_loss"].mean


def test_without_a_crossover_the_trend_off_the_plateau_is_extrapolated_and_marked():
    gaps = {1000: [-0.2, -0.21, -0.19], 10_000: [-0.1, -0.11, -0.09]}
    gaps[100_000] = [-0.05, -0.06, -0.04]
    (pays, _) = budget.claims(_rows(gaps))
    assert pays.verdict == "does not hold" and "extrapolated, not measured" in pays.ours
    # means -0.2, -0.1, -0.05 at 10^3, 10^4, 10^5: slope 0.075 per decade, zero at 10^5.56
    assert "rises +0.075 per tenfold tokens off the plateau (1k, 10k, 100k)" in pays.ours
    assert pays.ours.endswith("would reach zero near 360k tokens (beyond the grid)")
    rows = _rows(gaps)
    for row in rows:
        if row.get("budget") == 1000:
            row["val_loss"] = 7.5  # above the plateau's level (7.0): left out of the fit
    trend = budget.summarise(rows)["t"]["extrapolated"]
    assert trend["from"] == [10_000, 100_000] and round(trend["tokens"]) == 1_000_000
    falling = budget.claims(_rows({1000: [-0.1] * 3, 10_000: [-0.2] * 3}))[0]
    assert falling.ours.endswith("off the plateau (1k, 10k) the mean gap does not rise with tokens")
    crossing = budget.summarise(_rows({1000: [-0.1, 0.02, -0.05], 2000: [0.04, 0.05, 0.06]}))
    assert crossing["t"]["extrapolated"] is None  # measured, so nothing to extrapolate
    # rows of older results, without the plateau's level: nothing to fit off it
    older = [{k: v for k, v in row.items() if k != "plateau_loss"} for row in _rows(gaps)]
    data = budget.summarise(older)["t"]
    assert math.isnan(data["plateau"]) and data["extrapolated"] is None


def test_a_budgets_dry_run_costs_the_tokens_it_will_read(store, data_dir):
    from tinylm.study.engine import JobFactory
    from tinylm.study.estimate import job_cost
    from tinylm.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(data_dir)
    factory = JobFactory(tiny_preset(budget_tokens=[600, 1800]), tokenizer.vocab_size)
    job = factory.pretrain(40, 0, snapshots=(600, 1800))
    assert job.config.train.max_tokens == 1800
    cost = job_cost(job, store, tokenizer, {})
    assert cost["tokens"] == 1800 and cost["steps"] >= 1800 // (8 * 64)


def test_the_plot_keeps_the_gap_axis_within_the_possible_range(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(budget, "save_figure", lambda fig, path, caption: figures.append(fig))
    rows = [r for r in _rows({1000: [-0.4, 0.3, 0.0], 2000: [0.05, 0.06, 0.04]}) if r["seed"] < 2]
    assert budget.summarise(rows)["t"]["points"][0]["gap"].low < -2  # 2 seeds: t = 12.7
    budget.plot(rows, tmp_path / "budget.png", "caption")
    left = figures[0].axes[0]
    low, high = left.get_ylim()
    assert -1.05 <= low < -0.4 and 0.06 < high <= 1.05
    narrow = _rows({1000: [0.01, 0.02, 0.03], 2000: [0.04, 0.05, 0.06]})
    budget.plot(narrow, tmp_path / "budget.png", "caption")
    assert figures[1].axes[0].get_ylim()[1] < 0.2  # a narrow range is left as it is
