"""Running a study: its jobs through the store, then results.csv, table.md, the plot, and
results/report.md (rebuilt from every study's results.csv under the output folder)."""

import dataclasses
import json
import time
from pathlib import Path

from tinylm.errors import TinylmError
from tinylm.files import write_text
from tinylm.ledger import report_reads, row_columns
from tinylm.study.engine import Cell, Execution, Job, JobFactory, Store, unique_jobs
from tinylm.study.figures import after_study, block
from tinylm.study.kinds import job_kind
from tinylm.study.presets import PRESETS, Preset
from tinylm.study.protocol import Study
from tinylm.study.registry import STUDIES
from tinylm.study.results import (
    Provenance,
    by_precision,
    check_one_precision,
    columns,
    describe_precision,
    read_rows,
    trained_rows,
    write_rows,
)
from tinylm.study.stats import format_seconds
from tinylm.tokenizer import load_tokenizer


def run_study(
    name: str,
    preset: Preset,
    *,
    out: Path,
    store: Store,
    provenance: Provenance,
    dry_run: bool = False,
    workers: int = 1,
    devices: tuple[str, ...] = (),
    ray: str | None = None,
    echo=print,
) -> dict:
    """Runs (or, with dry_run, costs) one study; returns its output paths or its plan. With
    `workers` > 1, that many jobs run at once, each in its own process, and with `devices`
    each job that trains runs on a device of its own (run_parallel). With `ray` (a cluster's
    address, or "" for the one this machine belongs to), the jobs run as tasks on a Ray
    cluster (cluster.py)."""
    if name not in STUDIES:
        raise TinylmError(f"unknown study {name!r}; known: {', '.join(STUDIES)}, all")
    study = STUDIES[name]
    if not study.defined_by(preset):
        raise TinylmError(f"preset {preset.name} defines no {name} study ({study.needs})")
    tokenizer = load_tokenizer(store.data_dir)
    execution = Execution.resolve(store.impl, preset.precision)
    factory = JobFactory(preset, tokenizer.vocab_size, execution)
    check_inputs(factory, preset, store, tokenizer)
    cells = study.cells(factory, preset)
    folder = out / name / preset.name
    path = folder / "results.csv"
    previous = read_rows(path, study.text_columns) if path.is_file() else []
    check_precision(path, previous, execution, echo)
    recorded = recorded_rows(study, cells, previous, store)
    needed = [cell.job for cell, row in zip(cells, recorded, strict=True) if row is None]
    jobs = unique_jobs([*needed, *study.extra_jobs(factory, preset)])
    count = len(cells) - len(needed)
    reused = f"; {count} rows of {path} reused" if count else ""
    if dry_run:
        from tinylm.study.estimate import plan_report

        plan = plan_report(jobs, store)
        echo(format_plan(name, preset, plan) + reused)
        return plan

    pending = [job for job in jobs if not store.done(job)]
    echo(
        f"study {name}, preset {preset.name}, {execution.precision} on {execution.device}: "
        f"{len(jobs)} jobs, {len(jobs) - len(pending)} already in {store.root}{reused}"
    )
    if ray is not None:
        from tinylm.study.cluster import run_on_ray

        run_on_ray(pending, store, ray, echo)
        pending = []
    # Jobs that measure the machine (timing) run last and alone, never beside a training job.
    shared = [job for job in pending if not job_kind(job.kind).alone]
    if shared and (devices or (workers > 1 and len(shared) > 1)):
        run_parallel(shared, store, workers, echo, devices)
        shared = []
    sequence = [*shared, *(job for job in pending if job_kind(job.kind).alone)]
    for index, job in enumerate(sequence, 1):
        echo(f"[{index}/{len(sequence)}] {describe(job)} ({store.status(job)})")
        start = time.perf_counter()
        summary = store.run(job)
        echo(f"    {outcome(job, summary)} in {format_seconds(time.perf_counter() - start)}")

    rows = [
        row or result_row(study, preset, cell, store)
        for cell, row in zip(cells, recorded, strict=True)
    ]
    rows = study.extra_rows(factory, preset, rows, store, previous)
    check_one_precision(rows, path)
    write_rows(path, rows, columns(study.columns))
    rows = read_rows(path, study.text_columns)
    changed = changed_jobs(previous, rows)
    if changed:
        echo(
            f"warning: {path} now holds other figures for {len(changed)} job(s), from their "
            f"runs in {store.root} (made on another machine?): "
            f"{', '.join(changed[:3])}{', ...' if len(changed) > 3 else ''}; "
            "to keep the old rows, restore the file (git checkout) and move those runs aside"
        )
    write_outputs(study, preset, rows, folder, provenance)
    write_report(out, provenance)
    after_study(out, echo)  # the figures README.md and docs/findings.md quote (figures.py)
    return {"folder": folder, "rows": rows}


