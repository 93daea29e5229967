"""Parameters and training FLOPs of an architecture, without building real weights.

FLOPs count matrix multiplications and convolutions (2 per multiply-add); norms, activations
and softmax are left out, as is customary for model FLOPs utilisation (MFU). Training costs
three forward passes (the backward pass is about twice the forward).
"""

import itertools

import torch

from tinylm.config import MASK_RATE, ModelConfig
from tinylm.model.bert import BertForMaskedLM


def parameter_counts(config: ModelConfig) -> dict[str, int]:
    """Parameters of the masked-LM model: total, embeddings, encoder (front-end and layers)
    and MLM head (a tied projection is the word embeddings, so counted there; an untied
    decoder is the head's)."""
    with torch.device("meta"):
        model = BertForMaskedLM(config)
    counts = {"embeddings": 0, "encoder": 0, "head": 0}
    for name, parameter in model.named_parameters():
        part = (
            "embeddings"
            if ".embeddings." in name
            else "head"
            if name.startswith("cls.")
            else "encoder"
        )
        counts[part] += parameter.numel()
    return {"total": sum(counts.values()), **counts}


def default_predicted_share(config: ModelConfig) -> float:
    """The share of tokens a pre-training step projects onto the vocabulary: the masked 15%,
    or every token of a causal model."""
    return 1.0 if config.causal else MASK_RATE


def forward_flops_per_token(
    config: ModelConfig, length: int = 128, predicted_share: float | None = None
) -> dict[str, float]:
    """Forward FLOPs per token by part, for sequences of `length` tokens of which
    `predicted_share` reach the vocabulary projection (1.0 for dense prediction; None: a
    pre-training step's, default_predicted_share)."""
    if predicted_share is None:
        predicted_share = default_predicted_share(config)
    h, i = config.hidden, config.intermediate
    feed_forward = (3 if config.feed_forward == "geglu" else 2) * h * i  # a gated one: 3 mats
    per_layer = 2 * (4 * h * h + feed_forward) + 2 * 2 * length * h  # + QK^T and AV
    conv = 0
    if config.conv_layers:
        kernel = config.conv_kernel[0] * config.conv_kernel[1]
        channels = [1] + [config.conv_channels] * config.conv_layers
        # per token: its row of `hidden` pixels, through each layer's kernel and channels
        conv = sum(2 * kernel * c_in * c_out * h for c_in, c_out in itertools.pairwise(channels))
        conv += 2 * config.conv_channels * h  # the 1x1 projection back to one channel
    head = predicted_share * (2 * h * h + 2 * h * config.vocab_size)
    return {"layers": config.layers * per_layer, "conv": conv, "head": head}


def training_flops_per_token(
    config: ModelConfig, length: int = 128, predicted_share: float | None = None
) -> float:
    """Model FLOPs of one training step per token (forward + backward = 3 x forward)."""
    return 3 * sum(forward_flops_per_token(config, length, predicted_share).values())
