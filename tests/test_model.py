"""The model: every architecture runs and round-trips through save/load exactly; sparse MLM
equals dense; the conv front-end's padding behaviour; bad files are refused."""

import dataclasses
import json
import re

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from tinylm.config import ModelConfig
from tinylm.errors import ConfigError, TinylmError
from tinylm.model import BertForMaskedLM, BertForSequenceClassification, load_pretrained
from tinylm.model.architectures import (
    ALIASES,
    ARCHITECTURES,
    CAUSAL,
    COMMITTEE,
    PAPER,
    aliases_of,
    get_architecture,
    resolve_architecture,
)
from tinylm.model.bert import IGNORE_INDEX

VOCAB = 512  # a small vocabulary keeps these tests fast; every other field is the named one's


def small(name: str) -> ModelConfig:
    return dataclasses.replace(get_architecture(name), vocab_size=VOCAB)


def batch(size=3, length=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (size, length), generator=g)
    mask = torch.ones_like(ids)
    mask[1, length - 5 :] = 0  # padding in the batch
    mask[2, length // 2 :] = 0
    ids[mask == 0] = 0
    labels = torch.full_like(ids, IGNORE_INDEX)
    chosen = (torch.rand(ids.shape, generator=g) < 0.3) & mask.bool()
    chosen[:, 1] = True
    labels[chosen] = ids[chosen]
    return ids, mask, labels


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_trains_and_round_trips(name, tmp_path):
    torch.manual_seed(0)
    model = BertForMaskedLM(small(name))
    ids, mask, labels = batch()
    out = model(ids, mask, labels=labels)
    out.loss.backward()
    assert out.logits is None and out.loss.ndim == 0  # training: the fused loss alone
    with torch.no_grad():
        scored = model(ids, mask, labels=labels)
    assert scored.logits.shape == ((labels != IGNORE_INDEX).sum().item(), VOCAB)
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)

    model.save_pretrained(tmp_path / "m")
    loaded = BertForMaskedLM.from_pretrained(tmp_path / "m")
    for mode in ("train", "eval"):  # train: dropout under one seed, BatchNorm batch statistics
        model.train(mode == "train")
        loaded.train(mode == "train")
        torch.manual_seed(1)
        a = model(ids, mask).logits
        torch.manual_seed(1)
        b = loaded(ids, mask).logits
        assert torch.equal(a, b), mode
    if get_architecture(name).conv_layers:  # the front-end survives, running statistics too
        norm = loaded.bert.conv.layers[0].norm
        assert norm.num_batches_tracked.item() > 0
        assert torch.equal(norm.running_mean, model.bert.conv.layers[0].norm.running_mean)


def test_paper_architectures():
    bert6 = get_architecture("bert6")
    assert (bert6.layers, bert6.heads, bert6.hidden, bert6.intermediate) == (6, 12, 768, 3072)
    assert len(COMMITTEE) == 5
    k16 = get_architecture("bert1-c2-k16x3-d64-a12")
    assert (k16.conv_layers, k16.conv_kernel, k16.conv_channels) == (2, (16, 3), 64)
    assert get_architecture("bert1-c0-a24").hidden == 1536
    twin = get_architecture("bert1-c3-k3-d8-a3")
    assert (twin.heads, twin.hidden, twin.conv_channels, twin.conv_layers) == (3, 192, 8, 3)
    assert all(cfg.head_size == 64 for cfg, _ in ARCHITECTURES.values())


# The paper's naming scheme: bert{layers}[-c{conv}[-k{kernel}-d{channels}]][-a{heads}] (gpt for
# the causal twins)
NAME = re.compile(r"(bert|gpt)(\d+)(?:-c(\d+)(?:-k(\d+)(?:x(\d+))?-d(\d+))?)?(?:-a(\d+))?")


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_name_states_its_sizes(name):
    """A name is read back into the sizes it holds (the twins' first names broke this: d64 for
    16 channels, a12 for 3 heads)."""
    family, layers, conv, k_rows, k_cols, channels, heads = NAME.fullmatch(name).groups()
    cfg = get_architecture(name)
    assert cfg.causal == (family == "gpt")
    assert cfg.layers == int(layers)
    assert cfg.heads == int(heads or 12)  # only the paper's bert6 and bert1 leave out a12
    assert cfg.conv_layers == int(conv or 0)
    if cfg.conv_layers:
        assert cfg.conv_kernel == (int(k_rows), int(k_cols or k_rows))
        assert cfg.conv_channels == int(channels)
    assert (heads is None) == (name in ("bert6", "bert1"))


