"""A helper of the lock tests: another process holding a folder's lock."""

import contextlib
import subprocess
import sys

HOLDER = """
import sys, time
from tinylm.lock import FolderLock
FolderLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


@contextlib.contextmanager
def lock_held_by_another_process(folder):
    """Yields the pid of a process that holds the folder's lock; SIGKILLs it on exit (the
    kernel then drops its lock)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
