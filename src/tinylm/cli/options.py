"""Command-line flags generated from Config dataclasses, and a parser that takes options
anywhere among a command's arguments.

`ConfigFlags(TrainConfig)` turns each field into a flag (`max_steps` -> `--max-steps`), so a
new field is a new flag with no code. A field that is itself a Config adds its fields' flags
(`PretrainConfig` gives `--epochs` for `train.epochs`); the flags share one namespace, so a
name two sections share is renamed once (`corpus.seed` -> `--corpus-seed`). A field's help
is its `help` metadata, else its comment in the class. Every flag defaults to None, so
`values(args)` holds only what was given: a nested mapping laid over a config file's
(`overlay`) and read by the Config's from_dict, which validates both alike.
"""

import argparse
import dataclasses
import functools
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from tinylm.config import Config, config_class, field_default
from tinylm.errors import TinylmError


class Parser(argparse.ArgumentParser):
    """argparse, with a command's options allowed among its positionals
    (`tinylm predict RUN --json "some text"`): a parser without subcommands parses
    intermixed (argparse's own parse_intermixed_args, which refuses subparsers; a parser
    with subcommands hands their arguments to them, which then parse this way)."""

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):
        if self._intermixing or self._subparsers is not None:
            return super().parse_known_args(args, namespace)
        self._intermixing = True  # parse_known_intermixed_args calls back here, twice
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


@dataclasses.dataclass(frozen=True)
class Flag:
    """How one field appears on the command line, where the generated default is not right."""

    name: str | None = None  # the flag without dashes; None: the field's name, dashed
    help: str | None = None  # None: the field's `help` metadata, else its comment, + default
    whole: bool = False  # a Config field taken as one string (`--arch NAME`), not its fields
    metavar: str | None = None  # None: the flag's name in capitals


@dataclasses.dataclass(frozen=True)
class _Option:
    path: str  # the field's dotted path from the top config (`train.max_steps`)
    flag: str  # without dashes
    section: str | None  # the top-level field that holds it, for grouping --help
    kwargs: dict


class ConfigFlags:
    """The flags of one Config class: `add_to(parser)`, then `values(args)` after parsing."""

    def __init__(
        self,
        config: type[Config],
        flags: Mapping[str, Flag] | None = None,
        skip: Iterable[str] = (),
    ):
        self.config = config
        self.options = list(_options(config, "", flags or {}, set(skip), None))
        seen: dict[str, str] = {}
        for option in self.options:
            if option.flag in seen:  # a programming error: rename one with Flag(name=...)
                raise ValueError(f"--{option.flag} is both {seen[option.flag]} and {option.path}")
            seen[option.flag] = option.path

    def add_to(self, parser, into: Mapping[str, Any] | None = None) -> None:
        """Adds the flags; `into` puts a field's flag in another container (a mutually
        exclusive group). Nested sections get an argument group each in --help."""
        groups: dict[str, Any] = {}
        for option in self.options:
            where = (into or {}).get(option.path)
            if where is None and option.section is not None:
                if option.section not in groups:
                    groups[option.section] = parser.add_argument_group(
                        f"{option.section} (the config file's {option.section}: section)"
                    )
                where = groups[option.section]
            (where or parser).add_argument("--" + option.flag, **option.kwargs)

    def values(self, args: argparse.Namespace) -> dict:
        """The flags given, as a nested mapping of fields (`{"train": {"epochs": 3}}`)."""
        given: dict = {}
        for option in self.options:
            value = getattr(args, option.path, None)
            if value is not None:
                *sections, name = option.path.split(".")
                place = given
                for section in sections:
                    place = place.setdefault(section, {})
                place[name] = value
        return given


def overlay(base: Mapping | None, top: Mapping) -> dict:
    """`base` with `top`'s values over it, section by section (flags over a config file)."""
    merged = dict(base or {})
    for key, value in top.items():
        below = merged.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            value = overlay(below, value)
        merged[key] = value
    return merged


