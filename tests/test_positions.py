"""Position schemes (model/positions.py): rotary and ALiBi equal hand-written references on
small inputs, make scores depend on offsets only, leave a sequence's outputs unchanged by the
padding around it, and export to ONNX; Hugging Face's BERT refuses them."""

import dataclasses
import math

import pytest
import torch

from tinylm.config import ModelConfig
from tinylm.errors import ConfigError, TinylmError
from tinylm.export.hf import check_exportable
from tinylm.model.bert import Bert, BertForMaskedLM, BertForSequenceClassification, SelfAttention
from tinylm.model.positions import Rotary, alibi_bias, alibi_slopes

CONFIG = ModelConfig(layers=2, heads=2, hidden=16, intermediate=32, vocab_size=50, max_length=12)


def rotate_by_hand(x: torch.Tensor, base: float = 10_000.0) -> torch.Tensor:
    """RoFormer's rotation, one position and one pair (i, i + d/2) at a time."""
    *_, length, size = x.shape
    half = size // 2
    out = torch.empty_like(x)
    for p in range(length):
        for i in range(half):
            angle = p * base ** (-2 * i / size)
            a, b = x[..., p, i], x[..., p, i + half]
            out[..., p, i] = a * math.cos(angle) - b * math.sin(angle)
            out[..., p, i + half] = a * math.sin(angle) + b * math.cos(angle)
    return out


def test_rotary_equals_the_hand_written_rotation():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 8)
    assert torch.allclose(Rotary(8, 12)(x), rotate_by_hand(x), atol=1e-5)


def test_rotary_scores_depend_on_the_offset_only():
    torch.manual_seed(0)
    q, k = torch.randn(8), torch.randn(8)
    rotary = Rotary(8, 12)

    def score(i, j):  # the same query at position i against the same key at position j
        queries = q.expand(1, 1, 12, 8)
        keys = k.expand(1, 1, 12, 8)
        return float(rotary(queries)[0, 0, i] @ rotary(keys)[0, 0, j])

    assert score(2, 5) == pytest.approx(score(6, 9), abs=1e-5)
    assert score(2, 5) != pytest.approx(score(2, 6), abs=1e-3)


def test_alibi_slopes_are_the_papers():
    assert alibi_slopes(8) == pytest.approx([2.0 ** -(i + 1) for i in range(8)])
    assert alibi_slopes(4) == pytest.approx([0.25, 0.0625, 0.015625, 0.00390625])
    # 3 heads: those of 2 heads, then the first of every other slope of 4
    assert alibi_slopes(3) == pytest.approx([2.0**-4, 2.0**-8, 2.0**-2])


def attention_by_hand(attention: SelfAttention, x, keep, positions: str) -> torch.Tensor:
    """softmax(q k / sqrt(d) - slope |i - j|) v over the kept keys, head by head, in loops."""
    batch, length, hidden = x.shape
    heads = attention.heads
    size = hidden // heads
    q, k, v = (
        p(x).view(batch, length, heads, size).transpose(1, 2)
        for p in (attention.query, attention.key, attention.value)
    )
    if positions == "rotary":
        q, k = rotate_by_hand(q), rotate_by_hand(k)
    slopes = alibi_slopes(heads)
    out = torch.zeros(batch, heads, length, size)
    for b in range(batch):
        for h in range(heads):
            for i in range(length):
                scores = []
                for j in range(length):
                    s = float(q[b, h, i] @ k[b, h, j]) / math.sqrt(size)
                    if positions == "alibi":
                        s -= slopes[h] * abs(i - j)
                    scores.append(s if keep[b, j] else -math.inf)
                weights = torch.tensor(scores).softmax(0)
                out[b, h, i] = (weights[:, None] * v[b, h]).sum(0)
    return out.transpose(1, 2).reshape(batch, length, hidden)


