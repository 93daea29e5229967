"""Atomic writes: a file or folder appears whole under its name, or not at all.

Everything tinylm writes goes through here. The new content is written next to its final name
under a hidden temporary one (`.NAME.<pid>.<random>.tmp`, so `os.replace` is atomic and a
run's clean-up finds leftovers by the `.NAME.` prefix), then renamed over it; a kill midway
leaves the old file (or none) and a temporary that the next run removes. Files and folders get
the usual permissions (those of the umask), unlike `mkstemp`'s owner-only 0600.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

_TEMPORARY = re.compile(r"^\..+\.\d+\.[0-9a-f]{8}\.tmp$|^\.removed-")


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def is_temporary(name: str) -> bool:
    """Whether `name` is one of the temporaries above, or a folder being removed."""
    return bool(_TEMPORARY.match(name))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path to write (by any writer that takes a path); renamed over `path` when
    the block completes, removed when it fails. Parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(path)
    try:
        yield temporary
        if temporary.is_file():  # safetensors' save_file, for one, creates its file 0600
            os.chmod(temporary, new_file_mode())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def new_file_mode() -> int:
    """The mode a new file gets here: 0666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, *, text: bool = True) -> Iterator[IO]:
    """A new file (text, UTF-8, or binary) that replaces `path` once the block completes."""
    with atomic_path(path) as temporary:
        options = {"mode": "x", "encoding": "utf-8", "newline": ""} if text else {"mode": "xb"}
        with open(temporary, **options) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def write_json(path: str | os.PathLike, value: Any) -> None:
    write_text(path, json.dumps(value, indent=2, default=str) + "\n")


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, *, replace: bool = False) -> Iterator[Path]:
    """A temporary folder to fill; renamed to `path` when the block completes (over an
    existing one when `replace`), removed when it fails. Yields the temporary folder.

    Without `replace`, a `path` that exists by then (another process made it first) is kept
    and the new folder dropped: the two are equal by construction (caches)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(path)
    temporary.mkdir()
    try:
        yield temporary
        if replace and path.exists():
            remove_folder(path)
        try:
            temporary.rename(path)
        except OSError:
            if replace or not path.exists():
                raise
            shutil.rmtree(temporary, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def remove_folder(path: Path) -> None:
    """Renamed aside first, then removed: a kill during the removal leaves no half folder
    under the real name."""
    doomed = path.with_name(f".removed-{path.name}")
    shutil.rmtree(doomed, ignore_errors=True)
    path.rename(doomed)
    shutil.rmtree(doomed, ignore_errors=True)
