"""Hugging Face interoperability: our outputs equal transformers' for the same weights, in both
conversion directions (fp32, padding in the batch); an exported run loads in
`transformers.pipeline` alone, with its tokenizer and model card."""

import dataclasses
import json
import re

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from datagen import make_data_dir, tiny_vocab
from tinylm.cli import main
from tinylm.errors import TinylmError
from tinylm.export.hf import export_hf, import_hf
from tinylm.model import BertForMaskedLM, BertForSequenceClassification, load_pretrained
from tinylm.model.accounting import parameter_counts
from tinylm.model.architectures import get_architecture
from tinylm.tokenizer import load_tokenizer

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


def test_an_untied_decoder_round_trips_through_transformers(tmp_path):
    cfg = dataclasses.replace(get_architecture("bert1"), tie_word_embeddings=False)
    torch.manual_seed(0)
    ours = BertForMaskedLM(cfg).eval()
    export_hf(ours, tmp_path / "hf")
    theirs = transformers.BertForMaskedLM.from_pretrained(tmp_path / "hf").eval()
    decoder = theirs.cls.predictions.decoder.weight
    assert torch.equal(decoder, ours.cls.predictions.decoder.weight)
    assert not torch.equal(decoder, theirs.bert.embeddings.word_embeddings.weight)
    ids, mask = padded_batch()
    assert_close(our_outputs(ours, ids, mask), hf_outputs(theirs, ids, mask), mask)
    back, _ = import_hf(tmp_path / "hf")
    assert not back.config.tie_word_embeddings
    assert torch.equal(back.cls.predictions.decoder.weight, ours.cls.predictions.decoder.weight)


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
    theirs, loading = transformers.BertForSequenceClassification.from_pretrained(
        tmp_path / "hf", output_loading_info=True
    )
    theirs.eval()
    # every tensor has its place in Hugging Face's model (pooler and head included): none is
    # left to a random initialisation, none is dropped
    assert not loading["missing_keys"] and not loading["unexpected_keys"]
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


@pytest.mark.parametrize(
    "arch, message",
    [
        (get_architecture("bert1-c2-k3-d16-a2"), "convolutional front-end"),
        (dataclasses.replace(get_architecture("bert1-a3"), norm="pre"), "pre-LN layers"),
        (get_architecture("gpt1-a3"), "causal"),
    ],
)
def test_what_hugging_face_cannot_hold_is_refused(arch, message, tmp_path, capsys):
    with pytest.raises(TinylmError, match=message):
        export_hf(BertForMaskedLM(arch), tmp_path / "direct")
    BertForSequenceClassification(arch, 2).save_pretrained(tmp_path / "model")
    # refused before any vocabulary is looked for: no data directory is needed to hear why
    assert main(["export", str(tmp_path / "model"), "--hf", str(tmp_path / "hf")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "hf").exists()


def test_pickled_checkpoints_are_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(TinylmError, match="pytorch_model.bin is a pickle"):
        import_hf(tmp_path)


def test_cli_export_and_import_round_trip(tmp_path, capsys):
    torch.manual_seed(0)
    model = BertForMaskedLM(get_architecture("bert1-a3")).eval()
    model.save_pretrained(tmp_path / "run" / "model")
    # the model's vocabulary (a full-size one: the tiny one and filler pieces)
    vocab = tiny_vocab() + [f"##filler{i}" for i in range(30522 - len(tiny_vocab()))]
    (tmp_path / "run/model/vocab.txt").write_text("\n".join(vocab) + "\n")
    assert main(["export", str(tmp_path / "run"), "--hf", str(tmp_path / "hf")]) == 0
    card = (tmp_path / "hf/README.md").read_text()  # no run record: what the model holds
    assert "masked language model" in card and "1 layer, 3 attention heads, hidden size 192" in card
    assert "## Architecture" in card and "## Data" not in card and "## How" not in card
    assert main(["import", "--hf", str(tmp_path / "hf"), "--out", str(tmp_path / "back")]) == 0
    back = load_pretrained(tmp_path / "back").eval()
    ids, mask = padded_batch()
    with torch.no_grad():
        assert torch.equal(back(ids, mask).logits, model(ids, mask).logits)
    assert main(["export", str(tmp_path / "nothing"), "--hf", str(tmp_path / "x")]) == 2
    assert "no tinylm model" in capsys.readouterr().err


# --- a fine-tuned run, exported whole -----------------------------------------------------------

# hidden 64: at 32 the separable tiny task stalls (tests/test_training.py)
TINY_ARCH = {"layers": 1, "heads": 2, "hidden": 64, "vocab_size": len(tiny_vocab())}
# accents, capitals, a Chinese character, lengths that pad in a batch, and one text past the
# model's 128 positions (truncated by both)
TEXTS = [
    "the war minister and the election",
    "STOCK profit Shares at the Café",
    "software chip internet",
    "Match goal league naïve 北京",
    "the league " * 90,
]
PROBABILITY_TOLERANCE = 1e-5


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_argv(command, config, data_dir, cache_dir, out, *extra):
    """`tinylm pretrain|finetune` on the tiny data, quietly."""
    return [
        *(command, "--config", config, "--data-dir", data_dir, "--cache-dir", cache_dir),
        *("--out", out, "--quiet", *extra),
    ]


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    """A tiny classifier fine-tuned on the tiny AG News (module-wide: the tests only read it)."""
    root = tmp_path_factory.mktemp("finetuned")
    data_dir = make_data_dir(root / "data")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump({"arch": TINY_ARCH}))
    argv = run_argv("finetune", config, data_dir, root / "cache", root / "ft", "--task", "agnews")
    argv += ["--scratch", "--train-per-label", 25, "--test-per-label", 15, "--epochs", 20]
    argv += ["--batch-size", 8, "--lr", 2e-3, "--val-fraction", 0.1, "--pooling", "cls"]
    # fp32 on every machine (auto trains in bf16 where the CPU has it), so that the probe
    # sentences meet the same classifier; after 10 epochs the first sat on a class boundary
    # that fp32 and bf16 training put on opposite sides
    argv += ["--precision", "fp32"]
    assert main([str(a) for a in argv]) == 0
    return {"run": root / "ft", "data_dir": data_dir, "cache_dir": root / "cache"}