@pytest.mark.parametrize("positions", ["rotary", "alibi"])
def test_attention_equals_the_hand_written_reference(positions):
    torch.manual_seed(0)
    cfg = dataclasses.replace(CONFIG, positions=positions)
    attention = SelfAttention(cfg).eval()
    x = torch.randn(2, 6, 16)
    keep = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    mask = keep[:, None, None, :]
    if positions == "alibi":  # as Bert.forward builds it
        mask = alibi_bias(cfg.heads, 6).masked_fill(~mask, float("-inf"))
    with torch.no_grad():
        got = attention(x, mask)
        expected = attention_by_hand(attention, x, keep, positions)
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("positions", ["rotary", "alibi"])
def test_a_model_without_learned_positions_ignores_the_padding_around_a_text(positions):
    torch.manual_seed(0)
    cfg = dataclasses.replace(CONFIG, positions=positions)
    bert = Bert(cfg, pooling=None).eval()
    assert bert.embeddings.position_embeddings is None
    ids = torch.tensor([[2, 7, 8, 9, 3]])
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    mask = torch.cat([torch.ones(1, 5), torch.zeros(1, 4)], dim=1).bool()
    with torch.no_grad():
        alone = bert(ids)
        beside_padding = bert(padded, mask)[:, :5]
    assert torch.allclose(alone, beside_padding, atol=1e-5)
    # the positions matter: with two tokens swapped, a token's output moves (a model without
    # positions would give each token the same output wherever it stands)
    swap = [0, 3, 2, 1, 4]
    with torch.no_grad():
        swapped = bert(ids[:, swap])[:, swap]
    assert not torch.allclose(alone, swapped, atol=1e-3)


def test_the_weights_are_the_learned_twin_s_without_position_embeddings():
    names = set(BertForMaskedLM(CONFIG).state_dict())
    rotary = set(BertForMaskedLM(dataclasses.replace(CONFIG, positions="rotary")).state_dict())
    assert names - rotary == {"bert.embeddings.position_embeddings.weight"}
    assert rotary <= names


def test_an_unknown_scheme_is_refused_and_hf_cannot_hold_one():
    with pytest.raises(ConfigError, match="positions"):
        dataclasses.replace(CONFIG, positions="sinusoidal")
    model = BertForSequenceClassification(dataclasses.replace(CONFIG, positions="alibi"), 2)
    with pytest.raises(TinylmError, match="alibi positions"):
        check_exportable(model)


def test_a_job_key_holds_the_scheme_only_when_set():
    assert "positions" not in CONFIG.result_dict()
    assert dataclasses.replace(CONFIG, positions="rotary").result_dict()["positions"] == "rotary"


@pytest.mark.parametrize("positions", ["rotary", "alibi"])
def test_the_onnx_export_answers_as_pytorch(positions, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnxruntime as ort

    from tinylm.export.onnx import build_onnx

    torch.manual_seed(0)
    model = BertForSequenceClassification(dataclasses.replace(CONFIG, positions=positions), 3)
    torch.nn.init.normal_(model.classifier.weight, std=1.0)
    model.eval()
    data, _ = build_onnx({"m": model})
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    ids = torch.randint(5, 50, (3, 9))
    mask = torch.ones(3, 9, dtype=torch.long)
    mask[1, 6:] = 0
    with torch.no_grad():
        expected = model(ids, mask).logits.softmax(-1).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    assert abs(got - expected).max() <= 1e-4


def test_a_gated_feed_forward_equals_its_formula_and_is_counted():
    from tinylm.model.accounting import forward_flops_per_token
    from tinylm.model.bert import Intermediate

    torch.manual_seed(0)
    cfg = dataclasses.replace(CONFIG, feed_forward="geglu")
    layer = Intermediate(cfg)
    assert layer.dense.weight.shape == (2 * cfg.intermediate, cfg.hidden)
    x = torch.randn(3, 16)
    a = x @ layer.dense.weight[: cfg.intermediate].T + layer.dense.bias[: cfg.intermediate]
    b = x @ layer.dense.weight[cfg.intermediate :].T + layer.dense.bias[cfg.intermediate :]
    gelu = 0.5 * a * (1 + torch.erf(a / math.sqrt(2)))
    assert torch.allclose(layer(x), gelu * b, atol=1e-6)
    plain = forward_flops_per_token(CONFIG)["layers"]
    gated = forward_flops_per_token(cfg)["layers"]
    assert gated - plain == cfg.layers * 2 * cfg.hidden * cfg.intermediate
    with pytest.raises(TinylmError, match="gated"):
        check_exportable(BertForSequenceClassification(cfg, 2))
