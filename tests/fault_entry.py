"""`python fault_entry.py ARGS...` runs `tinylm ARGS...`; with DIE_IN_WRITE=N set, the process
SIGKILLs itself in the middle of its N-th safetensors write (a checkpoint's model or optimizer,
or a final model), after leaving half of the file on disk: a kill that tears a write."""

import os
import signal
import sys
from pathlib import Path

import tinylm.model.bert as bert
import tinylm.train.checkpoint as checkpoint
from tinylm.cli import main

die_at = int(os.environ.get("DIE_IN_WRITE", "0"))
writes = 0
original = checkpoint.save_file


def tearing_save_file(tensors, path, *args, **kwargs):
    global writes
    original(tensors, path, *args, **kwargs)
    writes += 1
    if writes == die_at:
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)


checkpoint.save_file = bert.save_file = tearing_save_file  # also in a study's workers
if __name__ == "__main__":  # not when a study's spawned worker imports this module
    sys.exit(main(sys.argv[1:]))
