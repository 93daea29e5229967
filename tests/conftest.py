import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for `datagen`

from datagen import make_data_dir
from tinylm import paths
from tinylm.paths import CACHE_DIR_ENV, DATA_DIR_ENV

REAL_CACHE_ROOT = paths.cache_root  # before the autouse fixture below replaces it


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A tiny data directory in the real layout."""
    return make_data_dir(tmp_path / "data")


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """Tests see no user data or cache unless they ask: the real-data dir is read once here,
    and the default data folder is one of the test's own (not ~/.cache/tinylm/data; patched
    rather than set through XDG_CACHE_HOME, which the Hugging Face libraries and matplotlib
    read too)."""
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "default-cache"))
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(paths, "cache_root", lambda: tmp_path / "user-cache" / "tinylm")


@pytest.fixture(autouse=True)
def torch_threads():
    """A command run in-process with --threads sets PyTorch's threads for the process: each
    test starts with the count the suite started with."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


# Read at import, before the autouse fixture above hides them from each test.
REAL_DATA_DIR = os.environ.get(DATA_DIR_ENV)
USER_CACHE_DIR = os.environ.get(CACHE_DIR_ENV)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real data directory from TINYLM_DATA_DIR; tests that need it skip without it."""
    if not REAL_DATA_DIR:
        pytest.skip(f"needs real data: set {DATA_DIR_ENV} (CI sets it to ../shared/data)")
    return Path(REAL_DATA_DIR)


@pytest.fixture(scope="session")
def real_cache_dir() -> Path:
    """The cache the real-data tests share: the user's (CI's) own, so 300k paragraphs are
    tokenized at most once per machine."""
    return Path(USER_CACHE_DIR).expanduser() if USER_CACHE_DIR else REAL_CACHE_ROOT()


@pytest.fixture
def store(tmp_path, data_dir, cache_dir):
    """An empty run store for study tests, on the tiny data."""
    from tinylm.config import ImplConfig
    from tinylm.study.engine import Store

    return Store(
        tmp_path / "runs",
        data_dir=data_dir,
        cache_dir=cache_dir,
        impl=ImplConfig(device="cpu"),
        progress=False,
        origin={"command": "pytest", "commit": "test"},
    )
