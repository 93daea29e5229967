"""Parameter and FLOP accounting against the real model."""

import json

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from tinylm.cli import main
from tinylm.model import BertForMaskedLM
from tinylm.model.accounting import forward_flops_per_token, parameter_counts
from tinylm.model.architectures import ALIASES, ARCHITECTURES, get_architecture
from tinylm.model.bert import IGNORE_INDEX


@pytest.mark.parametrize("name", ["bert6-a3", "bert1-c2-k16x3-d16-a3", "bert1-c0-a6"])
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
    for name in ("bert1-c3-k3-d8-a3", "bert6-a3"):
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
    # the old twin names are listed beside their architecture, never as rows of their own
    assert {alias: r["name"] for r in rows for alias in r["aliases"]} == ALIASES


def test_arch_list_has_a_header_over_its_columns(capsys):
    assert main(["arch", "list"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    titles = ["name", "layers", "heads", "hidden", "conv", "params", "train MFLOP/token"]
    assert header.split("  ")[0] == "name" and all(t in header for t in titles)
    assert "old name (alias)" in header
    assert [line.split()[0] for line in lines] == list(ARCHITECTURES)
    bert6 = lines[0].split()
    assert bert6[:4] == ["bert6", "6", "12", "768"]
    # right-aligned numbers end under the end of their title
    for title in ("layers", "heads", "hidden"):
        end = header.index(title) + len(title)
        assert all(line[end - 1].isdigit() and line[end] == " " for line in lines), title
    twin = next(line for line in lines if line.startswith("bert1-c2-k3-d16-a3 "))
    assert twin.split()[-1] == "bert1-c2-k3-d64-a12-cpu"
    assert header.index("old name") == twin.index("bert1-c2-k3-d64-a12-cpu")


def test_docs_table_is_the_commands_output(capsys):
    """docs/architectures.md shows exactly what `tinylm arch list --markdown` prints."""
    from pathlib import Path

    assert main(["arch", "list", "--markdown"]) == 0
    table = capsys.readouterr().out
    docs = (Path(__file__).parents[1] / "docs" / "architectures.md").read_text()
    assert table in docs