def test_old_twin_names_are_aliases():
    assert ALIASES == {
        "bert6-cpu": "bert6-a3",
        "bert1-cpu": "bert1-a3",
        "bert1-c0-a24-cpu": "bert1-c0-a6",
        "bert1-c2-k3-d64-a12-cpu": "bert1-c2-k3-d16-a3",
        "bert1-c2-k3-d64-a8-cpu": "bert1-c2-k3-d16-a2",
        "bert1-c3-k3-d32-a12-cpu": "bert1-c3-k3-d8-a3",
        "bert1-c2-k16x3-d64-a12-cpu": "bert1-c2-k16x3-d16-a3",
    }
    assert not set(ALIASES) & set(ARCHITECTURES)  # listed as aliases, not as architectures
    # each paper model, its twin and the twin's causal form, once
    assert len(ARCHITECTURES) == 3 * len(PAPER)
    for old, new in ALIASES.items():
        assert get_architecture(old) == get_architecture(new)
        assert resolve_architecture(old) == resolve_architecture(new)
        assert resolve_architecture({"base": old, "heads": 2}) == resolve_architecture(
            {"base": new, "heads": 2}
        )
        assert aliases_of(new) == [old]
        paper = old.removesuffix("-cpu")
        assert ARCHITECTURES[new][1].startswith(f"CPU twin of {paper}:")


def test_no_twin_takes_a_paper_name():
    twins = set(ARCHITECTURES) - set(PAPER) - set(CAUSAL)
    assert len(twins) == len(PAPER) and not twins & set(PAPER)
    assert max(get_architecture(t).heads for t in twins) < min(c.heads for c, _ in PAPER.values())


def test_unknown_architecture():
    with pytest.raises(TinylmError, match="unknown architecture 'bert3'.*bert6"):
        get_architecture("bert3")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"heads": 5}, "heads"),
        ({"hidden": -64}, "hidden"),
        ({"conv_kernel": [3]}, "conv_kernel"),
        ({"layers": 0}, "layers"),
        ({"dropout": 1.5}, "dropout"),
        ({"width": 3}, "width"),
    ],
)
def test_invalid_architecture_fields_are_named(fields, field):
    with pytest.raises(ConfigError) as err:
        ModelConfig.from_dict(fields)
    assert err.value.field == field


def test_explicit_fields_from_a_config_file():
    cfg = ModelConfig.from_dict(
        {
            "layers": 1,
            "heads": 2,
            "hidden": 32,
            "conv_layers": 1,
            "conv_kernel": [4, 2],
            "conv_channels": 3,
        }
    )
    assert cfg.conv_kernel == (4, 2) and cfg.intermediate == 128


def test_sparse_and_dense_mlm_agree():
    torch.manual_seed(0)
    model = BertForMaskedLM(small("bert1-c2-k3-d64-a8")).eval()
    ids, mask, labels = batch()
    with torch.no_grad():
        sparse = model(ids, mask, labels=labels)
        dense = model(ids, mask).logits
    positions = labels != IGNORE_INDEX
    assert torch.allclose(sparse.logits, dense[positions], atol=1e-5)
    dense_loss = F.cross_entropy(dense.reshape(-1, VOCAB), labels.reshape(-1))
    assert torch.allclose(sparse.loss, dense_loss, atol=1e-6)
    fused = model(ids, mask, labels=labels).loss  # with gradients: the fused loss
    assert torch.allclose(fused, dense_loss, atol=1e-5)


