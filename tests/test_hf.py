"""Hugging Face interoperability: our outputs equal transformers' for the same weights, in both
conversion directions (fp32, padding in the batch)."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from tinylm.cli import main
from tinylm.errors import TinylmError
from tinylm.model import BertForMaskedLM, BertForSequenceClassification, load_pretrained
from tinylm.model.accounting import parameter_counts
from tinylm.model.architectures import get_architecture
from tinylm.model.hf import export_hf, import_hf

transformers = pytest.importorskip("transformers")
TOLERANCE = 1e-4


def padded_batch(vocab=30522):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, vocab, (3, 24), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 17:] = 0
    mask[2, 6:] = 0
    ids[mask == 0] = 0
    return ids, mask


def hf_outputs(hf_model, ids, mask):
    with torch.no_grad():
        hidden = hf_model.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        logits = hf_model(input_ids=ids, attention_mask=mask).logits
    return hidden, logits


def our_outputs(model, ids, mask):
    with torch.no_grad():
        return model.bert(ids, mask), model(ids, mask).logits


def assert_close(ours, theirs, mask):
    for a, b in zip(ours, theirs, strict=True):
        real = mask.bool()  # padded rows carry no meaning; compare the real tokens
        assert (a[real] - b[real]).abs().max().item() <= TOLERANCE


@pytest.mark.parametrize("name", ["bert6", "bert1"])
def test_export_to_transformers(name, tmp_path):
    torch.manual_seed(0)
    ours = BertForMaskedLM(get_architecture(name)).eval()
    export_hf(ours, tmp_path / "hf")
    theirs = transformers.BertForMaskedLM.from_pretrained(tmp_path / "hf").eval()
    ids, mask = padded_batch()
    assert_close(our_outputs(ours, ids, mask), hf_outputs(theirs, ids, mask), mask)


@pytest.mark.parametrize("name", ["bert6", "bert1"])
def test_import_from_transformers(name, tmp_path):
    cfg = get_architecture(name)
    torch.manual_seed(0)
    theirs = transformers.BertForMaskedLM(
        transformers.BertConfig(
            vocab_size=cfg.vocab_size,
            hidden_size=cfg.hidden,
            num_hidden_layers=cfg.layers,
            num_attention_heads=cfg.heads,
            intermediate_size=cfg.intermediate,
            max_position_embeddings=cfg.max_length,
        )
    ).eval()
    theirs.save_pretrained(tmp_path / "hf")
    ours, notes = import_hf(tmp_path / "hf")
    ours.eval()
    assert ours.config.to_dict() == cfg.to_dict()
    ids, mask = padded_batch()
    assert_close(our_outputs(ours, ids, mask), hf_outputs(theirs, ids, mask), mask)


def test_parameter_count_equals_transformers():
    cfg = get_architecture("bert6")
    with torch.device("meta"):
        theirs = transformers.BertForMaskedLM(
            transformers.BertConfig(
                vocab_size=cfg.vocab_size,
                hidden_size=cfg.hidden,
                num_hidden_layers=cfg.layers,
                num_attention_heads=cfg.heads,
                intermediate_size=cfg.intermediate,
                max_position_embeddings=cfg.max_length,
            )
        )
    count = sum(p.numel() for p in theirs.parameters())
    assert parameter_counts(cfg)["total"] == count == 66_692_154


def test_classifier_export(tmp_path):
    torch.manual_seed(0)
    cfg = get_architecture("bert1-a3")
    ours = BertForSequenceClassification(cfg, 3, ["neg", "neu", "pos"]).eval()
    export_hf(ours, tmp_path / "hf")
    theirs = transformers.BertForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    assert theirs.config.id2label == {0: "neg", 1: "neu", 2: "pos"}
    ids, mask = padded_batch()
    with torch.no_grad():
        diff = ours(ids, mask).logits - theirs(input_ids=ids, attention_mask=mask).logits
    assert diff.abs().max().item() <= TOLERANCE


def test_an_older_checkpoint_without_mlm_head(tmp_path):
    """A bare BertModel file with LayerNorm gamma/beta names (as older published checkpoints)."""
    torch.manual_seed(0)
    ours = BertForMaskedLM(get_architecture("bert1-a3")).eval()
    export_hf(ours, tmp_path / "hf")
    state = load_file(tmp_path / "hf/model.safetensors")
    old = {
        k.removeprefix("bert.")
        .replace("LayerNorm.weight", "LayerNorm.gamma")
        .replace("LayerNorm.bias", "LayerNorm.beta"): v
        for k, v in state.items()
        if k.startswith("bert.")
    }
    save_file(old, tmp_path / "hf/model.safetensors")
    imported, notes = import_hf(tmp_path / "hf")
    assert any("no MLM head" in n for n in notes)
    imported.eval()
    ids, mask = padded_batch()
    with torch.no_grad():
        assert torch.allclose(imported.bert(ids, mask), ours.bert(ids, mask), atol=TOLERANCE)


def test_conv_models_are_not_exported(tmp_path):
    with pytest.raises(TinylmError, match="convolutional front-end"):
        export_hf(BertForMaskedLM(get_architecture("bert1-c2-k3-d16-a2")), tmp_path)


def test_pickled_checkpoints_are_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(TinylmError, match="pytorch_model.bin is a pickle"):
        import_hf(tmp_path)


def test_cli_export_and_import_round_trip(tmp_path, capsys):
    torch.manual_seed(0)
    model = BertForMaskedLM(get_architecture("bert1-a3")).eval()
    model.save_pretrained(tmp_path / "run" / "model")
    assert main(["export", str(tmp_path / "run"), "--hf", str(tmp_path / "hf")]) == 0
    assert main(["import", "--hf", str(tmp_path / "hf"), "--out", str(tmp_path / "back")]) == 0
    back = load_pretrained(tmp_path / "back").eval()
    ids, mask = padded_batch()
    with torch.no_grad():
        assert torch.equal(back(ids, mask).logits, model(ids, mask).logits)
    assert main(["export", str(tmp_path / "nothing"), "--hf", str(tmp_path / "x")]) == 2
    assert "no tinylm model" in capsys.readouterr().err
