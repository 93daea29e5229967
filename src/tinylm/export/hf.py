"""Conversion between tinylm models and Hugging Face's BERT format.

Our parameter names are Hugging Face's, so conversion is mostly bookkeeping:
- export: the config becomes a `BertConfig` dict, and the MLM head's tied projection is
  written out as `cls.predictions.decoder.weight` / `.bias`; `transformers`' BertForMaskedLM /
  BertForSequenceClassification load the folder and give the same outputs. `export_folder`
  adds the tokenizer files (vocab.txt, tokenizer.json, tokenizer_config.json,
  special_tokens_map.json: the same ids as tinylm's tokenizer) and a model card, so that
  `transformers.pipeline(task, model=folder)` needs no other file.
- import: a Hugging Face BERT folder (config.json + model.safetensors; for example the published
  compact BERTs) becomes a tinylm masked-LM model. Pickled `pytorch_model.bin` files are refused.
A model with a convolutional front-end or pre-LN layers has no Hugging Face equivalent and is
refused.
"""

import json
import os
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tinylm.config import ModelConfig
from tinylm.errors import TinylmError
from tinylm.export.card import model_card, run_folder
from tinylm.files import atomic_path, write_text
from tinylm.model.bert import (
    BertForMaskedLM,
    BertForSequenceClassification,
    _check_state,
    init_weights,
    load_pretrained,
    model_folder,
)
from tinylm.tokenizer import SPECIAL_TOKENS, Tokenizer, tokenizer_for_model, vocabulary_text

DECODER_WEIGHT = "cls.predictions.decoder.weight"
DECODER_BIAS = "cls.predictions.decoder.bias"
WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
# Hugging Face's names for tinylm's special tokens (SPECIAL_TOKENS' order)
SPECIAL_TOKEN_NAMES = dict(
    zip(
        ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token"),
        SPECIAL_TOKENS,
        strict=True,
    )
)


def hf_config(model: BertForMaskedLM | BertForSequenceClassification) -> dict:
    c = model.config
    config = {
        "model_type": "bert",
        "architectures": [
            "BertForMaskedLM"
            if isinstance(model, BertForMaskedLM)
            else "BertForSequenceClassification"
        ],
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden,
        "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads,
        "intermediate_size": c.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": c.dropout,
        "attention_probs_dropout_prob": c.attention_dropout,
        "max_position_embeddings": c.max_length,
        "type_vocab_size": c.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": c.layer_norm_eps,
        "pad_token_id": c.pad_id,
        "position_embedding_type": "absolute",
        "tie_word_embeddings": c.tie_word_embeddings,
    }
    if isinstance(model, BertForSequenceClassification):
        config["id2label"] = dict(enumerate(model.label_names))
        config["label2id"] = {name: i for i, name in enumerate(model.label_names)}
        # softmax over the labels, as tinylm scores them (also for two labels)
        config["problem_type"] = "single_label_classification"
    return config


def check_exportable(model: BertForMaskedLM | BertForSequenceClassification) -> None:
    """Refuses what Hugging Face's BERT cannot hold."""
    if model.config.causal:
        raise TinylmError(
            "this model is causal (a decoder); Hugging Face's BERT attends both ways and "
            "cannot hold it; export it with --onnx"
        )
    if model.config.conv_layers:
        raise TinylmError(
            "this model has a convolutional front-end, which Hugging Face's BERT cannot hold; "
            "only conv-free architectures are exported"
        )
    if model.config.norm != "post":
        raise TinylmError(
            "this model has pre-LN layers; Hugging Face's BERT is post-LN and cannot hold them"
        )
    if model.config.feed_forward != "gelu":
        raise TinylmError(
            "this model's feed-forward is gated (geglu); Hugging Face's BERT's is not; export "
            "it with --onnx"
        )
    if model.config.positions != "learned":
        raise TinylmError(
            f"this model places tokens by {model.config.positions} positions; Hugging Face's "
            "BERT learns absolute ones; export it with --onnx"
        )
    if isinstance(model, BertForSequenceClassification) and model.pooling != "cls":
        raise TinylmError(
            f"this classifier pools by {model.pooling}; Hugging Face's "
            "BertForSequenceClassification reads the [CLS] position only; fine-tune with "
            "`--pooling cls` to export"
        )


def export_hf(
    model: BertForMaskedLM | BertForSequenceClassification, out_dir: str | os.PathLike
) -> Path:
    """Writes `model` as a Hugging Face BERT folder (config.json, model.safetensors)."""
    check_exportable(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if isinstance(model, BertForMaskedLM):  # the tied projection, spelt out (cloned: safetensors
        if model.config.tie_word_embeddings:  # stores no shared tensors)
            state[DECODER_WEIGHT] = state[WORD_EMBEDDINGS].clone()
        state[DECODER_BIAS] = state["cls.predictions.bias"].clone()
    with atomic_path(out / "model.safetensors") as temporary:
        save_file(state, temporary, metadata={"format": "pt"})
    write_text(out / "config.json", json.dumps(hf_config(model), indent=2) + "\n")
    return out


def tokenizer_files(tokenizer: Tokenizer, max_length: int) -> dict[str, str]:
    """Hugging Face's tokenizer files for `tokenizer`: its vocabulary, its whole pipeline as a
    `tokenizers` file, and the settings `BertTokenizer` rebuilds the pipeline from (the same
    lower-casing, accent stripping and Chinese-character splitting as tinylm's)."""
    normalization = tokenizer.normalization()
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": normalization["lowercase"],
        "strip_accents": normalization["strip_accents"],
        "tokenize_chinese_chars": normalization["handle_chinese_chars"],
        "model_max_length": max_length,  # what `truncation=True` cuts texts to
        "padding_side": "right",
        "truncation_side": "right",
        **SPECIAL_TOKEN_NAMES,
    }
    return {
        "vocab.txt": vocabulary_text(tokenizer.vocabulary()),
        "tokenizer.json": tokenizer.to_json() + "\n",
        "tokenizer_config.json": json.dumps(config, indent=2) + "\n",
        "special_tokens_map.json": json.dumps(SPECIAL_TOKEN_NAMES, indent=2) + "\n",
    }


