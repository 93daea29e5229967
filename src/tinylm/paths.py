"""Where tinylm reads data and keeps its caches.

Both default to folders under one cache root, the user's cache folder's `tinylm`
($XDG_CACHE_HOME/tinylm, else ~/.cache/tinylm): the token cache is the root itself (unless
$TINYLM_CACHE_DIR names another), and the data folder its `data/` (unless --data-dir or
$TINYLM_DATA_DIR names another), which `tinylm data fetch` fills when nothing else is named.
"""

import os
from collections.abc import Sequence
from pathlib import Path

from tinylm.errors import TinylmError

DATA_DIR_ENV = "TINYLM_DATA_DIR"
# The Hugging Face libraries' offline switches; tinylm honours them before reaching the hub
OFFLINE_ENV_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


def offline_switches() -> list[str]:
    """The offline variables set to a true value ("1", "true", "yes", "on")."""
    true = ("1", "true", "yes", "on")
    return [name for name in OFFLINE_ENV_VARS if os.environ.get(name, "").strip().lower() in true]


CACHE_DIR_ENV = "TINYLM_CACHE_DIR"


def cache_root() -> Path:
    """tinylm's folder in the user's cache: $XDG_CACHE_HOME/tinylm, else ~/.cache/tinylm."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "tinylm"


def default_data_dir() -> Path:
    """The data folder used when neither --data-dir nor $TINYLM_DATA_DIR names one."""
    return cache_root() / "data"


def named_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The data folder the user named: the argument, else $TINYLM_DATA_DIR; None if neither."""
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(DATA_DIR_ENV)
    return Path(chosen).expanduser() if chosen else None


def chosen_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data folder: the argument, else $TINYLM_DATA_DIR (which must exist: a typo is not
    replaced by the default), else the default one (which may not exist yet)."""
    named = named_data_dir(data_dir)
    if named is not None and not named.is_dir():
        raise TinylmError(f"data directory {named} does not exist or is not a directory")
    return named or default_data_dir()


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data folder (chosen_data_dir), once it exists."""
    folder = chosen_data_dir(data_dir)
    if not folder.is_dir():
        raise TinylmError(missing_data_message(folder))
    return folder


def fetch_command(folder: Path, *options: str) -> str:
    """The `tinylm data fetch` command that downloads into `folder`."""
    where = () if folder == default_data_dir() else ("--data-dir", str(folder))
    return " ".join(("tinylm data fetch", *options, *where))


def missing_data_message(
    folder: Path,
    files: Sequence[str] = (),
    datasets: Sequence[str] = (),
    *,
    preset: str | None = None,
) -> str:
    """One line: what the data folder lacks (`files`, relative to it; all of it when it does
    not exist), and the two ways out: another data folder, or `tinylm data fetch` (of
    `datasets`, or of what `preset` reads) into this one."""
    if folder.is_dir():
        problem = f"the data folder {folder} lacks {', '.join(files)}"
    else:
        unset = f" ({DATA_DIR_ENV} is unset)" if folder == default_data_dir() else ""
        problem = f"no data: the data folder {folder}{unset} does not exist"
        if files:
            problem += f" (needed: {', '.join(files)})"
    if preset is not None:
        command = fetch_command(folder, "--for-preset", preset)
    else:
        command = fetch_command(folder, *(("--only", *datasets) if datasets else ()))
    return (
        f"{problem}; set {DATA_DIR_ENV}=DIR (or pass --data-dir DIR) to a data folder laid out "
        f"as in docs/data.md, or download {'them' if files else 'the data'} with `{command}`"
    )


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The token cache: the argument, else $TINYLM_CACHE_DIR, else the cache root."""
    chosen = cache_dir or os.environ.get(CACHE_DIR_ENV)
    return Path(chosen).expanduser() if chosen else cache_root()
