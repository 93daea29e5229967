"""Names of jobs for people: their folders in the store and their lines in a study's log."""

import re
from pathlib import PurePath

from tinylm.config import ModelConfig
from tinylm.model.architectures import ARCHITECTURES, get_architecture

KEY_CHARS = 8  # of the key's 16 hex digits, the folder name keeps these
MAX_LABEL = 64  # characters before the key: enough for the longest architecture names


def folder_name(kind: str, label: list, key: str) -> str:
    """`<kind>-<label parts>-<start of key>`, in lower-case letters, digits and dashes:
    e.g. finetune-agnews-bert1-a3-ws5000-s0-0869b379."""
    # a task that is the user's file, folder or hub dataset is named by its last part
    parts = [PurePath(str(part)).name if "/" in str(part) else part for part in label]
    readable = re.sub(r"[^a-z0-9]+", "-", "-".join(map(str, [kind, *parts])).lower())
    return f"{readable[:MAX_LABEL].strip('-')}-{key[:KEY_CHARS]}"


def arch_label(arch: ModelConfig) -> str:
    """A named architecture's name (at any vocabulary size; `-pre` for its pre-LN variant),
    else its depth and width."""
    suffix = "-pre" if arch.norm == "pre" else ""
    for name in ARCHITECTURES:
        named = get_architecture(name)
        named.vocab_size, named.norm = arch.vocab_size, arch.norm
        if named == arch:
            return name + suffix
    return f"l{arch.layers}-h{arch.hidden}{suffix}"


def corpus_label(recipe, known_task: str | None = None) -> list:
    """A built corpus: its method (and what it removed), its task (unless the name has it
    already: `known_task`) and its size."""
    method = f"{recipe.label}{recipe.removed}" if recipe.method == "ablation" else recipe.label
    task = [] if recipe.task.name == known_task else [recipe.task.name]
    return [method, *task, f"ws{recipe.pool.ws}"]


def subset_label(corpus) -> list:
    """A pre-training's corpus (CorpusConfig) in a folder name: its random subset's size
    (ws20000), else its name (task:agnews), and any corpus mixed in."""
    parts = [f"ws{corpus.ws}" if corpus.ws is not None else corpus.name]
    if corpus.mix is not None:
        parts += ["mix", f"ws{corpus.mix_ws}" if corpus.mix_ws is not None else corpus.mix]
    return parts


def subset_words(corpus) -> str:
    """The same for the log: Ws=20,000; task:agnews + wikipedia Ws=20,000."""
    words = f"Ws={corpus.ws:,}" if corpus.ws is not None else corpus.name
    if corpus.mix is not None:
        mixed = "" if corpus.mix_ws is None else f" Ws={corpus.mix_ws:,}"
        words += f" + {corpus.mix}{mixed}"
    return words


def corpus_name(pretrain) -> str:
    """What a pre-training job reads and trains, for the log."""
    if pretrain.init is None:
        arch = pretrain.config.arch
        shape = f"{arch.layers}L H{arch.hidden}"
        if arch.conv_layers:
            kernel = "x".join(map(str, arch.conv_kernel))
            shape += f" conv {arch.conv_layers}x{kernel} d{arch.conv_channels}"
        return f"{subset_words(pretrain.config.corpus)} {shape}"
    return recipe_name(pretrain.init.config)


def recipe_name(recipe) -> str:
    label = f"{recipe.label} -{recipe.removed}" if recipe.method == "ablation" else recipe.label
    return f"{label} Ws={recipe.pool.ws:,} ({recipe.task.name})"