def export_folder(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
) -> Path:
    """The model of a run or model folder as a Hugging Face folder that `transformers` loads
    alone: config and weights, the tokenizer files, and a model card (README.md). The tokenizer
    is the model's own vocab.txt, else the data directory's (`tokenizer_for_model`)."""
    model = load_pretrained(source)
    check_exportable(model)  # before looking for a vocabulary it would not need
    folder = model_folder(source)
    tokenizer = tokenizer_for_model(folder, data_dir, max_length=model.config.max_length)
    if tokenizer.vocab_size != model.config.vocab_size:
        raise TinylmError(
            f"the vocabulary has {tokenizer.vocab_size:,} tokens but the model in {folder} "
            f"expects {model.config.vocab_size:,}: it is not the model's vocabulary"
        )
    out = export_hf(model, out_dir)
    for name, text in tokenizer_files(tokenizer, model.config.max_length).items():
        write_text(out / name, text)
    run = run_folder(source)
    name = Path(run or source).resolve().name
    write_text(out / "README.md", model_card(model, run, name=name, location=str(out)))
    return out


def model_config_from_hf(config: dict) -> ModelConfig:
    if config.get("model_type") != "bert":
        raise TinylmError(f"not a BERT checkpoint (model_type {config.get('model_type')!r})")
    if config.get("hidden_act", "gelu") != "gelu":
        raise TinylmError(
            f"unsupported activation {config['hidden_act']!r}: tinylm uses exact GELU"
        )
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise TinylmError("only absolute position embeddings are supported")
    return ModelConfig(
        layers=config["num_hidden_layers"],
        heads=config["num_attention_heads"],
        hidden=config["hidden_size"],
        intermediate=config["intermediate_size"],
        vocab_size=config["vocab_size"],
        max_length=config["max_position_embeddings"],
        type_vocab_size=config.get("type_vocab_size", 2),
        dropout=config.get("hidden_dropout_prob", 0.1),
        attention_dropout=config.get("attention_probs_dropout_prob", 0.1),
        layer_norm_eps=config.get("layer_norm_eps", 1e-12),
        pad_id=config.get("pad_token_id") or 0,
        tie_word_embeddings=config.get("tie_word_embeddings", True),
    )


def _hf_name(key: str) -> str:
    """Older checkpoints name LayerNorm parameters gamma/beta; bare BertModel files lack "bert."."""
    key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace(
        "LayerNorm.beta", "LayerNorm.bias"
    )
    if key.startswith(("embeddings.", "encoder.", "pooler.")):
        key = "bert." + key
    return key


def import_hf(hf_dir: str | os.PathLike) -> tuple[BertForMaskedLM, list[str]]:
    """A Hugging Face BERT folder as a tinylm masked-LM model, and notes on what was not in it
    (an MLM head missing from the checkpoint is initialised at random, and said so)."""
    hf_dir = Path(hf_dir)
    config_path, weights_path = hf_dir / "config.json", hf_dir / "model.safetensors"
    if not config_path.is_file():
        raise TinylmError(f"no config.json in {hf_dir}")
    if not weights_path.is_file():
        pickled = [p.name for p in hf_dir.glob("*.bin")]
        hint = f" ({', '.join(pickled)} is a pickle, which tinylm never loads)" if pickled else ""
        raise TinylmError(f"no model.safetensors in {hf_dir}{hint}")
    try:
        config = json.loads(config_path.read_text())
        state = load_file(weights_path)
    except (json.JSONDecodeError, SafetensorError, OSError) as err:
        raise TinylmError(f"cannot read the checkpoint in {hf_dir}: {err}") from None
    model = BertForMaskedLM(model_config_from_hf(config))
    init_weights(model)
    state = {_hf_name(k): v for k, v in state.items()}
    if DECODER_BIAS in state and "cls.predictions.bias" not in state:
        state["cls.predictions.bias"] = state[DECODER_BIAS]
    wanted = model.state_dict()
    notes = []
    head = [k for k in wanted if k.startswith("cls.")]
    if not all(k in state for k in head):
        notes.append("the checkpoint has no MLM head: it was initialised at random")
        state.update({k: wanted[k] for k in head})
    dropped = sorted(k for k in state if k not in wanted)  # pooler, NSP head, tied decoder
    state = {k: v for k, v in state.items() if k in wanted}
    _check_state(model, state, weights_path)
    model.load_state_dict(state)
    if dropped:
        notes.append(
            f"left out {len(dropped)} tensor(s) a masked LM does not use, e.g. {dropped[0]}"
        )
    return model, notes
