"""`tinylm study NAME --preset PRESET`: the paper's questions, one command each.

NAME is a study of the registry (study/registry.py), `all` (every study the preset defines,
sharing their pre-trained models), or `report` (rebuild results/report.md, each study's table
and plot, and the figures README.md and docs/findings.md quote, from the results.csv files
already there: study/figures.py). PRESET is a preset of study/presets.py or a YAML file of
preset fields.
"""

import shlex
import sys
from pathlib import Path

from tinylm.cli.options import ConfigFlags
from tinylm.config import ImplConfig
from tinylm.data.needs import require_data
from tinylm.errors import TinylmError
from tinylm.paths import resolve_cache_dir
from tinylm.provenance import in_checkout
from tinylm.train.tensorboard import summary_writer_class

IMPL_FLAGS = ConfigFlags(ImplConfig)


def add_parser(commands, parent) -> None:
    from tinylm.study.presets import PRESETS
    from tinylm.study.registry import STUDIES

    p = commands.add_parser(
        "study",
        parents=[parent],
        help=f"run a study of the paper ({', '.join(STUDIES)}) on a preset",
        description="Runs a study: pre-trains and fine-tunes what it needs (reusing every job "
        "already in the run store), then writes results.csv, table.md and a plot to "
        "OUT/NAME/PRESET/ and rebuilds OUT/report.md.",
    )
    p.add_argument(
        "name",
        metavar="NAME",
        choices=[*STUDIES, "all", "report"],
        help=f"a study ({', '.join(STUDIES)}), all (every study the preset defines), or "
        "report (rebuild OUT/report.md, each table.md's table and plot, and the figures that "
        "README.md and docs/findings.md beside OUT quote: docs/studies.md)",
    )
    p.add_argument(
        "--preset",
        default="smoke",
        help=f"{', '.join(PRESETS)}, or a YAML file of preset fields (default: smoke)",
    )
    p.add_argument("--seeds", type=int, help="number of seeds (default: the preset's)")
    p.add_argument(
        "--family",
        choices=("masked", "causal"),
        default="masked",
        help="causal: every model of the preset as a decoder pre-trained by next-token "
        "prediction (its gpt... twin), results under PRESET-causal (default: masked)",
    )
    p.add_argument("--tasks", nargs="+", metavar="TASK", help="default: the preset's tasks")
    p.add_argument("--out", default="results", help="output folder (default: results)")
    p.add_argument(
        "--runs", default="runs", help="the run store: every job's folder (default: runs)"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the jobs, what is cached, their FLOPs and the time they would take",
    )
    p.add_argument(
        "--jobs",
        type=int,
        help="jobs run at once, one process each (default: on a CPU one per core, each on "
        "one thread; with --devices one per device and one more; else 1)",
    )
    p.add_argument(
        "--devices",
        metavar="LIST",
        help="comma-separated devices (cuda:0,cuda:1 or cpu,cpu): each pre-training and "
        "fine-tuning runs on a free one, one job per device; corpus building and TF-IDF run "
        "beside them",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run the jobs as tasks on a Ray cluster (docs/cluster.md): at ADDRESS "
        "(host:port), else the one this machine belongs to (RAY_ADDRESS, `ray start`), else a "
        "new local one; --runs must be a path every node sees",
    )
    p.add_argument(
        "--allow-dirty",
        action="store_true",
        help="write results into the checkout although tinylm's source has uncommitted changes "
        "(every row's commit then ends in -dirty)",
    )
    IMPL_FLAGS.add_to(p)  # --device, --precision, --compile, --threads, --tensorboard
    p.set_defaults(run=run_study_command)


def default_jobs(devices: tuple, device: str) -> int:
    """With --devices, one job per device and one beside them. On a CPU, one job per core:
    small models' products split poorly across threads, and two one-thread jobs read 1.2 to
    1.5 times the tokens of one two-thread job (`tinylm bench jobs`, docs/benchmarks.md).
    On one GPU, one job."""
    import os

    from tinylm.train.runtime import resolve_device

    if devices:
        return len(devices) + 1
    on_cpu = resolve_device(device).type == "cpu"
    return (os.cpu_count() or 1) if on_cpu else 1


def run_study_command(args) -> int:
    from tinylm.study.devices import parse_devices
    from tinylm.study.engine import Store
    from tinylm.study.figures import unmarked
    from tinylm.study.presets import get_preset
    from tinylm.study.registry import STUDIES
    from tinylm.study.results import provenance
    from tinylm.study.runner import run_study, write_report

    command = "tinylm " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["study"] else "tinylm study"
    origin = provenance(command)
    out = Path(args.out)
    if args.name == "report":
        if not out.is_dir():
            raise TinylmError(f"{out} does not exist: run a study first")
        from tinylm.study.figures import Results, rewrite_documents, rewrite_tables

        results = Results(out)  # each results.csv read once, for tables and documents alike
        rewritten = rewrite_tables(out, results)
        print(f"wrote {write_report(out, origin)}")
        rewritten += rewrite_documents(out, results)
        print("\n".join(f"rewrote {path}" for path in rewritten) or "tables and figures current")
        return 0
    devices = parse_devices(args.devices) if args.devices else ()
    if args.ray is not None and (devices or args.jobs is not None):
        raise TinylmError("--ray places jobs on the cluster's devices: drop --jobs and --devices")
    impl = ImplConfig.from_dict(IMPL_FLAGS.values(args))
    workers = args.jobs
    if workers is None:
        workers = default_jobs(devices, impl.device)
    if workers <= 0:
        raise TinylmError(f"--jobs must be positive, got {args.jobs}")
    if args.seeds is not None and args.seeds <= 0:
        raise TinylmError(f"--seeds must be positive, got {args.seeds}")
    preset = get_preset(args.preset).with_options(
        seeds=args.seeds, tasks=args.tasks, family=args.family
    )
    if impl.tensorboard is not None:
        summary_writer_class()  # said once, before any job, rather than by every job
    data_dir = require_data(
        args.data_dir, corpora=[preset.corpus], tasks=preset.tasks, preset=args.preset
    )
    if origin.commit.endswith("-dirty") and not args.dry_run and in_checkout(out):
        if not args.allow_dirty:
            raise TinylmError(
                f"{out} is committed with the code, and tinylm's source has uncommitted "
                "changes: commit them first, so that every row names the code that made it "
                "(or --allow-dirty, which marks the rows' commit -dirty)"
            )
        print(
            f"WARNING: writing results into {out} from uncommitted code: every row's commit "
            f"reads {origin.commit}",
            file=sys.stderr,
        )
    store = Store(
        args.runs,
        data_dir=data_dir,
        cache_dir=resolve_cache_dir(args.cache_dir),
        impl=impl,
        progress=not args.quiet,
        origin={"command": origin.command, "commit": origin.commit},
    )
    if args.name == "all":  # every study the preset defines
        names = [name for name, study in STUDIES.items() if study.defined_by(preset)]
    else:
        names = [args.name]
    for name in names:
        result = run_study(
            name,
            preset,
            out=out,
            store=store,
            provenance=origin,
            dry_run=args.dry_run,
            workers=workers,
            devices=devices,
            ray=args.ray,
        )
        if not args.dry_run:
            folder = result["folder"]
            print(unmarked((folder / "table.md").read_text()))
            print(f"full outputs: {folder}/ (results.csv, table.md, {name}.png); {out}/report.md")
    return 0