def _options(config, prefix: str, flags, skip, defaults) -> Iterable[_Option]:
    """The options of `config`'s fields; `defaults` is the enclosing field's default
    instance (pre-training's train section warms up one epoch), None at the top."""
    hints = typing.get_type_hints(config)
    comments = _field_comments(config)
    for field in dataclasses.fields(config):
        path = prefix + field.name
        if path in skip:
            continue
        spec = flags.get(path, Flag())
        default = field_default(field) if defaults is None else getattr(defaults, field.name)
        section = config_class(hints[field.name])
        if section is not None and not spec.whole:
            yield from _options(section, path + ".", flags, skip, default)
            continue
        text = spec.help or field.metadata.get("help") or comments.get(field.name, "")
        name = spec.name or field.name.replace("_", "-")
        kwargs = {"dest": path, "default": None}
        kind = hints[field.name] if section is None else str
        if _base_type(kind) is bool:
            if default is True:  # a flag that could only repeat the default is no flag
                name, text = "no-" + name, f"turn off: {text}" if text else "turn off"
            kwargs.update(action="store_const", const=not default)
        else:
            metavar = spec.metavar or field.metadata.get("metavar") or name.upper()
            kwargs.update(_value_kwargs(path, kind, metavar.replace("-", "_")))
            if default is not None and section is None and spec.help is None:
                text = f"{text} (default: {default})".strip()
        if "choices" in field.metadata:  # shown as {a,b}, in place of a metavar
            kwargs.update(choices=field.metadata["choices"], metavar=None)
        text = text.replace("%", "%%")  # argparse formats help with %
        yield _Option(path, name, prefix.split(".")[0] or None, {"help": text or None, **kwargs})


def _base_type(hint):
    """`int | None` -> int; a union of several types stays as it is."""
    if not isinstance(hint, types.UnionType):
        return hint
    kinds = [k for k in typing.get_args(hint) if k is not type(None)]
    return kinds[0] if len(kinds) == 1 else hint


def _value_kwargs(path: str, hint, metavar: str) -> dict:
    kind = _base_type(hint)
    if kind in (int, float, str):
        return {"type": kind, "metavar": metavar}
    if typing.get_origin(kind) is tuple:  # tuple[int, ...]: the values, space-separated
        items = [k for k in typing.get_args(kind) if k is not Ellipsis]
        nargs = "+" if Ellipsis in typing.get_args(kind) else len(items)
        return {"type": items[0], "nargs": nargs, "metavar": metavar}
    raise TypeError(f"{path}: no flag for a {hint}; give it a Flag(whole=True) or skip it")


def _field_comments(config: type) -> dict[str, str]:
    """Each field's comment, from the class that declares it (a subclass inherits them)."""
    comments = {}
    for klass in reversed(config.__mro__):
        if dataclasses.is_dataclass(klass):
            comments.update(_declared_comments(klass))
    return comments


@functools.cache
def _declared_comments(config: type) -> dict[str, str]:
    """The comments in one class's source: the one after a field on its line, else the
    comment lines just above it. Empty where the source cannot be read."""
    try:
        lines = textwrap.dedent(inspect.getsource(config)).splitlines()
    except (OSError, TypeError):
        return {}
    comments, above = {}, []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# "))
            continue
        match = re.match(r"    (\w+)\s*:[^#]*?(?:#\s*(.*))?$", line)  # in the class body
        if match:
            comment = match.group(2) or " ".join(above)
            if comment:
                comments.setdefault(match.group(1), comment)
        above = []
    return comments


def add_threads_flag(p) -> None:
    """`--threads` for a command that times inference (ONNX Runtime takes PyTorch's count)."""
    p.add_argument(
        "--threads",
        type=int,
        help="CPU threads of PyTorch and ONNX Runtime (default: PyTorch's, one per core); on a "
        "busy machine fewer threads time more steadily",
    )


def apply_threads(threads: int | None) -> None:
    if threads is None:
        return
    if threads <= 0:
        raise TinylmError(f"--threads must be positive, got {threads}")
    import torch

    torch.set_num_threads(threads)