def recorded_rows(study: Study, cells: list[Cell], previous: list[dict], store: Store) -> list:
    """Per cell, the row of the study's existing results.csv (`previous`) that stands for its
    job where the store lacks the job (else None). A fresh clone has the committed results
    but not the store that made them, so a study grows by seeds (`--seeds 5` after `--seeds
    3`) or tasks without running again the jobs whose rows it has; a job in the store gives
    its row from there. A row matches a cell by its job's folder name (what it is and the
    start of its key) and by the cell's parameters; the study may keep some of them from
    standing in (Study.reuse)."""
    by_folder: dict[str, list[dict]] = {}
    for row in previous:
        by_folder.setdefault(row["job"], []).append(row)

    def match(cell: Cell) -> dict | None:
        if store.done(cell.job):
            return None
        rows = by_folder.get(cell.job.folder) or by_folder.get(cell.job.name) or []
        params = cell.params.items()
        return next((r for r in rows if all(r.get(k) == v for k, v in params)), None)

    return study.reuse(cells, [match(cell) for cell in cells], previous)


def check_precision(path: Path, previous: list[dict], execution: Execution, echo) -> None:
    """Before any job runs: refuses to put this run's rows into a results.csv whose rows
    trained at another precision (the table would mix two, or this run would silently replace
    the committed one); rows of unknown precision (made before runs recorded it) are replaced,
    and said to be."""
    groups = by_precision(previous)
    other = sorted(set(groups) - {execution.precision, "unknown"})
    if other:
        raise TinylmError(
            f"{path} holds rows trained in {' and '.join(other)}, and this run trains in "
            f"{execution.precision}: run with --precision {other[0]} to add to them, move "
            "that results.csv aside to replace them, or write to another --out"
        )
    if "unknown" in groups:
        echo(
            f"note: {path} holds {len(groups['unknown'])} rows of unknown precision (made "
            f"before runs recorded it); this run's {execution.precision} rows replace them"
        )


def changed_jobs(previous: list[dict], rows: list[dict]) -> list[str]:
    """The jobs whose test accuracies in results.csv differ from the ones it held before. A
    job in the store gives its row from there (recorded_rows): a store filled on another
    machine (another CPU, another PyTorch) can replace committed figures, which this names."""

    def accuracies(table: list[dict]) -> dict[str, list]:
        by_job: dict[str, list] = {}
        for row in table:
            if row.get("job"):  # a committee's row is scored from its members', not a job
                by_job.setdefault(row["job"], []).append(row.get("test_accuracy"))
        return {job: sorted(values, key=repr) for job, values in by_job.items()}

    before, after = accuracies(previous), accuracies(rows)
    return [job for job, values in after.items() if job in before and before[job] != values]


