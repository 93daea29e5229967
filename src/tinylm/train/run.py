"""A run folder: config.yaml (the resolved config), metrics.jsonl, summary.json, model/,
checkpoints/; and, when asked, the same metrics in a TensorBoard folder outside it
(train/tensorboard.py). Only the main process (rank 0) writes."""

import json
import os
from pathlib import Path

import yaml

from tinylm import __version__
from tinylm.errors import TinylmError
from tinylm.files import write_text
from tinylm.lock import LOCK_FILE, FolderLock
from tinylm.train.checkpoint import list_checkpoints, remove_temporaries
from tinylm.train.tensorboard import TensorBoardLog, board_folder, summary_writer_class


class RunDir:
    """The folder, locked by the writing process from here until the summary is written (or
    the process ends): a second run pointed at it is refused (tinylm/lock.py)."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        resume: bool,
        writer: bool = True,
        tensorboard: str | os.PathLike | None = None,
    ):
        self.path = Path(path)
        self.writer = writer
        self.tensorboard = tensorboard if writer else None
        self._board: TensorBoardLog | None = None
        self._lock = FolderLock(self.path)
        self._made = writer and not self.path.exists()  # this run makes the folder
        if self.tensorboard is not None:
            summary_writer_class()  # a missing package is said before any work
        if writer:
            self._lock.acquire()
            remove_temporaries(self.path)
        self.checkpoints = list_checkpoints(self.path)
        started = self.checkpoints or (self.path / "summary.json").exists()
        if started and not resume:
            self._lock.release()
            raise TinylmError(
                f"{self.path} already holds a run; pass --resume to continue it, "
                "or choose another --out"
            )
        if writer:
            self.path.mkdir(parents=True, exist_ok=True)

    def __del__(self):
        # A run that failed before writing anything (a task it could not load, a bad option
        # found late) leaves no folder holding only its lock file behind; removed while the
        # lock is still held, so no other run can have taken the folder meanwhile.
        try:
            only_lock = self._made and self._lock.holding
            if only_lock and [path.name for path in self.path.iterdir()] == [LOCK_FILE]:
                (self.path / LOCK_FILE).unlink()
                self.path.rmdir()
        except OSError:
            pass
        finally:
            self._lock.release()

    @property
    def latest_checkpoint(self) -> Path | None:
        return self.checkpoints[-1] if self.checkpoints else None

    def write_config(self, config: dict) -> None:
        self._write(
            "config.yaml",
            yaml.safe_dump({"tinylm_version": __version__, **config}, sort_keys=False),
        )

    def write_summary(self, summary: dict) -> None:
        self._write("summary.json", json.dumps(summary, indent=2) + "\n")
        self._lock.release()  # the run is complete

    def open_log(self, step: int) -> None:
        """Before the run's first step to come, `step` (0, or its checkpoint's): drops the
        metrics lines past it, which the run will write again (a killed run's, before or
        after its last checkpoint), and opens the TensorBoard log at it."""
        self._truncate_log(step)
        if self.tensorboard is not None:
            self.close_log()
            # the first record to come is step + 1's; what a killed run wrote from there is hidden
            self._board = TensorBoardLog(board_folder(self.tensorboard, self.path), step + 1)

    def log(self, record: dict) -> None:
        if self.writer:
            with open(self.path / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        if self._board is not None:
            self._board.write(record)

    def close_log(self) -> None:
        """Flushes and closes the TensorBoard log (metrics.jsonl is closed after each line)."""
        if self._board is not None:
            self._board.close()
            self._board = None

    def _truncate_log(self, step: int) -> None:
        path = self.path / "metrics.jsonl"
        if not self.writer or not path.is_file():
            return
        kept = [
            line
            for line in path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step
        ]
        self._write("metrics.jsonl", "".join(line + "\n" for line in kept))

    def _write(self, name: str, text: str) -> None:
        if not self.writer:
            return
        write_text(self.path / name, text)
