"""tinylm's BERT, in one file: encoder, convolutional front-end, MLM and classification heads.

The math and the parameter names follow Hugging Face's `BertModel` one-to-one (post-LN layers,
exact GELU, learned positions, LayerNorm eps 1e-12, an MLM projection tied to the word
embeddings (or, untied, `cls.predictions.decoder`) with its own bias), so conv-free weights
convert both ways without loss (export/hf.py).
Two departures, both invisible in the weights:
- attention runs through `F.scaled_dot_product_attention` (fused kernels);
- the MLM head takes only the positions that carry a loss (sparse prediction): training never
  computes vocabulary logits for the ~85% of positions that are not masked.

The optional front-end is the paper's BERT-1 convolutional block (see ConvFrontEnd), placed
between the embeddings and the transformer layers, under `bert.conv`.
"""

import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from tinylm.config import POOLINGS, ModelConfig
from tinylm.errors import ConfigError, TinylmError
from tinylm.files import atomic_path, write_text
from tinylm.model.mlm_loss import masked_lm_loss
from tinylm.model.positions import Rotary, alibi_bias

IGNORE_INDEX = -100  # label of positions that carry no MLM loss
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "tinylm-bert"


# --- encoder ----------------------------------------------------------------------------------


class Embeddings(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden, padding_idx=cfg.pad_id)
        # rotary and ALiBi models place tokens inside attention instead (positions.py)
        learned = cfg.positions == "learned"
        self.position_embeddings = nn.Embedding(cfg.max_length, cfg.hidden) if learned else None
        self.max_length = cfg.max_length
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, input_ids, token_type_ids=None):
        length = input_ids.shape[1]
        if length > self.max_length:
            raise ValueError(
                f"sequence of {length} tokens is longer than the model's "
                f"{self.max_length} positions"
            )
        if token_type_ids is None:
            types_ = self.token_type_embeddings.weight[0]  # every token is of type 0
        else:
            types_ = self.token_type_embeddings(token_type_ids)
        x = self.word_embeddings(input_ids) + types_
        if self.position_embeddings is not None:
            x = x + self.position_embeddings.weight[:length]
        return self.dropout(self.LayerNorm(x))


class ConvLayer(nn.Module):
    """Conv2d (padding "same") -> BatchNorm2d -> GELU."""

    def __init__(
        self, channels_in: int, channels_out: int, kernel: tuple[int, int], causal: bool = False
    ):
        super().__init__()
        # An even kernel (the paper's 16x3) cannot pad symmetrically: pad explicitly, the extra
        # row after, as PyTorch's own "same" does (it would warn and copy on every call). A
        # causal one pads the sequence axis before the tokens only, so no row reads a later one.
        explicit = causal or any(k % 2 == 0 for k in kernel)
        padding = 0 if explicit else "same"
        self.conv = nn.Conv2d(channels_in, channels_out, kernel, padding=padding)
        self.norm = nn.BatchNorm2d(channels_out)
        self.pad = same_padding(kernel, causal) if explicit else None

    def forward(self, x):
        if self.pad is not None:
            x = F.pad(x, self.pad)
        # oneDNN convolves few channels much faster channels-last (NHWC); the layout of the
        # weight picks it, and the layers after follow their input's. A fresh tensor, since
        # `contiguous(memory_format=...)` keeps the NCHW strides of a one-channel weight.
        weight = self.conv.weight
        weight = torch.empty_like(weight, memory_format=torch.channels_last).copy_(weight)
        x = F.conv2d(x, weight, self.conv.bias, padding=self.conv.padding)
        return F.gelu(self.norm(x))