def run_parallel(
    jobs: list[Job], store: Store, workers: int, echo, devices: tuple[str, ...] = ()
) -> None:
    """Runs the jobs in `workers` processes, each job once the job it starts from is done.

    On a CPU, several single-threaded jobs use the cores better than one job on all of them
    (two 1-thread jobs train 1.4x faster than one 2-thread job on 2 cores). Each worker gets
    an equal share of the threads unless --threads says otherwise; jobs run without progress
    bars and report when they finish. With `devices` (--devices), a job that trains a network
    waits for a free device and runs on it alone, while jobs that need no device run beside
    (devices.py). The first failure stops the rest (finished jobs stay in the store; a rerun
    goes on from there).
    """
    import multiprocessing
    import os
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from tinylm.study.devices import DeviceSlots

    threads = store.impl.threads or max(1, (os.cpu_count() or 1) // workers)
    impl = dataclasses.replace(store.impl, threads=threads)
    worker_store = store.derive(impl=impl, progress=False)
    slots = DeviceSlots(devices)

    def placed(job: Job) -> tuple[Store, int | None] | None:
        """The store a job runs through (on its device), or None while no device is free."""
        if not devices or not job_kind(job.kind).device:
            return worker_store, None
        slot = slots.take()
        if slot is None:
            return None
        on_device = dataclasses.replace(impl, device=devices[slot])
        return worker_store.derive(impl=on_device, slot=slot), slot

    waiting, running, finished = list(jobs), {}, 0
    where = f", one per device on {', '.join(devices)}" if devices else ""
    echo(f"running {len(jobs)} jobs, {workers} at a time ({threads} thread(s) each{where})")
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )
    with pool:
        try:
            while waiting or running:
                for job in list(waiting):
                    if len(running) == workers:
                        break
                    if job.init is not None and not store.done(job.init):
                        continue
                    place = placed(job)
                    if place is None:  # every device is busy: a job that needs none may go
                        continue
                    waiting.remove(job)
                    future = pool.submit(_run_job, place[0], job)
                    running[future] = (job, place[1], time.perf_counter())
                if not running:
                    names = ", ".join(job.folder for job in waiting[:3])
                    raise TinylmError(f"jobs wait on jobs that are not in the study: {names}")
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job, slot, start = running.pop(future)
                    if slot is not None:
                        slots.give(slot)
                    summary = future.result()  # a failure in the worker is raised here
                    finished += 1
                    on = f" on {devices[slot]}" if slot is not None else ""
                    echo(
                        f"[{finished}/{len(jobs)}] {describe(job)}{on}: {outcome(job, summary)} "
                        f"in {format_seconds(time.perf_counter() - start)}"
                    )
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _die_with_parent(parent: int) -> None:
    """A worker dies with the study that started it, even by SIGKILL (Linux): an orphan would
    go on holding its job's lock, and the rerun would find the job in use."""
    import os
    import sys

    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _run_job(store: Store, job: Job) -> dict:
    try:
        return store.run(job)
    finally:
        # A worker runs job after job, on whichever device was free: the memory PyTorch
        # keeps cached on the last one would crowd the next job placed there.
        import torch

        if torch.cuda.is_initialized():
            torch.cuda.empty_cache()


def check_inputs(factory: JobFactory, preset: Preset, store: Store, tokenizer) -> None:
    """Refuses, before any job runs, tasks that cannot be sampled at the preset's sizes and
    corpus sizes larger than the pool."""
    from tinylm.data.corpus import load_corpus
    from tinylm.data.sampling import sample_task
    from tinylm.data.tasks import load_task

    for task in preset.tasks:
        config = factory.task(task, 0)
        data = load_task(config, store.data_dir)
        sample_task(data, config)
        if preset.confirm:  # its unread examples may be fewer than the preset's test size
            sample_task(data, factory.task(task, 0, "confirm"))
    corpus = load_corpus(
        preset.corpus,
        data_dir=store.data_dir,
        tokenizer=tokenizer,
        cache_dir=store.cache_dir,
        progress=store.progress,
    )
    sizes = (preset.fixed_ws, preset.committee_ws or 0, preset.budget_ws or 0, *preset.ws_grid)
    sizes = (*sizes, preset.source_ws or 0)
    largest = max(preset.gap_ws, *sizes)
    if largest > len(corpus.pool()):
        raise TinylmError(
            f"preset {preset.name}: Ws = {largest:,} is larger than the pool of corpus "
            f"{preset.corpus} ({len(corpus.pool()):,} paragraphs)"
        )


