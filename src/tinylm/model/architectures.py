"""The named architectures: one table, the paper's models and their CPU twins.

Paper (reference-procedure.md): BERT-6 and BERT-1, and the five BERT-1 committee variants.
Every name follows the paper's scheme, bert{layers}[-c{conv layers}-k{kernel}-d{channels}]-a{heads}
(a 3 x 3 kernel is written k3, a 16 x 3 one k16x3); the paper leaves out `-a12` for
its plain BERT-6 and BERT-1. Head size is 64 everywhere, so hidden = 64 x heads.

CPU twins, for studies on a laptop: the same depth, the same convolutional structure and
kernels, with a quarter of the attention heads (head size still 64, so a quarter of the width:
768 -> 192, 1536 -> 384, 512 -> 128) and a quarter of the conv channels (64 -> 16, 32 -> 8).
Dividing by four keeps every paper model's twin integral; the layers' matrix products shrink
16-fold, the attention-score and vocabulary terms 4-fold.

A twin is named by its own sizes in the same scheme: its paper model's name with the channels
and heads replaced by the twin's, and the heads always written (bert6 -> bert6-a3,
bert1-c2-k3-d64-a12 -> bert1-c2-k3-d16-a3). A name states the sizes it holds, and no twin can
take a paper model's name: every twin has at most 6 heads, every paper model at least 8.
The twins were first called by their paper model's name plus `-cpu` (bert1-c2-k3-d64-a12-cpu);
configs, presets and committed results still name them so, and those names stay aliases.

Each twin also has a causal form, `gpt` in place of `bert` (gpt6-a3, gpt1-c2-k3-d16-a3): the
same sizes as a decoder (see CAUSAL).
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


def twin_name(paper_name: str, twin: ModelConfig) -> str:
    """The twin's name: the paper model's layers, conv layers and kernel, the twin's channels
    and heads (see the module doc)."""
    family, *sizes = paper_name.split("-")
    kept = [s for s in sizes if s[0] in "ck"]
    channels = [f"d{twin.conv_channels}"] if twin.conv_layers else []
    return "-".join([family, *kept, *channels, f"a{twin.heads}"])


def _twin(paper_name: str) -> tuple[str, ModelConfig]:
    twin = cpu_twin(PAPER[paper_name][0])
    return twin_name(paper_name, twin), twin


TWINS: dict[str, tuple[str, ModelConfig]] = {name: _twin(name) for name in PAPER}  # by paper name


def _describe(paper_name: str, twin: ModelConfig) -> str:
    conv = (
        f"{twin.conv_layers} conv layers {'x'.join(map(str, twin.conv_kernel))}, "
        f"{twin.conv_channels} channels, "
        if twin.conv_layers
        else ""
    )
    return f"CPU twin of {paper_name}: {conv}{twin.heads} heads (hidden {twin.hidden})"


# Causal twins (the paper's next check: committees beyond BERT-style models): each CPU twin as a
# decoder, named with `gpt` for `bert` (bert1-c2-k3-d16-a3 -> gpt1-c2-k3-d16-a3), pre-trained
# by next-token prediction (ModelConfig.causal).
CAUSAL: dict[str, tuple[ModelConfig, str]] = {
    "gpt" + name.removeprefix("bert"): (
        dataclasses.replace(twin, causal=True),
        f"{name} as a decoder (causal attention, next-token pre-training)",
    )
    for paper, (name, twin) in TWINS.items()
}

ARCHITECTURES: dict[str, tuple[ModelConfig, str]] = {
    **PAPER,
    **{name: (twin, _describe(paper, twin)) for paper, (name, twin) in TWINS.items()},
    **CAUSAL,
}
# The twins' first names (paper name + `-cpu`): still accepted wherever a name is, for the
# configs, presets and results made with them; each resolves to the twin's own name.
ALIASES: dict[str, str] = {f"{paper}-cpu": name for paper, (name, _) in TWINS.items()}


def canonical_name(name: str) -> str:
    """An architecture's own name: itself, or the name an old alias stands for."""
    return ALIASES.get(name, name)


def aliases_of(name: str) -> list[str]:
    return [alias for alias, target in ALIASES.items() if target == name]


def causal_form(spec: str | Mapping) -> str | dict:
    """The causal form of an architecture: a twin's `gpt` name, or a mapping of fields with
    `causal: true`. The paper-size models have none (their decoders would be another study)."""
    if not isinstance(spec, str):
        return {**spec, "causal": True}
    name = canonical_name(spec)
    causal = "gpt" + name.removeprefix("bert")
    if name in CAUSAL:
        return name
    if causal not in CAUSAL:
        raise TinylmError(
            f"{spec!r} has no causal form; the CPU twins have one each: {', '.join(CAUSAL)}"
        )
    return causal


def get_architecture(name: str) -> ModelConfig:
    """A fresh copy of a named architecture's config (an old `-cpu` alias gives its twin's)."""
    name = canonical_name(name)
    if name not in ARCHITECTURES:
        raise TinylmError(
            f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)} "
            "(the old names ending in -cpu too; or give explicit fields in a config file)"
        )
    return dataclasses.replace(ARCHITECTURES[name][0])


def resolve_architecture(spec: str | Mapping) -> ModelConfig:
    """An architecture from a config file's `arch` entry: a name, or a mapping of explicit
    ModelConfig fields, optionally starting from a named one (`base: bert1-a3`)."""
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
