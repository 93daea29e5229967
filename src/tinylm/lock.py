"""An exclusive lock on a run folder, so two processes never write one run at once.

The lock is an advisory `flock` on `<folder>/.lock`, which holds the owner's process id for
the message. The kernel drops a flock when its process dies, however it dies (SIGKILL
included), so a crashed run never leaves a folder locked; the file itself may stay and means
nothing on its own. Where `fcntl` does not exist (Windows), folders are not locked.
"""

import os
from pathlib import Path

from tinylm.errors import TinylmError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_FILE = ".lock"


class InUseError(TinylmError):
    """The folder is locked by another process (a cluster driver waits for it rather than fail)."""


# Locks this process holds: path -> [fd, holders]. A process may lock a folder it already
# holds (a study job, then the training run inside it): locks exclude other processes only.
_HELD: dict[Path, list] = {}


class FolderLock:
    def __init__(self, folder: str | os.PathLike):
        self.path = (Path(folder) / LOCK_FILE).absolute()
        self._holding = False

    def __enter__(self) -> "FolderLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        if fcntl is None or self._holding:
            return
        if self.path in _HELD:
            _HELD[self.path][1] += 1
            self._holding = True
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise InUseError(
                f"{self.path.parent} is in use by another run (process {owner}); wait for it "
                "to finish or stop it, or choose another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _HELD[self.path] = [fd, 1]
        self._holding = True

    @property
    def holding(self) -> bool:
        return self._holding

    def release(self) -> None:
        if not self._holding:
            return
        self._holding = False
        held = _HELD[self.path]
        held[1] -= 1
        if held[1] == 0:
            del _HELD[self.path]
            fcntl.flock(held[0], fcntl.LOCK_UN)
            os.close(held[0])


def in_use(folder: str | os.PathLike) -> bool:
    """Whether a run holds the folder's lock now (`tinylm runs`); False where locks do not
    exist. Takes the lock for an instant when it is free."""
    path = Path(folder) / LOCK_FILE
    if fcntl is None or not path.is_file():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