def describe(job: Job) -> str:
    return job_kind(job.kind).describe(job)


def outcome(job: Job, summary: dict) -> str:
    """A job's headline figure."""
    return job_kind(job.kind).outcome(summary)


def result_row(study: Study, preset: Preset, cell: Cell, store: Store) -> dict:
    job = cell.job
    summary = store.summary(job)
    info = store.job_info(job)
    arch = preset.arch if isinstance(preset.arch, str) else "custom"
    row = {
        "study": study.name,
        "preset": preset.name,
        "arch": None if job.kind == "baseline" else arch,  # TF-IDF has no network
        **cell.params,
        "test_accuracy": summary["test_accuracy"],
        "test_macro_f1": summary["test_macro_f1"],
        "labels": summary["num_labels"],
        "train_examples": summary["sizes"]["train"],
        "test_examples": summary["sizes"]["test"],
        "seconds": info.get("seconds"),
        "job": store.path(job).name,
        **execution_columns(job, info),
        "commit": info.get("commit"),
        "command": info.get("command"),
    }
    if job.kind == "finetune":
        train = job.config.train
        row.update(
            finetune_epochs=train.epochs, finetune_lr=train.lr, finetune_steps=summary["steps"]
        )
    if job.init is not None:
        pretrained = store.summary(job.init)
        train = job.init.config.train
        built = job.init.init
        row.setdefault("corpus", "random" if built is None else built.config.label)
        read = pretrained.get("tokens_read")
        if job.snapshot is not None:  # the snapshot's model read this many
            read = job.snapshot
        row.update(
            pretrain_lr=train.lr,
            pretrain_steps=pretrained["steps"],
            corpus_tokens=pretrained["tokens"],
            tokens_read=read,
            epochs_read=None if read is None else read / pretrained["tokens"],
            pretrain_loss=pretrained["final_loss"],
            val_loss=pretrained.get("val_loss"),
            val_accuracy=pretrained.get("val_accuracy"),
            plateau_loss=pretrained.get("plateau_loss"),
            pretrain_seconds=store.job_info(job.init).get("seconds"),
            pretrain_job=store.path(job.init).name,
        )
    row.update(row_columns(store.root, store.path(job)))  # its test sample's earlier reads
    row.update(study.row_extras(cell, store))
    return row


def execution_columns(job: Job, info: dict) -> dict:
    """How the row's run executed, from its job.json: the precision and device type of its key
    (a network's; none for TF-IDF), and the PyTorch and processor of its last attempt."""
    attempt = (info.get("attempts") or [{}])[-1]
    execution = info.get("config", {}).get("execution") or {}
    return {
        "precision": job.precision or execution.get("precision"),
        "device": execution.get("device"),
        "torch": attempt.get("torch") if job.execution is not None else None,
        "machine": attempt.get("machine"),
    }


def write_outputs(
    study: Study, preset: Preset, rows: list[dict], folder: Path, provenance: Provenance
) -> None:
    plot_name = f"{study.name}.png"
    study.plot(rows, folder / plot_name, provenance.line().replace("`", ""))
    text = "\n\n".join(
        [
            f"# {study.title} (preset `{preset.name}`)",
            provenance.line(),
            precision_line(rows),
            preset_description(preset),
            block(f"{study.name}/{preset.name} table", study.table(rows)),
            f"![{study.title}]({plot_name})",
            "One row per run, with every parameter and figure: `results.csv`.",
        ]
    )
    write_text(folder / "table.md", text + "\n")


def precision_line(rows: list[dict]) -> str:
    """What the table's networks trained at, and on what."""
    if not trained_rows(rows):
        return "No network trained for this table."
    machines = sorted({row.get("machine") or "an unrecorded machine" for row in trained_rows(rows)})
    return f"Precision: {describe_precision(rows)}, on {'; '.join(machines)}."


