"""Pre-training recipe knobs: the validation MLM loss on held-out paragraphs, the plateau
flag, token budgets, snapshots, dropout off while pre-training."""

import json

import numpy as np
import pytest
import yaml

from datagen import tiny_vocab
from tinylm.cli import main
from tinylm.config import TrainConfig
from tinylm.data.corpus import load_corpus
from tinylm.errors import ConfigError
from tinylm.tokenizer import load_tokenizer
from tinylm.train.batches import BatchPlan
from tinylm.train.validation import held_out

ARCH = {"layers": 1, "heads": 2, "hidden": 64, "vocab_size": len(tiny_vocab())}


def _pretrain(capsys, tmp_path, data_dir, cache_dir, name, *extra, config=None):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"arch": ARCH, "corpus": {"ws": 96}, **(config or {})}))
    out = tmp_path / name
    argv = ["pretrain", "--config", path, "--data-dir", data_dir, "--cache-dir", cache_dir]
    argv += ["--out", out, "--quiet", "--precision", "fp32", *extra]
    code = main([str(a) for a in argv])
    _, err = capsys.readouterr()
    assert code == 0, err
    return out, json.loads((out / "summary.json").read_text()), err


def test_held_out_paragraphs_are_outside_the_subset_and_the_same_for_every_ws(data_dir, cache_dir):
    tokenizer = load_tokenizer(data_dir)
    corpus = load_corpus("wikipedia", data_dir=data_dir, tokenizer=tokenizer, cache_dir=cache_dir)
    small, large = corpus.subset(50), corpus.subset(150)
    a, b = held_out(corpus, small, 40), held_out(corpus, large, 40)
    assert len(a) == len(b) == 40
    # the pool has 200 paragraphs: the permutation's last 40 are in neither subset
    assert np.array_equal(a.ids, b.ids)
    whole = corpus.subset(None)
    assert len(held_out(corpus, whole, 40)) == 0  # nothing is left outside the whole pool
    rows = {tuple(corpus.tokens[i]) for i in large.indices}
    assert all(tuple(a[i]) not in rows for i in range(len(a)))


def test_validation_loss_is_logged_and_summarised(capsys, tmp_path, data_dir, cache_dir):
    out, summary, _ = _pretrain(
        capsys,
        tmp_path,
        data_dir,
        cache_dir,
        "run",
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--lr",
        "2e-3",
        "--val-paragraphs",
        "40",
    )
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    scored = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in scored] == [6, 12, 18]  # each epoch's end (96 // 16 steps)
    assert all(0 < r["val_loss"] < 10 and 0 <= r["val_accuracy"] <= 1 for r in scored)
    assert summary["val_loss"] == scored[-1]["val_loss"]
    assert summary["plateau_loss"] > 0 and isinstance(summary["plateau"], bool)
    assert summary["plateau"] == (summary["val_loss"] > summary["plateau_loss"] - 0.5)
    assert [v["step"] for v in summary["validation"]] == [6, 12, 18]
    assert scored[-1]["val_loss"] < scored[0]["val_loss"]  # it learns


def test_a_plateau_run_says_so(capsys, tmp_path, data_dir, cache_dir):
    """The paper's learning rate for two steps learns nothing: the summary, the command's JSON
    and a note on stderr say that the loss is still on the unigram plateau."""
    _, summary, err = _pretrain(
        capsys,
        tmp_path,
        data_dir,
        cache_dir,
        "flat",
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--batch-size",
        "16",
        "--lr",
        "5e-5",
        "--val-paragraphs",
        "40",
    )
    assert summary["plateau"] is True
    assert "has not left the unigram plateau" in err


def _subset_lengths(data_dir, cache_dir):
    """The token lengths of the Ws = 96 subset the _pretrain runs read."""
    tokenizer = load_tokenizer(data_dir)
    corpus = load_corpus("wikipedia", data_dir=data_dir, tokenizer=tokenizer, cache_dir=cache_dir)
    return corpus.subset(96).tokens.lengths


def test_a_token_budget_sets_the_steps(capsys, tmp_path, data_dir, cache_dir):
    _, summary, _ = _pretrain(
        capsys,
        tmp_path,
        data_dir,
        cache_dir,
        "budget",
        "--max-tokens",
        "5000",
        "--batch-size",
        "16",
        "--val-paragraphs",
        "0",
    )
    plan = BatchPlan(_subset_lengths(data_dir, cache_dir), 16, 0, True)
    read = plan.tokens_read(summary["steps"])
    assert read[-1] >= 5000 > read[-2]  # the fewest steps that read the budget
    assert summary["tokens_read"] == read[-1]
    assert summary["steps"] > 6 * 1  # more than one epoch: the budget, not `epochs`, decides
    assert summary["val_loss"] is None  # --val-paragraphs 0: no validation


