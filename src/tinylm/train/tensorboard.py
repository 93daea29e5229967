"""A run's metrics, also written to TensorBoard (`--tensorboard DIR`, ImplConfig.tensorboard).

Every record of metrics.jsonl goes to `DIR/<run folder's name>/` as scalars of the same names,
at the record's global step: numbers as they are, true/false as 1/0 (`plateau`); the step
itself and anything else (None, text) are left out. The writer opens with `purge_step` at the
first step the run will log, so a resumed run hides what a killed one wrote past its
checkpoint, and TensorBoard shows each step once. `tensorboard` is an optional dependency
(`pip install 'tinylm[tensorboard]'`), imported only when a run asks for it.
"""

from pathlib import Path

from tinylm.errors import TinylmError

INSTALL = "pip install 'tinylm[tensorboard]'"


def summary_writer_class():
    """torch's SummaryWriter, or a TinylmError saying how to install what it needs."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch's module imports the tensorboard package, which may be absent
        raise TinylmError(f"--tensorboard needs the tensorboard package: {INSTALL}") from None
    return SummaryWriter


def board_folder(root: str | Path, run: Path) -> Path:
    """The run's sub-folder of the TensorBoard folder: its own folder's name."""
    return Path(root).expanduser() / Path(run).resolve().name


class TensorBoardLog:
    """The scalars of a run's records, from step `first` on (earlier files' records at
    `first` or later are hidden)."""

    def __init__(self, folder: Path, first: int):
        self.writer = summary_writer_class()(log_dir=str(folder), purge_step=first)

    def write(self, record: dict) -> None:
        step = record["step"]
        for name, value in record.items():
            if name != "step" and isinstance(value, int | float):  # bool is an int
                self.writer.add_scalar(name, float(value), global_step=step)

    def close(self) -> None:
        self.writer.close()