def preset_description(preset: Preset) -> str:
    def train(values: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in values.items())

    sizes = "; ".join(
        f"{task} " + ("{} / {}".format(*preset.sizes[task]) if task in preset.sizes else "default")
        for task in preset.tasks
    )
    grid = ", ".join(f"{ws:,}" for ws in preset.ws_grid)
    arch = preset.arch if isinstance(preset.arch, str) else json.dumps(preset.arch)
    lines = [
        f"- architecture: `{arch}`; seeds 0 to {preset.seeds - 1}"
        + (f"; trained in {preset.precision}" if preset.precision else ""),
        f"- corpus: {preset.corpus}, nested subsets (permutation seed {preset.corpus_seed}); "
        f"gap study at Ws = {preset.gap_ws:,}; Ws grid {grid}",
        f"- pre-training: {train({**preset.pretrain, **preset.recipe})}",
        f"- fine-tuning: {train(preset.finetune)}"
        + (f"; from scratch: {train(preset.finetune_scratch)}" if preset.finetune_scratch else "")
        + "; the last epoch is reported",
        f"- train / test examples per label: {sizes}",
    ]
    for study in STUDIES.values():  # the settings of each study the preset defines
        if study.defined_by(preset):
            lines += study.preset_lines(preset)
    lines += [f"- note: {note}" for note in preset.notes]
    return "\n".join(lines)


def write_report(out: Path, provenance: Provenance) -> Path:
    """results/report.md: every claim the studies test, beside our measurement, per preset."""
    sections = []
    presets = sorted(
        {p.name for study in STUDIES for p in (out / study).glob("*") if p.is_dir()},
        key=lambda name: (list(PRESETS).index(name) if name in PRESETS else 99, name),
    )
    for preset in presets:
        claims, sources = [], []
        for name, study in STUDIES.items():
            path = out / name / preset / "results.csv"
            if not path.is_file():
                continue
            rows = read_rows(path, study.text_columns)
            claims += study.claims(rows)
            commits = sorted({r["commit"] for r in rows if r["commit"]})
            commands = sorted({r["command"] for r in rows if r["command"]})
            sources.append(
                f"- [{name}/{preset}/table.md]({name}/{preset}/table.md): "
                f"{len(rows)} runs by {', '.join(f'`{c}`' for c in commands)} "
                f"at {', '.join(commits)}; precision {describe_precision(rows)}; "
                f"{report_reads(rows)}"
            )
        table = "\n".join(
            ["| study | claim | paper | ours | verdict |", "|---|---|---|---|---|"]
            + [
                f"| {c.study} | {c.claim} | {c.paper} | {c.ours} | **{c.verdict}** |"
                for c in claims
            ]
        )
        sections.append(f"## Preset `{preset}`\n\n" + "\n".join(sources) + "\n\n" + table)
    text = "\n\n".join(
        [
            "# The paper's claims beside our measurements",
            provenance.line()
            + " Rebuilt from the results.csv files below by every study run and by "
            "`tinylm study report`.",
            "A claim *holds* when the 95% confidence interval of the measured effect lies on "
            "the claimed side of zero, *does not hold* when it lies on the other side, and is "
            "*inconclusive* when it contains zero. docs/findings.md discusses them.",
            *sections,
        ]
    )
    path = out / "report.md"
    write_text(path, text + "\n")
    return path


def format_plan(name: str, preset: Preset, plan: dict) -> str:
    jobs = [describe(row["job"]) for row in plan["rows"]]
    width = max(map(len, ["job", *jobs]))
    lines = [
        f"study {name}, preset {preset.name}: {len(plan['rows'])} jobs, {plan['to_run']} to run",
        f"{'job':<{width}} {'status':<22} {'tokens':>12} {'TFLOP':>9} {'time':>10}",
    ]
    for job, row in zip(jobs, plan["rows"], strict=True):
        lines.append(
            f"{job:<{width}} {row['status']:<22} {row['tokens']:>12,} "
            f"{row['flops'] / 1e12:>9.1f} {format_seconds(row['seconds']):>10}"
        )
    lines.append(
        f"total: {plan['flops'] / 1e12:,.1f} TFLOP; about {format_seconds(plan['seconds'])} "
        "still to run at the throughput just measured on this device"
    )
    return "\n".join(lines)
