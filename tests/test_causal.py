"""Causal models (ModelConfig.causal, the `gpt...` architectures): no position sees a later
one, through attention and the conv front-end alike; the next-token loss equals a hand
computation; `last` pooling reads the last real token; a causal model pre-trains, validates
against the unigram's level, fine-tunes and exports to ONNX."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from datagen import tiny_vocab
from tinylm.cli import main
from tinylm.model import BertForMaskedLM, BertForSequenceClassification
from tinylm.model.architectures import ARCHITECTURES, CAUSAL, get_architecture
from tinylm.model.bert import IGNORE_INDEX
from tinylm.train.masking import next_token_labels

VOCAB = 512


def small(name: str, **changes):
    return dataclasses.replace(get_architecture(name), vocab_size=VOCAB, **changes)


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_twin_has_a_causal_form_of_the_same_sizes():
    assert set(CAUSAL) <= set(ARCHITECTURES) and len(CAUSAL) == 7
    for name, (config, _) in CAUSAL.items():
        twin = get_architecture("bert" + name.removeprefix("gpt"))
        assert config.causal and not twin.causal
        assert dataclasses.replace(config, causal=False) == twin


@pytest.mark.parametrize(
    "name, changes",
    [
        ("gpt6-a3", {}),
        ("gpt1-c2-k3-d16-a3", {}),
        ("gpt1-c2-k16x3-d16-a3", {}),  # a tall, even kernel
        ("gpt6-a3", {"positions": "rotary"}),
        ("gpt6-a3", {"positions": "alibi"}),
        ("gpt1-a3", {"norm": "pre"}),
    ],
)
def test_no_position_sees_a_later_one(name, changes):
    """Changing token k changes no output before k, and does change those from k on; the
    bidirectional twin's outputs before k change (so the check can fail)."""
    ids = torch.randint(5, VOCAB, (2, 24), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0  # padding in the batch
    changed = ids.clone()
    changed[:, 9] = (ids[:, 9] + 1) % VOCAB
    for causal in (True, False):
        torch.manual_seed(0)
        model = BertForMaskedLM(small(name, causal=causal, **changes)).eval()
        with torch.no_grad():
            before, after = model.bert(ids, mask), model.bert(changed, mask)
        earlier = (before[:, :9] - after[:, :9]).abs().max().item()
        assert (earlier == 0.0) == causal, earlier
        assert (before[:, 9] - after[:, 9]).abs().max().item() > 1e-4


def test_next_token_labels_by_hand():
    ids = torch.tensor([[2, 5, 6, 3, 0], [2, 7, 3, 0, 0]])
    mask = (ids != 0).long()
    ignore = IGNORE_INDEX
    expected = torch.tensor([[5, 6, 3, ignore, ignore], [7, 3, ignore, ignore, ignore]])
    assert torch.equal(next_token_labels(ids, mask), expected)


def test_the_next_token_loss_equals_a_hand_computation():
    torch.manual_seed(0)
    model = BertForMaskedLM(small("gpt1-c2-k3-d16-a3")).eval()
    ids = torch.randint(5, VOCAB, (3, 16), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[1, 11:] = 0
    mask[2, 4:] = 0
    ids[mask == 0] = 0
    with torch.no_grad():
        logits = model(ids, mask).logits  # every position's scores
        scored = model(ids, mask, labels=next_token_labels(ids, mask))
    # by hand: position t predicts token t + 1, for every t whose successor is real
    follows = mask[:, 1:].bool()
    expected = F.cross_entropy(logits[:, :-1][follows], ids[:, 1:][follows])
    assert follows.sum() == 15 + 10 + 3
    assert torch.allclose(scored.loss, expected, atol=1e-6)
    fused = model(ids, mask, labels=next_token_labels(ids, mask)).loss  # with gradients
    assert torch.allclose(fused, expected, atol=1e-5)


def test_last_pooling_reads_the_last_real_token():
    torch.manual_seed(0)
    model = BertForSequenceClassification(small("gpt1-a3"), 3, pooling="last").eval()
    ids = torch.randint(5, VOCAB, (2, 12), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    with torch.no_grad():
        hidden = model.bert(ids, mask)
        pooled = model.bert.pooler(hidden, mask)
        alone = model(ids[1:, :7], mask[1:, :7]).logits
        batched = model(ids, mask).logits
    dense = model.bert.pooler.dense
    assert torch.allclose(pooled[0], torch.tanh(dense(hidden[0, 11])), atol=1e-6)
    assert torch.allclose(pooled[1], torch.tanh(dense(hidden[1, 6])), atol=1e-6)  # not padding
    assert not torch.allclose(pooled[1], torch.tanh(dense(hidden[1, 11])))
    # a text scores the same alone as behind padding: its last real token saw only itself
    assert torch.allclose(alone, batched[1:], atol=1e-5)


@pytest.fixture
def causal_config(tmp_path):
    path = tmp_path / "gpt.yaml"
    arch = {"layers": 1, "heads": 2, "hidden": 64, "vocab_size": len(tiny_vocab()), "causal": True}
    path.write_text(yaml.safe_dump({"arch": arch, "corpus": {"ws": 96}}))
    return path


def test_a_causal_model_pretrains_fine_tunes_and_exports(
    capsys, data_dir, cache_dir, tmp_path, causal_config
):
    common = ["--data-dir", data_dir, "--cache-dir", cache_dir, "--quiet"]
    code, out, err = cli(
        capsys,
        "pretrain",
        "--config",
        causal_config,
        "--epochs",
        8,
        "--batch-size",
        16,
        "--lr",
        3e-3,
        "--out",
        tmp_path / "pre",
        *common,
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "pre" / "summary.json").read_text())
    assert summary["arch"]["causal"] is True
    # the plateau of a causal model is the unigram's cross-entropy: below ln V, above 0
    assert 0 < summary["plateau_loss"] < math.log(len(tiny_vocab()))
    assert summary["val_loss"] < summary["plateau_loss"]  # the tiny corpus is predictable
    records = [json.loads(x) for x in (tmp_path / "pre/metrics.jsonl").read_text().splitlines()]
    assert records[-1]["loss"] < records[0]["loss"]

    code, out, err = cli(
        capsys,
        "finetune",
        "--task",
        "agnews",
        "--init",
        tmp_path / "pre",
        "--pooling",
        "last",
        "--train-per-label",
        10,
        "--test-per-label",
        5,
        "--epochs",
        2,
        "--out",
        tmp_path / "ft",
        *common,
    )
    assert code == 0, err
    assert json.loads((tmp_path / "ft/model/config.json").read_text())["architecture"]["causal"]

    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    onnx = tmp_path / "model.onnx"
    code, out, err = cli(capsys, "export", tmp_path / "ft", "--onnx", onnx, "--data-dir", data_dir)
    assert code == 0, err
    code, out, err = cli(capsys, "export", tmp_path / "ft", "--hf", tmp_path / "hf", *common[:2])
    assert code == 2 and "causal" in err
    texts = tmp_path / "texts.txt"
    texts.write_text("the war minister won the election\na goal in the league match\n")
    answers = {}
    for engine in ("torch", "onnx"):
        target = onnx if engine == "onnx" else tmp_path / "ft"
        code, out, err = cli(
            capsys, "predict", target, "--file", texts, "--json", "--data-dir", data_dir
        )
        assert code == 0, err
        answers[engine] = [json.loads(line) for line in out.splitlines()]
    for a, b in zip(answers["torch"], answers["onnx"], strict=True):
        assert a["label"] == b["label"]
        torch_p, onnx_p = (list(x["probabilities"].values()) for x in (a, b))
        assert np.allclose(torch_p, onnx_p, atol=1e-4)


def test_span_masking_is_refused_for_a_causal_model():
    from tinylm.errors import ConfigError
    from tinylm.train.config import PretrainConfig

    with pytest.raises(ConfigError, match="nothing is masked"):
        PretrainConfig.from_dict({"arch": "gpt1-a3", "mask_span": 3})


def test_arch_list_shows_the_causal_twins(capsys):
    code, out, _ = cli(capsys, "arch", "list")
    assert code == 0 and "gpt6-a3" in out and "gpt1-c2-k3-d16-a3" in out


def test_causal_gap_and_committee_studies_on_real_data(
    tmp_path, real_data_dir, real_cache_dir, capsys
):
    """`--family causal`: the smoke preset's gap and committee studies with every model in its
    causal form, under results/STUDY/smoke-causal, their jobs keyed apart from the masked ones."""
    from tinylm.study.presets import PRESETS
    from tinylm.study.results import read_rows

    out = tmp_path / "results"
    argv = [
        "--preset",
        "smoke",
        "--family",
        "causal",
        "--seeds",
        "1",
        "--data-dir",
        real_data_dir,
        "--cache-dir",
        real_cache_dir,
        "--out",
        out,
        "--runs",
        tmp_path / "runs",
        "--quiet",
    ]
    for study in ("gap", "committee"):
        code, _, err = cli(capsys, "study", study, *argv)
        assert code == 0, err
    gap = read_rows(out / "gap" / "smoke-causal" / "results.csv")
    assert {r["arm"] for r in gap} == {"pretrained", "scratch", "tfidf"}
    pretrained = [r for r in gap if r["arm"] == "pretrained"]
    assert all(0 < r["pretrain_loss"] < math.log(30_522) for r in pretrained)
    configs = [yaml.safe_load(p.read_text()) for p in (tmp_path / "runs").glob("*/config.yaml")]
    trained = [c for c in configs if "arch" in c]
    assert trained and all(c["arch"]["causal"] for c in trained)
    smoke = PRESETS["smoke"]
    members = len(smoke.committee_members)
    rows = read_rows(out / "committee" / "smoke-causal" / "results.csv")
    assert len(rows) == len(smoke.tasks) * (members + 1 + 2**members - 1 - members)
    assert {r["members"] for r in rows} >= {"gpt6-a3", "gpt1-c2-k3-d16-a2"}
    code, _, err = cli(capsys, "study", "gap", *argv[:2], "--family", "causal", "--preset", "paper")
    assert code == 2 and "no causal form" in err
