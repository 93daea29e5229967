"""Committees of classifiers: the combiners by hand, parallel against sequential, and the
`tinylm committee` command's output and refusals, on tiny random classifiers."""

import json

import numpy as np
import pytest
import torch
import yaml

from tinylm.cli import main
from tinylm.committee import combine, evaluate_committee, member_logits
from tinylm.config import ModelConfig
from tinylm.data.token_cache import TokenizedTexts
from tinylm.model.bert import BertForSequenceClassification
from tinylm.tokenizer import load_tokenizer
from tinylm.train.batches import pad

AGNEWS = ["World", "Sports", "Business", "Sci/Tech"]
TASK = {"name": "agnews", "train_per_label": 6, "test_per_label": 10, "seed": 0}


def make_member(folder, data_dir, seed, *, labels=AGNEWS, task=TASK, hidden=32):
    """A randomly initialised classifier saved as a fine-tuning run folder."""
    torch.manual_seed(seed)
    vocab = load_tokenizer(data_dir).vocab_size
    config = ModelConfig(layers=1, heads=2, hidden=hidden, intermediate=64, vocab_size=vocab)
    model = BertForSequenceClassification(config, len(labels), labels)
    model.save_pretrained(folder / "model")
    if task is not None:
        (folder / "config.yaml").write_text(yaml.safe_dump({"task": task}))
    return folder


@pytest.fixture
def members(tmp_path, data_dir):
    return [make_member(tmp_path / f"m{seed}", data_dir, seed) for seed in range(3)]


def committee(capsys, *argv):
    code = main(["committee", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_combiners_by_hand():
    logits = torch.tensor(
        [
            [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            [[0.0, 3.0, 0.0], [0.0, 2.0, 0.0]],
            [[1.0, 0.0, 0.5], [4.0, 0.0, 0.0]],
        ]
    )  # 3 members, 2 texts, 3 labels
    soft = combine(logits, "soft")
    expected = (logits.softmax(-1)[0] + logits.softmax(-1)[1] + logits.softmax(-1)[2]) / 3
    torch.testing.assert_close(soft, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(combine(logits, "logit"), logits.mean(0))
    # text 0: votes 0, 1, 0 -> label 0; text 1: votes 1, 1, 0 -> label 1
    assert combine(logits, "hard").argmax(-1).tolist() == [0, 1]
    # a 1-1-1 tie goes to the label of larger mean probability
    tie = torch.tensor([[[5.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]]])
    assert combine(tie, "hard").argmax(-1).item() == combine(tie, "soft").argmax(-1).item() == 0
    with pytest.raises(ValueError, match="unknown combiner"):
        combine(logits, "median")


def test_committee_probabilities_are_the_mean_of_the_members(members, data_dir):
    models = [BertForSequenceClassification.from_pretrained(m / "model") for m in members]
    tokenizer = load_tokenizer(data_dir)
    texts = ["the war minister", "goal in the league match", "stock profit", "a chip"]
    tokens = TokenizedTexts.from_lists([tokenizer.encode(t) for t in texts])
    logits = member_logits(models, tokens, pad_id=tokenizer.pad_id)
    with torch.no_grad():
        ids, mask = pad([tokens[i] for i in range(len(tokens))], tokenizer.pad_id)
        each = [m.eval()(ids, mask).logits.softmax(-1) for m in models]
    torch.testing.assert_close(combine(logits, "soft"), sum(each) / 3, atol=1e-6, rtol=0)
    parallel = member_logits(models, tokens, pad_id=tokenizer.pad_id, parallel=True)
    assert torch.equal(parallel.argmax(-1), logits.argmax(-1))
    torch.testing.assert_close(parallel, logits, atol=1e-6, rtol=0)

    labels = np.array([0, 2, 2, 3])
    report = evaluate_committee(
        dict(zip("abc", models, strict=True)),
        tokens,
        labels,
        pad_id=tokenizer.pad_id,
        examples=3,
        batches=1,
    )
    assert report["member_accuracies"] == [
        float((logit.argmax(-1).numpy() == labels).mean()) for logit in logits
    ]
    assert report["accuracy"] == report["accuracy_soft"]
    assert report["latency_ms"] > 0 and report["latency_ms_sequential"] > 0


def test_cli_committee_json(members, data_dir, capsys):
    code, out, _ = committee(
        capsys,
        "--members",
        *map(str, members),
        "--data-dir",
        str(data_dir),
        "--json",
        "--examples",
        "3",
        "--quiet",
    )
    assert code == 0
    report = json.loads(out)
    for key in (
        "accuracy",
        "member_accuracies",
        "latency_ms",
        "latency_ms_sequential",
        "flops_per_example",
        "accuracy_hard",
        "accuracy_logit",
        "throughput_per_s",
    ):
        assert key in report
    assert report["task"] == "agnews" and report["n"] == 40  # 10 test texts per label
    assert len(report["member_accuracies"]) == 3
    one = members[:1]
    code, out, _ = committee(
        capsys,
        "--members",
        str(one[0]),
        "--data-dir",
        str(data_dir),
        "--json",
        "--quiet",
        "--no-latency",
    )
    single = json.loads(out)
    # a committee of one is its member, and scores what `tinylm evaluate` scores
    assert single["accuracy"] == single["member_accuracies"][0] == report["member_accuracies"][0]
    assert single["flops_per_example"] == pytest.approx(report["flops_per_example"] / 3)
    assert main(["evaluate", str(one[0]), "--data-dir", str(data_dir), "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == single["accuracy"]


def test_cli_committee_refuses_bad_member_lists(members, tmp_path, data_dir, capsys):
    base = ["--data-dir", str(data_dir), "--no-latency", "--quiet"]
    code, _, err = committee(capsys, "--members", str(members[0]), str(tmp_path / "nope"), *base)
    assert code == 2 and "nope does not exist" in err

    other = make_member(
        tmp_path / "db",
        data_dir,
        5,
        labels=["Company", "Artist", "Film"],
        task={**TASK, "name": "dbpedia"},
    )
    code, _, err = committee(capsys, "--members", str(members[0]), str(other), *base)
    assert code == 2 and "different tasks" in err

    relabelled = make_member(tmp_path / "rl", data_dir, 6, labels=["a", "b", "c", "d"])
    code, _, err = committee(capsys, "--members", str(members[0]), str(relabelled), *base)
    assert code == 2 and "different label sets" in err

    code, _, err = committee(capsys, "--members", str(members[0]), "--task", "dbpedia", *base)
    assert code == 2 and "not dbpedia" in err

    bare = make_member(tmp_path / "bare", data_dir, 7, task=None)
    code, _, err = committee(capsys, "--members", str(bare), *base)
    assert code == 2 and "--task is required" in err
    code, _, err = committee(capsys, "--members", str(members[0]), str(members[0]), *base)
    assert code == 2 and "listed twice" in err
