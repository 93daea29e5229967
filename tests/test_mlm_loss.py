"""The fused masked-LM loss against the plain projection + cross-entropy: value and gradients."""

import pytest
import torch
import torch.nn.functional as F

from tinylm.config import ModelConfig
from tinylm.model import mlm_loss
from tinylm.model.bert import IGNORE_INDEX, BertForMaskedLM
from tinylm.model.mlm_loss import masked_lm_loss


def inputs(n: int, hidden: int = 24, vocab: int = 1000, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    h = torch.randn(n, hidden, generator=generator, requires_grad=True)
    w = (torch.randn(vocab, hidden, generator=generator) * 0.5).requires_grad_()
    b = (torch.randn(vocab, generator=generator) * 0.1).requires_grad_()
    t = torch.randint(0, vocab, (n,), generator=generator)
    return h, w, b, t


def loss_and_gradients(loss_fn, h, w, b, t, autocast: bool = False):
    for tensor in (h, w, b):
        tensor.grad = None
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = loss_fn(h, w, b, t)
    loss.backward()
    return loss.detach(), [tensor.grad.clone() for tensor in (h, w, b)]


def plain(h, w, b, t):
    return F.cross_entropy(F.linear(h, w, b).float(), t)


# 1 row, one chunk exactly, a part chunk after whole ones
@pytest.mark.parametrize("n", [1, 128, 300])
def test_the_fused_loss_equals_the_plain_one_in_fp32(n):
    h, w, b, t = inputs(n)
    expected, expected_grads = loss_and_gradients(plain, h, w, b, t)
    loss, grads = loss_and_gradients(masked_lm_loss, h, w, b, t)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-5)
    for got, want in zip(grads, expected_grads, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_the_fused_loss_under_bf16_autocast_is_within_its_rounding():
    h, w, b, t = inputs(200)
    exact, exact_grads = loss_and_gradients(plain, h, w, b, t)
    expected, expected_grads = loss_and_gradients(plain, h, w, b, t, autocast=True)
    loss, grads = loss_and_gradients(masked_lm_loss, h, w, b, t, autocast=True)
    assert loss.dtype == torch.float32  # summed in fp32
    # as close to the exact loss as autocast's plain path is, within bf16's rounding
    assert abs(float(loss - exact)) <= max(2 * abs(float(expected - exact)), 1e-2)
    for got, plain_bf16, want in zip(grads, expected_grads, exact_grads, strict=True):
        assert got.dtype == torch.float32  # the parameters' own dtype
        scale = want.abs().max()
        assert (got - want).abs().max() <= max(2 * (plain_bf16 - want).abs().max(), 0.02 * scale)


def test_a_masked_lm_trains_on_the_fused_loss_and_validates_on_the_plain_one(monkeypatch):
    config = ModelConfig(layers=1, heads=2, hidden=32, intermediate=64, vocab_size=500)
    torch.manual_seed(0)
    model = BertForMaskedLM(config).eval()  # no dropout: the paths compare exactly
    ids = torch.randint(5, 500, (4, 16))
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[:, ::3] = ids[:, ::3]
    calls = []
    fused = mlm_loss._FusedCrossEntropy.apply
    monkeypatch.setattr(
        mlm_loss._FusedCrossEntropy, "apply", lambda *a: calls.append(1) or fused(*a)
    )
    output = model(ids, labels=labels)
    assert output.logits is None and calls == [1]  # training: the loss alone, fused
    output.loss.backward()
    grad = model.bert.embeddings.word_embeddings.weight.grad.clone()
    with torch.no_grad():
        scored = model(ids, labels=labels)  # validation: logits for the accuracy
    assert scored.logits.shape == (int((labels != IGNORE_INDEX).sum()), 500) and calls == [1]
    torch.testing.assert_close(output.loss.detach(), scored.loss, rtol=1e-5, atol=1e-5)
    model.zero_grad()
    positions = labels != IGNORE_INDEX
    head = model.cls.predictions
    hidden = model.bert(ids)
    logits = head(hidden[positions], model.bert.embeddings.word_embeddings.weight)
    F.cross_entropy(logits, labels[positions]).backward()
    torch.testing.assert_close(
        grad, model.bert.embeddings.word_embeddings.weight.grad, rtol=1e-5, atol=1e-6
    )
