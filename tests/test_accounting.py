"""Parameter and FLOP accounting against the real model."""

import json

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from tinylm.cli import main
from tinylm.model import BertForMaskedLM
from tinylm.model.accounting import forward_flops_per_token, parameter_counts
from tinylm.model.architectures import ARCHITECTURES, get_architecture
from tinylm.model.bert import IGNORE_INDEX


@pytest.mark.parametrize("name", ["bert6-cpu", "bert1-c2-k16x3-d64-a12-cpu", "bert1-c0-a24-cpu"])
def test_flops_equal_a_measured_forward(name):
    """FlopCounterMode counts the matmuls and convolutions a forward pass really runs
    (attention through the math kernel, which it can see)."""
    cfg = get_architecture(name)
    model = BertForMaskedLM(cfg).eval()
    ids = torch.randint(1000, 2000, (2, 128))
    chosen = torch.rand(ids.shape, generator=torch.Generator().manual_seed(0)) < 0.15
    labels = torch.where(chosen, ids, IGNORE_INDEX)
    with FlopCounterMode(display=False) as counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        model(ids, labels=labels)
    measured = counter.get_total_flops() / ids.numel()
    predicted = sum(forward_flops_per_token(cfg, 128, chosen.float().mean().item()).values())
    assert measured == pytest.approx(predicted, rel=1e-6)


def test_parameter_counts_equal_the_model():
    for name in ("bert1-c3-k3-d32-a12-cpu", "bert6-cpu"):
        cfg = get_architecture(name)
        counts = parameter_counts(cfg)
        model = BertForMaskedLM(cfg)
        assert counts["total"] == sum(p.numel() for p in model.parameters())
        assert counts["total"] == counts["embeddings"] + counts["encoder"] + counts["head"]
        assert (
            counts["embeddings"]
            == cfg.hidden * (cfg.vocab_size + cfg.max_length + 2) + 2 * cfg.hidden
        )


def test_arch_list_json(capsys):
    assert main(["arch", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(ARCHITECTURES)
    bert6 = rows[0]
    assert (bert6["layers"], bert6["heads"], bert6["hidden"], bert6["parameters"]) == (
        6,
        12,
        768,
        66_692_154,
    )
    assert all(r["training_flops_per_token"] > 0 and r["parameters"] > 0 for r in rows)


def test_docs_table_is_the_commands_output(capsys):
    """docs/architectures.md shows exactly what `tinylm arch list --markdown` prints."""
    from pathlib import Path

    assert main(["arch", "list", "--markdown"]) == 0
    table = capsys.readouterr().out
    docs = (Path(__file__).parents[1] / "docs" / "architectures.md").read_text()
    assert table in docs