def test_conv_front_end_padding_behaviour():
    """Paper default: a sequence's outputs depend on the padding around it. With
    conv_mask_padding they do not (eval mode, where BatchNorm uses running statistics)."""
    ids = torch.randint(5, VOCAB, (1, 10), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    padded_ids = torch.cat([ids, torch.zeros(1, 6, dtype=ids.dtype)], dim=1)
    padded_ids[0, 10:] = 7  # junk in the padding positions
    padded_mask = torch.cat([mask, torch.zeros(1, 6, dtype=mask.dtype)], dim=1)
    for mask_padding, same in ((False, False), (True, True)):
        torch.manual_seed(0)
        cfg = dataclasses.replace(small("bert1-c2-k3-d64-a12"), conv_mask_padding=mask_padding)
        model = BertForMaskedLM(cfg).eval()
        short = model.bert(ids, mask)
        long = model.bert(padded_ids, padded_mask)[:, :10]
        assert torch.allclose(short, long, atol=1e-5) is same


@pytest.mark.parametrize("name", ["bert1-c2-k3-d16-a3", "bert1-c2-k16x3-d64-a12"])
def test_conv_front_end_channels_last_equals_the_plain_convolutions(name):
    """The front-end convolves channels-last (faster on oneDNN): its outputs, and the
    gradients of its input and weights, equal those of the modules' plain NCHW calls."""
    torch.manual_seed(0)
    cfg = small(name)
    front = BertForMaskedLM(cfg).bert.conv.train()
    x = torch.randn(3, 11, cfg.hidden, requires_grad=True)
    inner = front.layers[0](x.unsqueeze(1))  # a layer's output: channels-last, many channels
    assert inner.is_contiguous(memory_format=torch.channels_last) and not inner.is_contiguous()

    def plain(x):  # today's forward before the layout change: nn.Conv2d as called
        y = x.unsqueeze(1)
        for layer in [*front.layers, front.project]:
            y = F.pad(y, layer.pad) if layer.pad is not None else y
            y = F.gelu(layer.norm(layer.conv(y)))
        return y.squeeze(1)

    grads = []
    for forward in (plain, lambda x: front(x, torch.ones(x.shape[:2]))):
        front.zero_grad()
        x.grad = None
        out = forward(x)
        out.square().sum().backward()
        grads.append((out.detach(), x.grad, [p.grad.clone() for p in front.parameters()]))
    (out_a, dx_a, dw_a), (out_b, dx_b, dw_b) = grads
    assert torch.allclose(out_a, out_b, atol=1e-5)
    assert torch.allclose(dx_a, dx_b, atol=1e-4)
    # within float rounding of the gradients' scale (a conv bias before BatchNorm has a true
    # gradient of zero, so its computed one is rounding alone)
    scale = max(g.abs().max() for g in dw_a)
    for a, b in zip(dw_a, dw_b, strict=True):
        assert (a - b).abs().max() <= 2e-6 * scale


def test_an_untied_decoder_leaves_unread_pieces_alone(tmp_path):
    """Tied, a step's loss moves the input embedding of every piece (the softmax scores them
    all); untied, only of the pieces in the input. The decoder trains, is saved and reloads."""
    ids, mask, labels = batch()
    unread = torch.ones(VOCAB, dtype=torch.bool)
    unread[ids.unique()] = False
    for tied in (True, False):
        torch.manual_seed(0)
        config = dataclasses.replace(small("bert1-c2-k3-d64-a8"), tie_word_embeddings=tied)
        model = BertForMaskedLM(config).eval()
        model(ids, mask, labels=labels).loss.backward()
        embeddings = model.bert.embeddings.word_embeddings.weight.grad
        assert (embeddings[unread].abs().sum() > 0) == tied
        assert (model.cls.predictions.decoder is None) == tied
    decoder = model.cls.predictions.decoder.weight
    assert decoder.grad[unread].abs().sum() > 0  # the output side still learns every piece
    with torch.no_grad():
        dense = model(ids, mask).logits
    expected = F.linear(model.cls.predictions.transform(model.bert(ids, mask)), decoder)
    assert torch.allclose(dense, expected + model.cls.predictions.bias, atol=1e-5)
    model.save_pretrained(tmp_path / "untied")
    loaded = load_pretrained(tmp_path / "untied").eval()
    assert not loaded.config.tie_word_embeddings
    assert torch.equal(loaded.cls.predictions.decoder.weight, decoder)
    assert torch.equal(loaded(ids, mask).logits, dense)


def test_classifier_starts_from_a_pretrained_encoder(tmp_path):
    torch.manual_seed(0)
    mlm = BertForMaskedLM(small("bert1-c2-k3-d64-a8"))
    clf = BertForSequenceClassification(small("bert1-c2-k3-d64-a8"), 3, ["a", "b", "c"])
    pooler_before = clf.bert.pooler.dense.weight.clone()
    clf.load_encoder(mlm)
    mlm_state = mlm.bert.state_dict()
    for key, value in clf.bert.state_dict().items():
        if not key.startswith("pooler."):
            assert torch.equal(value, mlm_state[key]), key
    assert torch.equal(clf.bert.pooler.dense.weight, pooler_before)  # stays random
    ids, mask, _ = batch()
    out = clf(ids, mask, labels=torch.tensor([0, 1, 2]))
    assert out.logits.shape == (3, 3) and out.loss.item() > 0
    clf.save_pretrained(tmp_path / "run" / "model")
    loaded = load_pretrained(tmp_path / "run")  # a run folder holding model/
    assert isinstance(loaded, BertForSequenceClassification)
    assert loaded.label_names == ["a", "b", "c"]
    clf.eval(), loaded.eval()
    assert torch.equal(clf(ids, mask).logits, loaded(ids, mask).logits)


def test_reinit_layers_keeps_the_top_layers_random():
    torch.manual_seed(0)
    mlm = BertForMaskedLM(small("bert6-a3"))
    torch.manual_seed(1)
    clf = BertForSequenceClassification(small("bert6-a3"), 2)
    random_state = {k: v.clone() for k, v in clf.bert.state_dict().items()}
    clf.load_encoder(mlm, reinit_layers=2)
    mlm_state = mlm.bert.state_dict()
    for key, value in clf.bert.state_dict().items():
        top = key.startswith(("encoder.layer.4.", "encoder.layer.5.", "pooler."))
        assert torch.equal(value, random_state[key] if top else mlm_state[key]), key
    assert not torch.equal(  # the two draws differ, so the check above can fail
        random_state["encoder.layer.5.attention.self.query.weight"],
        mlm_state["encoder.layer.5.attention.self.query.weight"],
    )
    with pytest.raises(ConfigError, match="reinit_layers"):
        clf.load_encoder(mlm, reinit_layers=7)


def test_layer_depth_orders_a_models_parameters():
    from tinylm.model.bert import layer_depth

    depths = {
        name: layer_depth(name, 6)
        for name, _ in BertForSequenceClassification(small("bert6-a3"), 2).named_parameters()
    }
    assert depths["bert.embeddings.word_embeddings.weight"] == 0
    assert depths["bert.encoder.layer.0.attention.self.query.weight"] == 1
    assert depths["bert.encoder.layer.5.output.dense.bias"] == 6
    assert depths["bert.pooler.dense.weight"] == depths["classifier.weight"] == 7
    conv = BertForMaskedLM(small("bert1-c2-k3-d64-a8"))
    conv_depths = {name: layer_depth(name, 1) for name, _ in conv.named_parameters()}
    assert conv_depths["bert.conv.layers.0.conv.weight"] == 0
    assert conv_depths["cls.predictions.transform.dense.weight"] == 2


def test_classifier_refuses_another_architecture():
    clf = BertForSequenceClassification(small("bert1-a3"), 2)
    with pytest.raises(TinylmError, match="architecture differs"):
        clf.load_encoder(BertForMaskedLM(small("bert6-a3")))


def test_padding_embedding_is_zero_and_positions_are_bounded():
    model = BertForMaskedLM(small("bert1-a3"))
    assert torch.all(model.bert.embeddings.word_embeddings.weight[0] == 0)
    with pytest.raises(ValueError, match="longer than the model's 128 positions"):
        model(torch.ones(1, 129, dtype=torch.long))


# --- refused files ------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    BertForMaskedLM(small("bert1-c2-k3-d64-a8")).save_pretrained(tmp_path / "m")
    return tmp_path / "m"


def test_truncated_weights_are_refused(saved):
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(TinylmError, match="not a readable safetensors file"):
        load_pretrained(saved)


def test_weights_of_another_architecture_are_refused(saved, tmp_path):
    BertForMaskedLM(small("bert1-a3")).save_pretrained(tmp_path / "other")
    (saved / "model.safetensors").write_bytes((tmp_path / "other/model.safetensors").read_bytes())
    with pytest.raises(TinylmError, match="does not match its config.json: missing"):
        load_pretrained(saved)


def test_config_that_does_not_match_the_weights_is_refused(saved):
    config = json.loads((saved / "config.json").read_text())
    config["architecture"]["hidden"] = 1024
    config["architecture"]["heads"] = 16
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(TinylmError, match="wrong shape"):
        load_pretrained(saved)


def test_a_pickle_is_never_loaded(tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    import pickle

    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(TinylmError, match="never does"):
        load_pretrained(folder)
    config = {
        "format": "tinylm-bert",
        "kind": "masked-lm",
        "architecture": {"layers": 1, "heads": 2, "hidden": 32},
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "model.safetensors").write_bytes(pickle.dumps(Payload()))  # a pickle, renamed
    with pytest.raises(TinylmError, match="not a readable safetensors file"):
        load_pretrained(folder)
    assert not marker.exists()


def test_non_tinylm_config_is_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    save_file({"x": torch.zeros(1)}, tmp_path / "model.safetensors")
    with pytest.raises(TinylmError, match="not a tinylm model config.*tinylm import --hf"):
        load_pretrained(tmp_path)


def test_save_leaves_no_temporary_files(saved):
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "model.safetensors"]


def test_architecture_from_config_file_fields():
    import yaml

    assert resolve_architecture("bert1-a3") == get_architecture("bert1-a3")
    spec = yaml.safe_load("arch:\n  base: bert1-c2-k16x3-d16-a3\n  heads: 4\n  hidden: 256\n")
    cfg = resolve_architecture(spec["arch"])
    assert (cfg.heads, cfg.hidden, cfg.intermediate, cfg.conv_kernel) == (4, 256, 1024, (16, 3))
    explicit = resolve_architecture({"layers": 2, "heads": 2, "hidden": 64, "conv_layers": 1})
    assert (explicit.layers, explicit.conv_layers, explicit.vocab_size) == (2, 1, 30522)
    with pytest.raises(ConfigError, match="^heads: 3 heads do not divide"):
        resolve_architecture({"base": "bert1-a3", "heads": 3, "hidden": 100})
    with pytest.raises(TinylmError, match="unknown architecture"):
        resolve_architecture({"base": "nope"})


# --- recipe knobs: pre-LN layers, dropout off in pre-training -----------------------------------


def test_a_pre_ln_layer_equals_the_hand_written_one():
    """x + attn(LN1(x)), then + ffn(LN2(.)), then the encoder's final LayerNorm: written out
    here with torch primitives from the same parameters."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(
        ModelConfig(layers=1, heads=2, hidden=32, vocab_size=VOCAB), norm="pre"
    )
    model = BertForMaskedLM(cfg).eval()
    with torch.no_grad():  # non-trivial norms, so a swapped LayerNorm would show
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    ids, mask, _ = batch()
    layer = model.bert.encoder.layer[0]
    x = model.bert.embeddings(ids)
    keep = mask.bool()[:, None, None, :]

    def norm(module, v):
        return F.layer_norm(v, (32,), module.weight, module.bias, cfg.layer_norm_eps)

    def attention(v):
        self_ = layer.attention.self
        b, n, _ = v.shape

        def heads(w):
            return w(v).view(b, n, 2, 16).transpose(1, 2)

        q, k, w = heads(self_.query), heads(self_.key), heads(self_.value)
        scores = (q @ k.transpose(-1, -2)) / 4.0
        scores = scores.masked_fill(~keep, float("-inf"))
        context = (scores.softmax(-1) @ w).transpose(1, 2).reshape(b, n, 32)
        return layer.attention.output.dense(context)

    h = x + attention(norm(layer.attention.output.LayerNorm, x))
    ffn = layer.output.dense(F.gelu(layer.intermediate.dense(norm(layer.output.LayerNorm, h))))
    expected = norm(model.bert.encoder.LayerNorm, h + ffn)
    with torch.no_grad():
        got = model.bert(ids, mask)
    assert torch.allclose(got, expected, atol=1e-5)
    post = BertForMaskedLM(dataclasses.replace(cfg, norm="post"))
    assert "bert.encoder.LayerNorm.weight" not in post.state_dict()  # post-LN: BERT's names


def test_pre_ln_models_round_trip_and_hf_export_refuses_them(tmp_path):
    from tinylm.export.hf import export_hf

    torch.manual_seed(0)
    cfg = dataclasses.replace(small("bert1"), norm="pre")
    model = BertForMaskedLM(cfg).eval()
    model.save_pretrained(tmp_path / "m")
    again = load_pretrained(tmp_path / "m").eval()
    ids, mask, _ = batch()
    assert again.config.norm == "pre"
    assert torch.equal(again(ids, mask).logits, model(ids, mask).logits)
    with pytest.raises(TinylmError, match="pre-LN"):
        export_hf(model, tmp_path / "hf")
    with pytest.raises(ConfigError, match="norm: expected post or pre"):
        ModelConfig(norm="sandwich")


def test_dropout_off_changes_nothing_at_eval_and_keeps_the_config():
    from tinylm.model.bert import set_dropout

    torch.manual_seed(0)
    model = BertForMaskedLM(small("bert1")).eval()
    ids, mask, labels = batch()
    before = model(ids, mask, labels=labels).loss
    set_dropout(model, 0.0)
    assert model(ids, mask, labels=labels).loss == before  # eval: dropout never applied
    model.train()
    torch.manual_seed(1)
    first = model(ids, mask, labels=labels).loss
    torch.manual_seed(2)
    assert model(ids, mask, labels=labels).loss == first  # training, yet deterministic: no dropout
    assert model.config.dropout == 0.1 and model.config.attention_dropout == 0.1


def test_mean_pooling_reads_the_real_tokens_and_round_trips(tmp_path):
    from tinylm.export.hf import export_hf

    torch.manual_seed(0)
    cfg = small("bert1-a3")
    model = BertForSequenceClassification(cfg, 3, pooling="mean").eval()
    cls = BertForSequenceClassification(cfg, 3).eval()
    assert model.state_dict().keys() == cls.state_dict().keys()  # the same weights, read otherwise
    ids, mask, _ = batch()
    hidden = model.bert(ids, mask)
    weights = mask[:, :, None].float()
    mean = (hidden * weights).sum(1) / weights.sum(1)
    expected = model.classifier(torch.tanh(model.bert.pooler.dense(mean)))
    assert torch.allclose(model(ids, mask).logits, expected, atol=1e-6)
    # padding never reaches the mean: one text alone scores as it does padded in a batch
    alone = model(ids[2:3, :8], mask[2:3, :8]).logits
    assert torch.allclose(alone, model(ids, mask).logits[2:3], atol=1e-5)
    model.save_pretrained(tmp_path / "m")
    again = load_pretrained(tmp_path / "m").eval()
    assert again.pooling == "mean" and torch.equal(again(ids, mask).logits, model(ids, mask).logits)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["pooling"] == "mean"
    cls.save_pretrained(tmp_path / "c")  # [CLS] pooling writes the config it always wrote
    assert "pooling" not in json.loads((tmp_path / "c" / "config.json").read_text())
    assert load_pretrained(tmp_path / "c").pooling == "cls"
    with pytest.raises(TinylmError, match="pools by mean"):
        export_hf(model, tmp_path / "hf")
    with pytest.raises(ConfigError, match="pooling"):
        BertForSequenceClassification(cfg, 3, pooling="max")
