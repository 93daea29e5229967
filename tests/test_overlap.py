"""Token overlap figures, on hand-made counts, corpora and tasks where the answer is known."""

import json

import numpy as np
import pytest

from tinylm.analysis.overlap import overlap, token_counts
from tinylm.cli import main


def test_overlap_figures_by_hand():
    task = np.zeros(10, dtype=np.int64)
    corpus = np.zeros(10, dtype=np.int64)
    task[[1, 2, 3]] = [3, 1, 2]  # token 1 three times, 2 once, 3 twice
    corpus[[1, 4]] = [5, 10]
    figures = overlap(task, corpus)
    assert figures == {
        "task_types": 3,
        "task_tokens": 6,
        "missing_types": 2,  # tokens 2 and 3
        "missing_tokens": 3,
        "type_overlap": pytest.approx(1 / 3),
        "weighted_overlap": pytest.approx(0.5),
        "corpus_types": 2,
        "corpus_tokens": 15,
        "reverse_missing_types": 1,  # token 4
        "reverse_missing_share": pytest.approx(10 / 15),
    }


def test_token_counts_ignore_special_tokens():
    counts = token_counts(np.array([101, 7, 7, 102, 0, 0]), 200, special_ids=(0, 101, 102))
    assert counts.sum() == 2 and counts[7] == 2


def test_cli_overlap_on_a_hand_made_corpus_and_task(tmp_path, data_dir, cache_dir, capsys):
    # every word below is one token of the tiny vocabulary (tests/datagen.py)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the river\nthe war\nmarket of\n")
    task = tmp_path / "task.csv"
    rows = [
        f"{label} {word},{label}"
        for label in ("war", "goal")
        for word in ("river", "bridge", "city", "team", "film")
    ]
    task.write_text("text,label\n" + "\n".join(rows) + "\n")
    argv = ["overlap", "--task", str(task), "--corpus", str(corpus), "--ws", "3", "--json"]
    argv += ["--data-dir", str(data_dir), "--cache-dir", str(cache_dir), "--quiet"]
    assert main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    # task: war x5, goal x5, river/bridge/city/team/film x2 each: 7 types, 20 tokens
    # corpus: the x2, river, war, market, of: 5 types, 6 tokens
    assert figures["task_types"] == 7 and figures["task_tokens"] == 20
    assert figures["missing_types"] == 5  # goal, bridge, city, team, film
    assert figures["missing_tokens"] == 13
    assert figures["weighted_overlap"] == pytest.approx(7 / 20)
    assert figures["reverse_missing_types"] == 3  # the, market, of
    assert figures["reverse_missing_share"] == pytest.approx(4 / 6)


def test_missing_types_never_grow_with_ws_on_nested_subsets(data_dir, cache_dir, capsys):
    sizes = ["10", "25", "50", "100", "200"]
    argv = ["overlap", "--task", "agnews", "--train-per-label", "10", "--test-per-label", "5"]
    argv += ["--ws", *sizes, "--json", "--data-dir", str(data_dir), "--cache-dir", str(cache_dir)]
    assert main([*argv, "--quiet"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["ws"] for r in lines] == [int(s) for s in sizes]
    missing = [r["missing_types"] for r in lines]
    assert missing == sorted(missing, reverse=True) and missing[0] > missing[-1]
    weighted = [r["weighted_overlap"] for r in lines]
    assert weighted == sorted(weighted) and all(0 <= w <= 1 for w in weighted)
    assert len({r["task_types"] for r in lines}) == 1  # the task sample is the same throughout


def test_cli_overlap_refuses_a_subset_larger_than_the_pool(data_dir, cache_dir, capsys):
    argv = ["overlap", "--task", "agnews", "--train-per-label", "5", "--test-per-label", "5"]
    argv += ["--ws", "100000", "--data-dir", str(data_dir), "--cache-dir", str(cache_dir)]
    assert main([*argv, "--quiet"]) == 2
    assert "larger than the pool" in capsys.readouterr().err
