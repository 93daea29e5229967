"""`tinylm study ... --ray [ADDRESS]`: a study's jobs as Ray tasks, over the machines of a cluster.

The driver (the `tinylm study` process) submits each job as a task once the job it starts from
is done (a fine-tuning after its pre-training, a pre-training after its built corpus), asking
for what it needs: one GPU for a job that trains where the cluster has GPUs, else CPUs (the
job's threads, --threads, default 1), and host memory (TRAINING_MEMORY, OTHER_MEMORY). Timing
jobs run last, one at a time, each asking for every CPU of a node so that nothing runs beside
it. Every task runs the job through the same
store as a local run (Store.run: the job's lock, its resume from the last checkpoint, its
summary), so the store must be one shared path that every node sees under the same name, and
the driver writes results.csv and the tables from it exactly as a local run does.

A task whose worker dies (a killed process, a lost node) is run again by Ray, up to
MAX_RETRIES times, and goes on from the job's last checkpoint. A job that fails in tinylm's own
code is not retried: the driver goes on with the jobs that do not need it and names the failures
at the end. A job another driver is running (its folder locked) waits until that run finishes.
"""

import dataclasses
import time

from tinylm.errors import TinylmError
from tinylm.lock import InUseError, in_use
from tinylm.study.engine import Job, Store
from tinylm.study.kinds import job_kind
from tinylm.study.stats import format_seconds

MAX_RETRIES = 3  # runs of a task after its worker died
POLL_S = 1.0  # how often the driver looks at the store while tasks run
# Host memory a job reserves on its node (bytes). A cpu-preset pre-training held 4.2 to 4.5 GB
# resident on 2026-11-30 (the Wikipedia token cache included); jobs that train reserve 6 GiB,
# the others (corpus building, TF-IDF) 2 GiB.
TRAINING_MEMORY = 6 * 2**30
OTHER_MEMORY = 2 * 2**30


def connect(address: str | None):
    """Ray, connected to the cluster at `address` (None: the cluster this machine belongs
    to, from RAY_ADDRESS or `ray start`, else a new local one)."""
    try:
        import ray
    except ImportError:
        raise TinylmError(
            "--ray needs Ray: pip install 'tinylm[ray]' (on every node of the cluster)"
        ) from None
    if not ray.is_initialized():
        try:
            ray.init(address=address or None, log_to_driver=False)
        except (ConnectionError, ValueError) as err:
            raise TinylmError(f"--ray: cannot reach the Ray cluster at {address}: {err}") from None
    return ray


def _run_task(store: Store, job: Job) -> dict | None:
    """A job, on a worker; None when another driver holds it (the driver waits, then looks)."""
    try:
        return store.run(job)
    except InUseError:
        return None


def run_on_ray(jobs: list[Job], store: Store, address: str | None, echo) -> None:
    """Runs the jobs on the Ray cluster at `address`; returns when each is done, raises a
    TinylmError naming the jobs that failed."""
    ray = connect(address)
    remote = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_run_task)
    gpus = any(job.execution is not None and job.execution.device == "cuda" for job in jobs)
    if gpus and not ray.cluster_resources().get("GPU", 0):
        raise TinylmError(
            "the jobs train on cuda (--device), but the Ray cluster has no GPU; "
            "run with --device cpu"
        )
    threads = store.impl.threads or 1
    worker_store = store.derive(progress=False)

    largest_node = max(n["Resources"].get("memory", 0) for n in ray.nodes() if n["Alive"])

    def submit(job: Job, cpus: float):
        # a training job runs on the device type of its key (Execution), a GPU when it says cuda
        on_gpu = job.execution is not None and job.execution.device == "cuda"
        impl = dataclasses.replace(
            store.impl, device="cuda" if on_gpu else "cpu", threads=max(1, int(cpus))
        )
        # host memory, so that a node runs no more jobs than its memory holds; never more
        # than the largest node offers, or the job would wait for ever
        memory = TRAINING_MEMORY if job_kind(job.kind).device else OTHER_MEMORY
        options = {
            "num_cpus": cpus,
            "num_gpus": 1 if on_gpu else 0,
            "memory": min(memory, largest_node) if largest_node else None,
        }
        return remote.options(**options).remote(worker_store.derive(impl=impl), job)

    shared = [job for job in jobs if not job_kind(job.kind).alone]
    alone = [job for job in jobs if job_kind(job.kind).alone]
    where = "one GPU each for training jobs" if gpus else f"{threads} CPU(s) each"
    echo(f"running {len(jobs)} jobs on the Ray cluster ({where})")
    progress = Progress(len(jobs), store, echo)
    progress.run(shared, lambda job: submit(job, threads), ray)
    node_cpus = max(n["Resources"].get("CPU", 1) for n in ray.nodes() if n["Alive"])
    for job in alone:  # one at a time, on a whole node
        progress.run([job], lambda job: submit(job, node_cpus), ray)
    progress.raise_failures()


