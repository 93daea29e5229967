"""Instrumented fake kinds of job, for testing where the engine runs jobs and when.

A `fake-device` job (JobKind.device: it would train) records, in its summary, the device and
slot it was placed on and what else was running while it ran; it holds its slot by creating
`slot-N.busy` exclusively, so two jobs on one slot at once are seen. It waits (a bounded
time) until a `fake-cpu` job, one that needs no device, has started beside it. Registered at
import: a worker process unpickling a FakeConfig imports this module, and with it the kinds.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

from tinylm.config import Config
from tinylm.files import write_json
from tinylm.study.engine import Execution, Job
from tinylm.study.kinds import JobKind, register_kind

BESIDE_WAIT_S = 60.0  # a guard, not a limit: a device job stops waiting for a CPU job here


@dataclass
class FakeConfig(Config):
    name: str
    board: str  # a folder every fake job marks its start and end in


def fake_jobs(board: Path, devices: int, cpus: int) -> list[Job]:
    """The device jobs first: a CPU job must be let past the device jobs left waiting."""
    on_cpu = Execution("cpu", "fp32")
    jobs = [
        Job("fake-device", FakeConfig(f"dev{i}", str(board)), execution=on_cpu)
        for i in range(devices)
    ]
    return jobs + [Job("fake-cpu", FakeConfig(f"cpu{i}", str(board))) for i in range(cpus)]


def _device_job(job, folder: Path, store) -> dict:
    board = Path(job.config.board)
    busy = board / f"slot-{store.slot}.busy"
    try:
        fd = os.open(busy, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        shared = False
    except FileExistsError:  # another job holds this slot now
        fd, shared = None, True
    running = board / f"running-{job.config.name}"
    running.touch()

    def beside() -> int:  # device jobs running at this instant besides this one
        return len({p.name for p in board.glob("running-dev*")} - {running.name})

    most = beside()
    deadline = time.monotonic() + BESIDE_WAIT_S
    while not any(board.glob("started-cpu*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    saw_cpu = any(board.glob("started-cpu*"))
    time.sleep(0.3)  # long enough for a second device job to start, were one let in
    most = max(most, beside())
    running.unlink()
    if fd is not None:
        os.close(fd)
        busy.unlink()
    summary = {
        "device": store.impl.device,
        "slot": store.slot,
        "slot_shared": shared,
        "saw_cpu_job": saw_cpu,
        # the most seen at once (a job that ends and one that takes its slot are not at once)
        "most_device_jobs_beside": most,
    }
    write_json(folder / "summary.json", summary)
    return summary


def _cpu_job(job, folder: Path, store) -> dict:
    (Path(job.config.board) / f"started-{job.config.name}").touch()
    summary = {"device": store.impl.device, "slot": store.slot}
    write_json(folder / "summary.json", summary)
    return summary


for _kind in (
    JobKind("fake-cpu", 1, _cpu_job, lambda job: [job.config.name], str, str),
    JobKind("fake-device", 0, _device_job, lambda job: [job.config.name], str, str, device=True),
):
    register_kind(_kind)