def test_the_batch_size_ramp(capsys, tmp_path, data_dir, cache_dir):
    lengths = np.random.default_rng(0).integers(20, 129, size=640)
    plan = BatchPlan(lengths, 32, 1, True, ramp=(10, 8))
    flat = BatchPlan(lengths, 32, 1, True)
    assert [plan.size(s) for s in (0, 1, 5, 9, 10, 500)] == [8, 10, 20, 29, 32, 32]
    for step in (0, 5, 10, 25):  # the first examples of the batch the plan would take anyway
        assert np.array_equal(plan.indices(step), flat.indices(step)[: plan.size(step)])
    # a budget read on the ramp takes more steps than without it
    _, summary, _ = _pretrain(
        capsys,
        tmp_path,
        data_dir,
        cache_dir,
        "ramp",
        "--max-tokens",
        "5000",
        "--batch-size",
        "16",
        "--batch-ramp-steps",
        "6",
        "--batch-ramp-start",
        "4",
        "--val-paragraphs",
        "0",
    )
    lengths = _subset_lengths(data_dir, cache_dir)
    read = BatchPlan(lengths, 16, 0, True, ramp=(6, 4)).tokens_read(summary["steps"])
    assert read[-1] >= 5000 > read[-2] and summary["tokens_read"] == read[-1]
    assert summary["steps"] > BatchPlan(lengths, 16, 0, True).steps_to_read(5000)
    with pytest.raises(ConfigError, match="batch_ramp_start"):
        TrainConfig(batch_size=16, batch_ramp_steps=6, batch_ramp_start=32)


def test_snapshots_are_kept_at_their_token_counts(capsys, tmp_path, data_dir, cache_dir):
    from tinylm.model import BertForMaskedLM

    out, summary, _ = _pretrain(
        capsys,
        tmp_path,
        data_dir,
        cache_dir,
        "snap",
        "--max-tokens",
        "6000",
        "--batch-size",
        "16",
        "--val-paragraphs",
        "40",
        config={"snapshots": [1000, 3000, 6000, 10**9]},
    )
    kept = sorted(p.name for p in (out / "snapshots").iterdir())
    assert kept == ["tokens-000000001000", "tokens-000000003000", "tokens-000000006000"]
    assert [s["tokens"] for s in summary["snapshots"]] == [1000, 3000, 6000]
    for snap in summary["snapshots"]:
        assert snap["tokens_read"] >= snap["tokens"] and snap["val_loss"] > 0
    last = BertForMaskedLM.from_pretrained(out / "snapshots" / kept[-1])
    final = BertForMaskedLM.from_pretrained(out / "model")
    final_state = final.state_dict()  # the last snapshot is the end of the run
    assert all((value == final_state[key]).all() for key, value in last.state_dict().items())


def test_dropout_off_while_pretraining_keeps_the_architectures_dropout(
    capsys, tmp_path, data_dir, cache_dir
):
    out, _, _ = _pretrain(
        capsys,
        tmp_path,
        data_dir,
        cache_dir,
        "nodrop",
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--val-paragraphs",
        "0",
        config={"dropout": 0.0},
    )
    saved = json.loads((out / "model" / "config.json").read_text())["architecture"]
    assert saved["dropout"] == 0.1 and saved["attention_dropout"] == 0.1
    assert yaml.safe_load((out / "config.yaml").read_text())["dropout"] == 0.0


def test_what_only_measures_a_run_never_enters_a_study_key():
    import dataclasses

    from tinylm.study.engine import Execution, Job
    from tinylm.train.config import PretrainConfig

    def key(config):
        return Job("pretrain", config, execution=Execution()).key

    base = PretrainConfig()
    measured = dataclasses.replace(base, val_paragraphs=50, val_every=7, snapshots=(1000,))
    assert key(measured) == key(base)
    assert key(dataclasses.replace(base, dropout=0.0)) != key(base)
    assert "val_paragraphs" not in base.result_dict() and "dropout" in base.result_dict()


def test_a_ramp_smaller_than_the_world_is_refused():
    from types import SimpleNamespace

    from tinylm.train.trainer import Trainer

    train = TrainConfig(batch_size=16, batch_ramp_steps=6, batch_ramp_start=2)
    plan = BatchPlan.of(np.full(64, 10), train)
    with pytest.raises(ConfigError, match="leaves a rank without examples at world size 4"):
        Trainer.over(plan, None, train, SimpleNamespace(world_size=4))