class Progress:
    """The driver's view: which jobs are done, running, queued or failed, shown as it moves."""

    def __init__(self, total: int, store: Store, echo):
        self.total, self.store, self.echo = total, store, echo
        self.done = 0
        self.failed: dict[str, str] = {}  # job folder -> why
        self.shown = None

    def run(self, jobs: list[Job], submit, ray) -> None:
        waiting, tasks = list(jobs), {}
        while waiting or tasks:
            for job in list(waiting):
                if self.store.done(job):  # another driver finished it
                    waiting.remove(job)
                    self._finished(job, self.store.summary(job), 0.0)
                elif job.init is not None and job.init.folder in self.failed:
                    waiting.remove(job)
                    self.failed[job.folder] = f"needs {job.init.folder}, which failed"
                elif job.init is not None and not self.store.done(job.init):
                    continue
                elif not in_use(self.store.path(job)):
                    waiting.remove(job)
                    tasks[submit(job)] = (job, time.perf_counter())
            if not tasks and waiting:
                if not any(in_use(self.store.path(job)) for job in waiting):
                    names = ", ".join(job.folder for job in waiting[:3])
                    raise TinylmError(f"jobs wait on jobs that are not in the study: {names}")
                time.sleep(POLL_S)  # another driver runs them
            self._show(waiting, tasks)
            if not tasks:
                continue
            ready, _ = ray.wait(list(tasks), num_returns=1, timeout=POLL_S)
            for ref in ready:
                job, start = tasks.pop(ref)
                try:
                    summary = ray.get(ref)
                except ray.exceptions.RayError as err:
                    cause = getattr(err, "cause", None) or err
                    self.failed[job.folder] = str(cause).strip().splitlines()[-1]
                    self.echo(f"FAILED {job.folder}: {self.failed[job.folder]}")
                    continue
                if summary is None:  # another driver holds it: wait for that run
                    waiting.append(job)
                    continue
                self._finished(job, summary, time.perf_counter() - start)
        self._show(waiting, tasks)

    def _finished(self, job: Job, summary: dict, seconds: float) -> None:
        self.done += 1
        kind = job_kind(job.kind)
        self.echo(
            f"[{self.done}/{self.total}] {kind.describe(job)}: {kind.outcome(summary)} "
            f"in {format_seconds(seconds)}"
        )

    def _show(self, waiting: list[Job], tasks: dict) -> None:
        """`done, running, queued, failed`: running is a task whose job holds its lock (it
        has started on a worker); queued, one waiting for its start or for resources."""
        running = sum(in_use(self.store.path(job)) for job, _ in tasks.values())
        queued = len(waiting) + len(tasks) - running
        counts = (self.done, running, queued, len(self.failed))
        if counts != self.shown:
            self.shown = counts
            self.echo("ray: done {}, running {}, queued {}, failed {}".format(*counts))

    def raise_failures(self) -> None:
        if self.failed:
            lines = [f"{folder}: {why}" for folder, why in self.failed.items()]
            raise TinylmError(
                f"{len(self.failed)} of {self.total} jobs failed on the cluster "
                f"(finished jobs stay in the store; run again to go on): {'; '.join(lines[:3])}"
            )
