"""What a command needs from the data folder, checked before any work.

A need is a dataset of `tinylm data fetch` and the files that satisfy it (one complete set of
alternatives: DBpedia's official files, or its unofficial subsets). Commands name the corpora
and tasks they read; `require_data` resolves the data folder (paths.py) and refuses, in one line
naming the missing files and both ways out (another data folder, or `tinylm data fetch`), a
folder that lacks any. `missing` tells `tinylm data fetch --for-preset` what to download, and
`wikipedia_paragraphs` whether a Wikipedia corpus there is too small for the preset.
Corpus and task files of the user's own need nothing here.
"""

import gzip
import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tinylm import layout
from tinylm.data.tasks import TASKS
from tinylm.errors import TinylmError
from tinylm.paths import chosen_data_dir, missing_data_message


@dataclass(frozen=True)
class Need:
    dataset: str  # its name for `tinylm data fetch --only`
    alternatives: tuple[tuple[str, ...], ...]  # file sets relative to the data folder; the
    # first is the official one, the one a fetch writes


NEEDS = {
    "tokenizer": Need("tokenizer", ((layout.VOCAB,),)),
    "wikipedia": Need("wikipedia", ((layout.WIKIPEDIA,),)),
    **{name: Need(spec.dataset, spec.files) for name, spec in TASKS.items()},
}


def needs_of(corpora: Iterable[str] = (), tasks: Iterable[str] = ()) -> list[str]:
    """The needs (keys of NEEDS) of a command reading these corpora and tasks: the tokenizer
    always, then the built-in ones among them (a user's file needs no data folder file)."""
    # a task's own text as a corpus (task:agnews) needs the task's files
    corpora = [name.removeprefix("task:") for name in corpora]
    names = ["tokenizer", *corpora, *tasks]
    return list(dict.fromkeys(name for name in names if name in NEEDS))


def preset_needs(preset) -> list[str]:
    """What a study preset's runs read: its corpus and its tasks."""
    return needs_of([preset.corpus], preset.tasks)


def missing(data_dir: Path, needs: Iterable[str]) -> dict[str, list[str]]:
    """need -> the files it lacks (of its official set), for each need no set satisfies."""
    lacking = {}
    for name in needs:
        alternatives = NEEDS[name].alternatives
        if not any(all((data_dir / f).is_file() for f in files) for files in alternatives):
            lacking[name] = [f for f in alternatives[0] if not (data_dir / f).is_file()]
    return lacking


def wikipedia_paragraphs(data_dir: Path, enough: int) -> int:
    """The paragraphs of the data folder's Wikipedia, counted up to `enough` (0 when the file
    cannot be read: a fetch replaces it)."""
    try:
        with gzip.open(data_dir / layout.WIKIPEDIA, "rt", encoding="utf-8") as f:
            return sum(1 for _ in itertools.islice(filter(str.strip, f), enough))
    except (OSError, EOFError, UnicodeDecodeError):
        return 0


def files_of(lacking: dict[str, list[str]]) -> list[str]:
    """The files of `missing`'s answer, in one list."""
    return [f for absent in lacking.values() for f in absent]


def datasets_of(needs: Iterable[str]) -> list[str]:
    """The datasets of `tinylm data fetch` that provide these needs, once each."""
    return list(dict.fromkeys(NEEDS[name].dataset for name in needs))


def require_data(
    data_dir: str | os.PathLike | None = None,
    *,
    corpora: Iterable[str] = (),
    tasks: Iterable[str] = (),
    preset: str | None = None,
) -> Path:
    """The data folder (paths.chosen_data_dir), once it holds every file these corpora and
    tasks need; else a TinylmError naming what is missing
    and the ways out (`preset`: the fetch it suggests is that preset's)."""
    folder = chosen_data_dir(data_dir)
    needs = needs_of(corpora, tasks)
    lacking = missing(folder, needs)
    if lacking or not folder.is_dir():
        message = missing_data_message(
            folder, files_of(lacking), datasets_of(lacking), preset=preset
        )
        raise TinylmError(message)
    return folder