@pytest.fixture
def exported(finetuned, tmp_path, capsys):
    # no --data-dir: a fine-tuned model ships with its vocabulary
    code, out, err = cli(capsys, "export", finetuned["run"], "--hf", tmp_path / "hf")
    assert code == 0, err
    return tmp_path / "hf"


def test_the_export_holds_every_file_a_loader_needs(exported):
    names = {p.name for p in exported.iterdir()}
    assert names == {
        "config.json",
        "model.safetensors",
        "vocab.txt",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "README.md",
    }
    assert (exported / "vocab.txt").read_text().splitlines() == tiny_vocab()
    settings = json.loads((exported / "tokenizer_config.json").read_text())
    assert settings["tokenizer_class"] == "BertTokenizer" and settings["do_lower_case"] is True
    assert settings["model_max_length"] == 128


def test_pipeline_alone_gives_tinylm_predict_probabilities(
    finetuned, exported, capsys, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    classifier = transformers.pipeline("text-classification", model=str(exported), device="cpu")
    theirs = classifier(TEXTS, top_k=None, truncation=True, batch_size=3)  # padded batches
    code, out, err = cli(capsys, "predict", finetuned["run"], "--json", *TEXTS)
    assert code == 0, err
    ours = [json.loads(line) for line in out.splitlines()]
    assert len(theirs) == len(ours) == len(TEXTS)
    for their_scores, our_row in zip(theirs, ours, strict=True):
        scores = {entry["label"]: entry["score"] for entry in their_scores}
        assert scores.keys() == our_row["probabilities"].keys()  # tinylm's label names
        for label, probability in our_row["probabilities"].items():
            assert abs(scores[label] - probability) <= PROBABILITY_TOLERANCE
        assert their_scores[0]["label"] == our_row["label"]
    # the classifier learnt the task, so equal probabilities mean something
    assert [row["label"] for row in ours[:3]] == ["World", "Business", "Sci/Tech"]


def test_tokenizer_encodes_as_tinylm_does(finetuned, exported, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    theirs = transformers.AutoTokenizer.from_pretrained(exported)
    ours = load_tokenizer(vocab_file=finetuned["run"] / "model" / "vocab.txt")  # predict's
    assert len(theirs) == ours.vocab_size
    for text in [*TEXTS, "ÉCOLE Straße résumé", "it's 3.14, isn't it?"]:
        ids = theirs(text, truncation=True)["input_ids"]
        assert ids == ours.encode(text)
    assert theirs("Café")["input_ids"] == ours.encode("cafe")  # lower-cased, accents stripped


def _yaml_block(card: str) -> dict:
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", card, re.S).group(1))


def test_the_model_card_says_what_the_run_did(finetuned, exported, capsys):
    card = (exported / "README.md").read_text()
    summary = json.loads((finetuned["run"] / "summary.json").read_text())
    assert "pipeline_tag: text-classification" in card
    assert "task `agnews` (4 labels), fine-tuned from scratch" in card
    for i, label in enumerate(["World", "Sports", "Business", "Sci/Tech"]):
        assert f"| {i} | {label} |" in card
    assert f"| test (60 examples) | {summary['test_accuracy']:.4f} |" in card
    assert f"{summary['test_macro_f1']:.4f}" in card
    assert "sampled with seed 0: 92 train, 8 validation, 60 test examples" in card
    assert "train_per_label 25, test_per_label 15, val_fraction 0.1" in card
    assert "1 layer, 2 attention heads, hidden size 64" in card
    assert f'pipeline("text-classification", model="{exported}")' in card
    # the card's config makes the same classifier again, with the card's command
    config = _yaml_block(card)
    assert config["arch"]["hidden"] == 64 and config["train"]["epochs"] == 20
    run_yaml = exported.parent / "run.yaml"
    run_yaml.write_text(yaml.safe_dump(config))
    again = exported.parent / "again"
    assert "--config run.yaml --scratch --out RUN --data-dir DATA" in card
    data_dir, cache_dir = finetuned["data_dir"], finetuned["cache_dir"]
    argv = run_argv("finetune", run_yaml, data_dir, cache_dir, again, "--scratch")
    code, _, err = cli(capsys, *argv)
    assert code == 0, err
    redone = json.loads((again / "summary.json").read_text())
    assert redone["test_accuracy"] == summary["test_accuracy"]


def test_an_export_refuses_mean_pooling_and_says_how_to_get_one(finetuned, tmp_path, capsys):
    """tinylm's default classifier pools by the mean, which HF's BERT head cannot."""
    cls = load_pretrained(finetuned["run"])
    mean = BertForSequenceClassification(
        cls.config, len(cls.label_names), cls.label_names, pooling="mean"
    )
    mean.load_state_dict(cls.state_dict())
    mean.save_pretrained(tmp_path / "model")
    code, _, err = cli(capsys, "export", tmp_path / "model", "--hf", tmp_path / "hf")
    assert code == 2 and "--pooling cls" in err and "Traceback" not in err
    assert not (tmp_path / "hf").exists()


def test_an_export_refuses_a_vocabulary_of_another_size(finetuned, tmp_path, capsys):
    model = tmp_path / "model"
    load_pretrained(finetuned["run"]).save_pretrained(model)
    (model / "vocab.txt").write_text("\n".join(tiny_vocab()[:-1]) + "\n")
    code, _, err = cli(capsys, "export", model, "--hf", tmp_path / "hf")
    assert code == 2 and "228 tokens but the model" in err


# --- a pre-trained run --------------------------------------------------------------------------


def test_a_pretrained_run_exports_with_its_own_vocabulary(tmp_path, capsys, monkeypatch):
    data_dir = make_data_dir(tmp_path / "data")
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({"arch": TINY_ARCH, "corpus": {"ws": 96}}))
    argv = run_argv("pretrain", config, data_dir, tmp_path / "cache", tmp_path / "pre")
    code, _, err = cli(capsys, *argv, "--epochs", 1, "--batch-size", 16)
    assert code == 0, err
    # a pre-training run keeps its vocabulary beside its weights: no data directory needed
    assert (tmp_path / "pre/model/vocab.txt").read_text().splitlines() == tiny_vocab()
    code, _, err = cli(capsys, "export", tmp_path / "pre", "--hf", tmp_path / "hf")
    assert code == 0, err
    assert (tmp_path / "hf/vocab.txt").read_text().splitlines() == tiny_vocab()
    summary = json.loads((tmp_path / "pre/summary.json").read_text())
    card = (tmp_path / "hf/README.md").read_text()
    assert "pipeline_tag: fill-mask" in card and "masked language model" in card
    assert "Corpus `wikipedia`: the first 96 paragraphs" in card
    assert f"{summary['tokens']:,} tokens" in card
    assert f"Validation MLM loss {summary['val_loss']:.4f}" in card
    assert _yaml_block(card)["corpus"]["ws"] == 96
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fill = transformers.pipeline("fill-mask", model=str(tmp_path / "hf"), device="cpu")
    assert len(fill("the river [MASK] the city", top_k=3)) == 3


@pytest.mark.realdata
def test_exported_bert_base_tokenizer_matches_on_real_text(real_data_dir, tmp_path, monkeypatch):
    """The tokenizer files written for the bert-base-uncased vocabulary, loaded by
    transformers, against tinylm's tokenizer on real paragraphs (a third past 128 tokens)."""
    from tinylm import layout
    from tinylm.data.io import iter_jsonl
    from tinylm.export.hf import tokenizer_files
    from tinylm.files import write_text

    ours = load_tokenizer(real_data_dir)
    for name, text in tokenizer_files(ours, 128).items():
        write_text(tmp_path / name, text)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path)
    texts = [
        record["text"]
        for i, record in enumerate(iter_jsonl(real_data_dir / layout.WIKIPEDIA))
        if i % 600 == 0
    ]
    texts += [
        "Ünïcödé ŝtrange ĉharacters",
        "北京大学 in Beijing",
        "x\u2028y\u00a0z",
        "\x00\ufffd ok",
    ]
    mismatches = [t for t in texts if ours.encode(t) != theirs(t, truncation=True)["input_ids"]]
    assert mismatches == []
    assert any(len(ours.encode(t)) == 128 for t in texts)  # truncation was exercised
