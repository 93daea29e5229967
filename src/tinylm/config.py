"""Typed configuration dataclasses that validate themselves.

Each config checks its fields on construction and raises ConfigError naming the field, so a
bad value is refused before any work starts. `from_dict` refuses unknown keys (a typo in a YAML
file is an error, not a silently ignored field) and `to_dict` gives the resolved values that
every run writes next to its outputs.

Sections: data (CorpusConfig, TaskConfig) here; architecture and training come with the
models and training issues.
"""

import dataclasses
import types
import typing
from typing import Any, Self

from tinylm.errors import ConfigError


@dataclasses.dataclass
class Config:
    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), hints[f.name])
        self.validate()

    def validate(self) -> None:
        """Checks beyond types; subclasses raise ConfigError(field, why)."""

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(unknown[0], f"unknown field (known: {', '.join(sorted(known))})")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_type(name: str, value: Any, hint: Any) -> None:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for kind in allowed:
        if kind is type(None) and value is None:
            return
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return
        if kind is int and isinstance(value, bool):
            continue  # True is an int to Python, never a size
        if isinstance(kind, type) and isinstance(value, kind):
            return
    names = " or ".join("None" if k is type(None) else k.__name__ for k in allowed)
    raise ConfigError(name, f"expected {names}, got {value!r}")


@dataclasses.dataclass
class CorpusConfig(Config):
    """A pre-training corpus subset: the first `ws` paragraphs of a seeded permutation."""

    name: str = "wikipedia"  # "wikipedia", or a path to .txt / .jsonl / .jsonl.gz
    ws: int | None = None  # paragraphs in the subset; None takes the whole pool
    seed: int = 42  # the permutation's seed (the paper shuffles with 42)
    lead_only: bool = False  # pool = the first paragraph of each article only

    def validate(self):
        if self.ws is not None and self.ws <= 0:
            raise ConfigError("ws", f"must be a positive number of paragraphs, got {self.ws}")
        if self.seed < 0:
            raise ConfigError("seed", f"must be non-negative, got {self.seed}")
        if not self.name:
            raise ConfigError("name", "must name a corpus ('wikipedia' or a file path)")


@dataclasses.dataclass
class TaskConfig(Config):
    """A balanced, seeded sample of a classification task."""

    name: str = "agnews"  # a registered task, or a path to a .csv / .jsonl file
    train_per_label: int | None = None  # None: the task's default (the paper's size)
    test_per_label: int | None = None
    val_fraction: float = 0.0  # share of the train sample held out for validation
    seed: int = 0
    entity_markers: bool = False  # FewRel: wrap head in "@ ... @" and tail in "# ... #"
    text_column: str = "text"  # user files only
    label_column: str = "label"  # user files only

    def validate(self):
        for field in ("train_per_label", "test_per_label"):
            value = getattr(self, field)
            if value is not None and value <= 0:
                raise ConfigError(field, f"must be a positive number of examples, got {value}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError("val_fraction", f"must be in [0, 1), got {self.val_fraction}")
        if self.seed < 0:
            raise ConfigError("seed", f"must be non-negative, got {self.seed}")
        if not self.name:
            raise ConfigError("name", "must name a task")
