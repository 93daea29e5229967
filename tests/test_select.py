"""The task-aware corpus selection: the greedy objective on hand-made paragraphs, and
`tinylm corpus select` writing a corpus that pre-training and `tinylm overlap` read."""

import gzip
import json

import numpy as np
import pytest

from tinylm.analysis.select import coverage, greedy_select
from tinylm.cli import main
from tinylm.data.token_cache import TokenizedTexts


def paragraphs():
    # p0 = [1, 1], p1 = [2], p2 = [3, 2], p3 = [4]
    return TokenizedTexts.from_lists([[1, 1], [2], [3, 2], [4]])


WEIGHTS = np.array([0.0, 0.5, 0.3, 0.2, 0.0])


def test_greedy_takes_the_largest_gain_and_breaks_ties_by_pool_order():
    order = np.arange(4)
    # saturation 1: gains p0 0.5, p1 0.3, p2 0.5, p3 0 -> p0 (tie, earlier), then p2 (0.5);
    # then nothing adds coverage: the rest follow in pool order (p1)
    assert greedy_select(paragraphs(), order, WEIGHTS, 3, saturation=1).tolist() == [0, 2, 1]
    # saturation 2: p0 0.5, p2 0.25, p1 0.15 -> p0, p2, then p1 still adds (token 2 once more)
    assert greedy_select(paragraphs(), order, WEIGHTS, 3, saturation=2).tolist() == [0, 2, 1]
    # the pool order decides ties: p2 first when it comes first
    assert greedy_select(paragraphs(), np.array([2, 0, 1, 3]), WEIGHTS, 1, saturation=1)[0] == 2
    with pytest.raises(ValueError, match="exceeds the pool"):
        greedy_select(paragraphs(), order, WEIGHTS, 5)


def test_coverage_saturates():
    counts = np.array([0, 7, 1, 0, 3])
    # 0.5 * min(7, 5)/5 + 0.3 * 1/5 + 0.2 * 0
    assert coverage(counts, WEIGHTS, 5) == pytest.approx(0.5 + 0.06)


def test_cli_select_writes_a_corpus_that_covers_the_task_better(
    tmp_path, data_dir, cache_dir, capsys
):
    out = tmp_path / "custom.jsonl.gz"
    common = ["--data-dir", str(data_dir), "--cache-dir", str(cache_dir), "--quiet"]
    argv = ["corpus", "select", "--task", "agnews", "--train-per-label", "10", "--size", "12"]
    argv += ["--test-per-label", "5"]
    assert main([*argv, "--out", str(out), *common]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["selected"]["coverage"] >= report["random"]["coverage"]
    with gzip.open(out, "rt") as f:
        records = [json.loads(line) for line in f]
    assert len(records) == 12 and all(r["text"].strip() for r in records)

    # the file is a corpus: overlap and pre-training read it
    overlap_argv = ["overlap", "--task", "agnews", "--train-per-label", "10", "--json"]
    overlap_argv += ["--test-per-label", "5"]
    assert main([*overlap_argv, "--corpus", str(out), "--ws", "12", *common]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["corpus_tokens"] == report["selected"]["tokens"]


def test_cli_select_refuses_a_wrong_suffix(tmp_path, data_dir, capsys):
    argv = ["corpus", "select", "--task", "agnews", "--size", "5", "--out", "x.txt"]
    assert main([*argv, "--data-dir", str(data_dir)]) == 2
    assert "--out must end in .jsonl.gz" in capsys.readouterr().err


@pytest.mark.parametrize("seed", range(5))
def test_every_lazy_choice_has_the_largest_gain(seed):
    # the lazy greedy must be a greedy: each paragraph it takes adds as much coverage as the
    # best paragraph left, every gain recomputed from scratch; once nothing adds, pool order
    rng = np.random.default_rng(seed)
    vocab, n, size, saturation = 30, 80, 50, 3
    tokens = TokenizedTexts.from_lists(
        [rng.integers(0, vocab, rng.integers(1, 12)).tolist() for _ in range(n)]
    )
    weights = rng.random(vocab) * (rng.random(vocab) < 0.6)
    weights /= weights.sum()
    order = rng.permutation(n)
    chosen = greedy_select(tokens, order, weights, size, saturation=saturation).tolist()
    assert len(set(chosen)) == size
    counts = np.zeros(vocab)
    left = list(order)
    for step, p in enumerate(chosen):
        now = coverage(counts, weights, saturation)
        gains = {
            q: coverage(counts + np.bincount(tokens[q], minlength=vocab), weights, saturation) - now
            for q in left
        }
        best = max(gains.values())
        if best > 1e-12:
            assert gains[p] == pytest.approx(best, abs=1e-12), f"step {step}"
        else:  # every task token saturated: the rest in pool order
            assert p == left[0], f"step {step}"
        counts += np.bincount(tokens[p], minlength=vocab)
        left.remove(p)
