"""The named architectures: one table, the paper's models and their CPU twins.

Paper (reference-procedure.md): BERT-6 and BERT-1, and the five BERT-1 committee variants,
named c{conv layers}-k{kernel}-d{channels}-a{heads}. Head size is 64 everywhere, so
hidden = 64 x heads.

CPU twins (suffix `-cpu`), for studies on a laptop: the same depth, the same convolutional
structure and kernels, with a quarter of the attention heads (head size still 64, so a
quarter of the width: 768 -> 192, 1536 -> 384, 512 -> 128) and a quarter of the conv
channels (64 -> 16, 32 -> 8). Dividing by four keeps every paper model's twin integral; the
layers' matrix products shrink 16-fold, the attention-score and vocabulary terms 4-fold.
"""

import dataclasses
from collections.abc import Mapping

from tinylm.config import ModelConfig
from tinylm.errors import TinylmError

HEAD_SIZE = 64
TWIN_DIVISOR = 4


def _paper(layers: int, heads: int, conv_layers: int = 0, kernel=(3, 3), channels: int = 64):
    return ModelConfig(
        layers=layers,
        heads=heads,
        hidden=HEAD_SIZE * heads,
        conv_layers=conv_layers,
        conv_kernel=kernel,
        conv_channels=channels,
    )


PAPER: dict[str, tuple[ModelConfig, str]] = {
    "bert6": (_paper(6, 12), "BERT-6: 6 layers, 12 heads, hidden 768"),
    "bert1": (_paper(1, 12), "BERT-1: 1 layer, 12 heads, hidden 768"),
    "bert1-c0-a24": (_paper(1, 24), "BERT-1 without conv, 24 heads (hidden 1536)"),
    "bert1-c2-k3-d64-a12": (
        _paper(1, 12, 2, (3, 3), 64),
        "2 conv layers 3x3, 64 channels, 12 heads",
    ),
    "bert1-c2-k3-d64-a8": (
        _paper(1, 8, 2, (3, 3), 64),
        "2 conv layers 3x3, 64 channels, 8 heads (hidden 512)",
    ),
    "bert1-c3-k3-d32-a12": (
        _paper(1, 12, 3, (3, 3), 32),
        "3 conv layers 3x3, 32 channels, 12 heads",
    ),
    "bert1-c2-k16x3-d64-a12": (
        _paper(1, 12, 2, (16, 3), 64),
        "2 conv layers 16x3, 64 channels, 12 heads",
    ),
}
COMMITTEE = [name for name in PAPER if name.startswith("bert1-")]  # the paper's five variants


def cpu_twin(config: ModelConfig) -> ModelConfig:
    """The width-scaled twin (see the module doc)."""
    heads = config.heads // TWIN_DIVISOR
    return dataclasses.replace(
        config,
        heads=heads,
        hidden=HEAD_SIZE * heads,
        intermediate=4 * HEAD_SIZE * heads,
        conv_channels=max(1, config.conv_channels // TWIN_DIVISOR),
    )


ARCHITECTURES: dict[str, tuple[ModelConfig, str]] = {
    **PAPER,
    **{f"{name}-cpu": (cpu_twin(cfg), f"CPU twin of {name}") for name, (cfg, _) in PAPER.items()},
}


def get_architecture(name: str) -> ModelConfig:
    """A fresh copy of a named architecture's config."""
    if name not in ARCHITECTURES:
        raise TinylmError(
            f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)} "
            "(or give explicit fields in a config file)"
        )
    return dataclasses.replace(ARCHITECTURES[name][0])


def resolve_architecture(spec: str | Mapping) -> ModelConfig:
    """An architecture from a config file's `arch` entry: a name, or a mapping of explicit
    ModelConfig fields, optionally starting from a named one (`base: bert1-cpu`)."""
    if isinstance(spec, str):
        return get_architecture(spec)
    if not isinstance(spec, Mapping):
        raise TinylmError(f"an architecture is a name or a mapping of fields, not {spec!r}")
    fields = dict(spec)
    base = fields.pop("base", None)
    start = get_architecture(base).to_dict() if base is not None else {}
    if base is not None and "hidden" in fields and "intermediate" not in fields:
        start.pop("intermediate")  # a new width brings its own default feed-forward width
    return ModelConfig.from_dict({**start, **fields})
