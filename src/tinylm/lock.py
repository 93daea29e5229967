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


class FolderLock:
    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> "FolderLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        if fcntl is None or self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise TinylmError(
                f"{self.path.parent} is in use by another run (process {owner}); wait for it "
                "to finish or stop it, or choose another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