def same_padding(kernel: tuple[int, int], causal: bool = False) -> tuple[int, int, int, int]:
    """F.pad's (left, right, top, bottom) that keeps the size under a stride-1 `kernel`; causal:
    all the sequence axis's padding on top (before the first token)."""
    (height, width) = kernel
    if causal:
        return ((width - 1) // 2, width // 2, height - 1, 0)
    return ((width - 1) // 2, width // 2, (height - 1) // 2, height // 2)


class ConvFrontEnd(nn.Module):
    """The paper's convolutional block before the transformer layer(s) of BERT-1 variants.

    The (sequence x hidden) activations are one-channel images: `conv_layers` x
    [Conv2d(kernel, "same") -> BatchNorm2d -> GELU] with channels 1 -> d -> ... -> d, then a 1x1
    Conv2d back to one channel with BatchNorm2d and GELU.

    Padding. As in the paper (the default), padded positions are convolved too: a kernel taller
    than 1 mixes the padding rows into the last real tokens, so a sequence's output depends on
    how much padding its batch carries. `conv_mask_padding=True` zeroes the padding rows before
    the block and after each of its layers (hence also after the block). Zeroing only before
    and after would not do: a layer turns zero rows into non-zero ones (bias, BatchNorm, GELU),
    which the next layer's kernel then reads. With the option, a sequence's outputs in eval mode
    do not depend on the padding around it; in training, BatchNorm's batch statistics still
    count the zeroed rows.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        channels = [1] + [cfg.conv_channels] * cfg.conv_layers
        self.layers = nn.ModuleList(
            ConvLayer(c_in, c_out, cfg.conv_kernel, cfg.causal)
            for c_in, c_out in itertools.pairwise(channels)
        )
        self.project = ConvLayer(cfg.conv_channels, 1, (1, 1))
        self.mask_padding = cfg.conv_mask_padding

    def forward(self, x, attention_mask):
        # (batch, 1, sequence, 1): broadcasts over channels and the hidden axis
        keep = attention_mask[:, None, :, None].to(x.dtype) if self.mask_padding else None
        y = x.unsqueeze(1)  # (batch, 1 channel, sequence, hidden)
        if keep is not None:
            y = y * keep
        for layer in [*self.layers, self.project]:
            y = layer(y)
            if keep is not None:
                y = y * keep
        return y.squeeze(1)


class SelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.heads = cfg.heads
        self.query = nn.Linear(cfg.hidden, cfg.hidden)
        self.key = nn.Linear(cfg.hidden, cfg.hidden)
        self.value = nn.Linear(cfg.hidden, cfg.hidden)
        self.dropout_p = cfg.attention_dropout
        self.rotary = Rotary(cfg.head_size, cfg.max_length) if cfg.positions == "rotary" else None

    def forward(self, x, mask):
        batch, length, hidden = x.shape

        def heads(projection):  # (batch, heads, length, head size)
            return projection(x).view(batch, length, self.heads, -1).transpose(1, 2)

        query, key = heads(self.query), heads(self.key)
        if self.rotary is not None:
            query, key = self.rotary(query), self.rotary(key)
        if mask.is_floating_point():  # an ALiBi bias: in the queries' dtype under autocast
            mask = mask.to(query.dtype)
        y = F.scaled_dot_product_attention(
            query,
            key,
            heads(self.value),
            attn_mask=mask,
            dropout_p=self.dropout_p if self.training else 0.0,
        )
        return y.transpose(1, 2).reshape(batch, length, hidden)


class AddNorm(nn.Module):
    """dense -> dropout -> residual add -> LayerNorm (HF's BertSelfOutput and BertOutput).
    In a pre-LN layer the same LayerNorm normalises the sub-layer's input instead."""

    def __init__(self, width_in: int, cfg: ModelConfig):
        super().__init__()
        self.dense = nn.Linear(width_in, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.dropout)

    def project(self, x):
        return self.dropout(self.dense(x))

    def forward(self, x, residual):
        return self.LayerNorm(self.project(x) + residual)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.self = SelfAttention(cfg)
        self.output = AddNorm(cfg.hidden, cfg)

    def forward(self, x, mask):
        return self.output(self.self(x, mask), x)


class Intermediate(nn.Module):
    """The feed-forward's first half: GELU(dense(x)), or with `geglu` GELU(a) * b for the two
    halves a, b of a dense layer twice as wide."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gated = cfg.feed_forward == "geglu"
        width = cfg.intermediate * (2 if self.gated else 1)
        self.dense = nn.Linear(cfg.hidden, width)

    def forward(self, x):
        if self.gated:
            gate, value = self.dense(x).chunk(2, dim=-1)
            return F.gelu(gate) * value
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    """A transformer layer: attention, then a GELU feed-forward, each with a residual add and a
    LayerNorm, after the add (post-LN, BERT's) or before the sub-layer (pre-LN)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attention = Attention(cfg)
        self.intermediate = Intermediate(cfg)
        self.output = AddNorm(cfg.intermediate, cfg)
        self.pre_norm = cfg.norm == "pre"

    def forward(self, x, mask):
        if self.pre_norm:
            attention, feed_forward = self.attention.output, self.output
            x = x + attention.project(self.attention.self(attention.LayerNorm(x), mask))
            return x + feed_forward.project(self.intermediate(feed_forward.LayerNorm(x)))
        x = self.attention(x, mask)
        return self.output(self.intermediate(x), x)


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.layer = nn.ModuleList(Layer(cfg) for _ in range(cfg.layers))
        # pre-LN layers leave the residual stream unnormalised: one LayerNorm closes the stack
        self.LayerNorm = (
            nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps) if cfg.norm == "pre" else None
        )

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x if self.LayerNorm is None else self.LayerNorm(x)


class Pooler(nn.Module):
    """BERT's pooler over the [CLS] position (`cls`), over the mean of the real tokens
    (`mean`: masked-LM pre-training never trains [CLS] to stand for the text, while every
    token's vector is trained), or over the last real token (`last`: in a causal model the
    only position that has read the whole text)."""

    def __init__(self, cfg: ModelConfig, pooling: str = "cls"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ConfigError("pooling", f"expected one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.pooling = pooling
        self.dense = nn.Linear(cfg.hidden, cfg.hidden)

    def forward(self, hidden, attention_mask):
        if self.pooling == "cls":
            return torch.tanh(self.dense(hidden[:, 0]))
        if self.pooling == "last":  # right padding: the last real token is at length - 1
            last = attention_mask.sum(1).clamp(min=1) - 1  # gather: no batch size in a graph
            index = last[:, None, None].expand(-1, 1, hidden.shape[-1])
            return torch.tanh(self.dense(hidden.gather(1, index).squeeze(1)))
        weights = attention_mask[:, :, None].to(hidden.dtype)
        mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
        return torch.tanh(self.dense(mean))


class Bert(nn.Module):
    """Embeddings -> (convolutional front-end) -> transformer layers (-> pooler)."""

    def __init__(self, cfg: ModelConfig, pooling: str | None):
        super().__init__()
        self.embeddings = Embeddings(cfg)
        self.conv = ConvFrontEnd(cfg) if cfg.conv_layers else None
        self.encoder = Encoder(cfg)
        self.pooler = Pooler(cfg, pooling) if pooling else None
        self.alibi = cfg.positions == "alibi"
        self.heads = cfg.heads
        self.causal = cfg.causal

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids, dtype=torch.bool)
        attention_mask = attention_mask.bool()
        x = self.embeddings(input_ids, token_type_ids)
        if self.conv is not None:
            x = self.conv(x, attention_mask)
        # (batch, 1, 1, keys): every query attends to the real tokens only; causal: (batch, 1,
        # queries, keys), and to none after itself
        mask = attention_mask[:, None, None, :]
        if self.causal:
            length = x.shape[1]
            mask = mask & torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
        if self.alibi:  # (batch, heads, queries, keys): the distance penalty, -inf at padding
            bias = alibi_bias(self.heads, x.shape[1], x.device)
            mask = bias.masked_fill(~mask, float("-inf"))
        return self.encoder(x, mask)


# --- heads and models -------------------------------------------------------------------------


class PredictionHeadTransform(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(F.gelu(self.dense(x)))


class LMPredictionHead(nn.Module):
    """dense + GELU + LayerNorm, then the vocabulary projection with a bias of its own: the
    word embeddings (tied, so not stored twice) or, untied, a `decoder` matrix (Hugging
    Face's name for it)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.transform = PredictionHeadTransform(cfg)
        self.decoder = None
        if not cfg.tie_word_embeddings:
            self.decoder = nn.Linear(cfg.hidden, cfg.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def projection(self, word_embeddings: torch.Tensor) -> torch.Tensor:
        """The (vocab, hidden) matrix that scores each piece."""
        return word_embeddings if self.decoder is None else self.decoder.weight

    def forward(self, hidden, word_embeddings):
        return F.linear(self.transform(hidden), self.projection(word_embeddings), self.bias)


class OnlyMLMHead(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.predictions = LMPredictionHead(cfg)


@dataclass
class Output:
    logits: torch.Tensor | None  # None: a masked LM's training loss alone (fused)
    loss: torch.Tensor | None = None


class PretrainedMixin:
    """save_pretrained / from_pretrained: config.json and model.safetensors (never pickle)."""

    kind: str
    config: ModelConfig

    def _extra_config(self) -> dict:
        return {}

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """Writes config.json and model.safetensors, each atomically (temp file, then rename)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        with atomic_path(directory / WEIGHTS_FILE) as temporary:
            save_file(state, temporary)
        config = {
            "format": FORMAT,
            "kind": self.kind,
            "architecture": self.config.to_dict(),
            **self._extra_config(),
        }
        text = json.dumps(config, indent=2) + "\n"
        write_text(directory / CONFIG_FILE, text)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike):
        """The model saved in `directory`, rebuilt exactly (front-end and BatchNorm statistics
        included). Refuses files that do not match the config, with a message."""
        model = load_pretrained(directory)
        if not isinstance(model, cls):
            raise TinylmError(f"{directory} holds a {model.kind} model, not a {cls.kind} model")
        return model


class BertForMaskedLM(PretrainedMixin, nn.Module):
    kind = "masked-lm"

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.bert = Bert(config, pooling=None)
        self.cls = OnlyMLMHead(config)
        init_weights(self)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        """With `labels` (IGNORE_INDEX where no prediction is wanted): the loss, and logits of
        shape (number of labelled positions, vocab) only; while training (gradients on), the
        loss alone, fused with the projection (mlm_loss.py). Without: logits at every
        position."""
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        embeddings = self.bert.embeddings.word_embeddings.weight
        if labels is None:
            return Output(self.cls.predictions(hidden, embeddings))
        positions = labels != IGNORE_INDEX
        head = self.cls.predictions
        if torch.is_grad_enabled():
            hidden = head.transform(hidden[positions])
            loss = masked_lm_loss(hidden, head.projection(embeddings), head.bias, labels[positions])
            return Output(None, loss)
        logits = head(hidden[positions], embeddings)
        return Output(logits, F.cross_entropy(logits.float(), labels[positions]))


class BertForSequenceClassification(PretrainedMixin, nn.Module):
    kind = "classifier"

    def __init__(
        self,
        config: ModelConfig,
        num_labels: int,
        label_names: list[str] | None = None,
        pooling: str = "cls",
    ):
        super().__init__()
        if num_labels < 2:
            raise ConfigError(
                "num_labels", f"a classifier needs at least 2 labels, got {num_labels}"
            )
        if label_names is not None and len(label_names) != num_labels:
            raise ConfigError("label_names", f"{len(label_names)} names for {num_labels} labels")
        self.config = config
        self.num_labels = num_labels
        self.label_names = label_names or [str(i) for i in range(num_labels)]
        self.bert = Bert(config, pooling=pooling)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.hidden, num_labels)
        init_weights(self)

    @property
    def pooling(self) -> str:
        return self.bert.pooler.pooling

    def _extra_config(self) -> dict:
        extra = {"num_labels": self.num_labels, "label_names": self.label_names}
        return extra if self.pooling == "cls" else {**extra, "pooling": self.pooling}

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        hidden = self.bert(input_ids, attention_mask, token_type_ids)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids, dtype=torch.bool)
        pooled = self.bert.pooler(hidden, attention_mask)
        logits = self.classifier(self.dropout(pooled))
        loss = None if labels is None else F.cross_entropy(logits.float(), labels)
        return Output(logits, loss)

    def load_encoder(self, masked_lm: "BertForMaskedLM", reinit_layers: int = 0) -> None:
        """Starts from a pre-trained encoder: its `bert` weights are copied; the pooler and the
        classification head keep their random initialisation (as the paper does), and so do
        the top `reinit_layers` transformer layers: the layers nearest the MLM output are the
        most specific to pre-training, and re-drawing them helps few-sample fine-tuning
        (Zhang et al. 2021, "Revisiting few-sample BERT fine-tuning")."""
        if masked_lm.config.to_dict() != self.config.to_dict():
            raise TinylmError("the pre-trained model's architecture differs from this classifier's")
        layers = self.config.layers
        if not 0 <= reinit_layers <= layers:
            raise ConfigError("reinit_layers", f"must be in [0, {layers}], got {reinit_layers}")
        fresh = tuple(f"encoder.layer.{i}." for i in range(layers - reinit_layers, layers))
        state = {
            key: value
            for key, value in masked_lm.bert.state_dict().items()
            if not key.startswith(fresh)
        }
        missing, unexpected = self.bert.load_state_dict(state, strict=False)
        assert not unexpected and all(key.startswith(("pooler.", *fresh)) for key in missing)


def layer_depth(name: str, layers: int) -> int:
    """How far up the stack a parameter of a tinylm model (named as `named_parameters` names
    it) sits: 0 for the embeddings and the conv front-end, i + 1 for transformer layer i,
    `layers` + 1 for what reads the last layer (a final norm, the pooler, the heads)."""
    match = re.search(r"encoder\.layer\.(\d+)\.", name)
    if match:
        return int(match.group(1)) + 1
    if name.startswith(("bert.embeddings.", "bert.conv.", "embeddings.", "conv.")):
        return 0
    return layers + 1


def init_weights(model: nn.Module) -> None:
    """BERT's initialisation: N(0, 0.02) for linear and embedding weights, zero biases, the
    padding embedding at zero; norms at one and zero; convolutions keep PyTorch's default."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:  # the untied MLM decoder has none (its head holds it)
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm | nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


# --- loading ----------------------------------------------------------------------------------


def model_folder(directory: str | os.PathLike) -> Path:
    """The folder holding a saved model's files: `directory` itself, or its model/ when it is
    a run folder."""
    directory = Path(directory)
    if (directory / "model" / CONFIG_FILE).is_file() and not (directory / CONFIG_FILE).is_file():
        return directory / "model"
    return directory


def load_pretrained(
    directory: str | os.PathLike,
) -> BertForMaskedLM | BertForSequenceClassification:
    """A saved model (masked LM or classifier), from config.json and model.safetensors, in
    `directory` or in its model/ (a run folder).

    Only safetensors weights are read (a pickle file could run code); a file that does not match
    its config (missing, extra or mis-shaped tensors), or is truncated, is refused.
    """
    directory = model_folder(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    if not config_path.is_file():
        pickles = [
            p.name for p in directory.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl")
        ]
        hint = (
            f" ({', '.join(pickles)} would need unpickling, which tinylm never does)"
            if pickles
            else ""
        )
        raise TinylmError(f"no tinylm model in {directory}: {CONFIG_FILE} is missing{hint}")
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise TinylmError(f"{config_path} is not valid JSON: {err}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise TinylmError(
            f"{config_path} is not a tinylm model config (a Hugging Face BERT folder is imported "
            "with `tinylm import --hf`)"
        )
    architecture = ModelConfig.from_dict(config["architecture"])
    if config.get("kind") == BertForMaskedLM.kind:
        model = BertForMaskedLM(architecture)
    elif config.get("kind") == BertForSequenceClassification.kind:
        model = BertForSequenceClassification(
            architecture,
            config["num_labels"],
            config.get("label_names"),
            config.get("pooling", "cls"),
        )
    else:
        raise TinylmError(f"{config_path}: unknown model kind {config.get('kind')!r}")
    if not weights_path.is_file():
        raise TinylmError(f"{weights_path} is missing")
    try:
        state = load_file(weights_path)
    except (SafetensorError, OSError) as err:
        raise TinylmError(f"{weights_path} is not a readable safetensors file: {err}") from None
    _check_state(model, state, weights_path)
    model.load_state_dict(state)
    return model


def _check_state(model: nn.Module, state: dict, path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensor(s), e.g. {missing[0]}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s), e.g. {unexpected[0]}")
    if wrong:
        k = wrong[0]
        problems.append(
            f"{len(wrong)} tensor(s) of the wrong shape, e.g. {k}: "
            f"{tuple(state[k].shape)} instead of {tuple(expected[k].shape)}"
        )
    if problems:
        raise TinylmError(f"{path} does not match its config.json: {'; '.join(problems)}")


def set_dropout(model: nn.Module, p: float) -> None:
    """Sets every dropout of the model (hidden and attention) to `p`, leaving its config (and so
    its saved config.json) as it is: pre-training without dropout keeps the architecture's
    dropout for fine-tuning."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = p
        elif isinstance(module, SelfAttention):
            module.dropout_p = p
