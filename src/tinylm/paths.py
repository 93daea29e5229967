"""Where tinylm reads data and keeps its caches."""

import os
from pathlib import Path

from tinylm.errors import TinylmError

DATA_DIR_ENV = "TINYLM_DATA_DIR"
CACHE_DIR_ENV = "TINYLM_CACHE_DIR"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: the argument, else $TINYLM_DATA_DIR. It must exist."""
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(DATA_DIR_ENV)
    if not chosen:
        raise TinylmError(
            f"no data directory: pass --data-dir DIR or set {DATA_DIR_ENV} "
            "(`tinylm data fetch --data-dir DIR` downloads the datasets into DIR)"
        )
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise TinylmError(f"data directory {path} does not exist or is not a directory")
    return path


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache directory: the argument, else $TINYLM_CACHE_DIR, else ~/.cache/tinylm."""
    chosen = cache_dir or os.environ.get(CACHE_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "tinylm"
