"""`tinylm bench pretrain | finetune | latency | jobs | scaling`: figures as JSON or text.

Record results in docs/benchmarks.md with the command, the machine, the date and the commit;
each report carries the machine, date and commit it was measured on.
"""

import json

from tinylm.cli.options import add_threads_flag, apply_threads
from tinylm.data.needs import require_data
from tinylm.errors import TinylmError
from tinylm.paths import resolve_cache_dir

LATENCY_TEXTS = 2000  # the first texts of the test pool, in file order


def add_parser(commands, parent) -> None:
    bench = commands.add_parser("bench", help="benchmarks against the reference procedure")
    sub = bench.add_subparsers(dest="bench_command", metavar="SUBCOMMAND", required=True)

    def timing(p, warmup=3, steps=5, rounds=2):
        p.add_argument("--device", default="auto", help="auto, cpu or cuda")
        p.add_argument("--precision", default="auto", help="auto, fp32 or bf16")
        p.add_argument("--batch-size", type=int, default=32)
        p.add_argument("--warmup", type=int, default=warmup, help="untimed steps of each")
        p.add_argument("--steps", type=int, default=steps, help="timed steps per turn")
        p.add_argument("--rounds", type=int, default=rounds, help="turns of A then B")
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("pretrain", parents=[parent], help="MLM pre-training steps: tokens/s")
    p.add_argument("--arch", required=True)
    p.add_argument("--ws", type=int, default=2000, help="the corpus subset the batches come from")
    timing(p)
    p.set_defaults(run=run_pretrain)

    p = sub.add_parser("finetune", parents=[parent], help="fine-tuning steps: examples/s")
    p.add_argument("--task", required=True)
    p.add_argument("--arch", required=True)
    p.add_argument("--train-per-label", type=int, help="the sample (default: the paper's size)")
    timing(p)
    p.set_defaults(run=run_finetune)

    p = sub.add_parser("latency", parents=[parent], help="latency and throughput of inference")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--arch", help="a classifier of this architecture (random weights)")
    which.add_argument("--members", nargs="+", metavar="DIR", help="saved classifiers")
    p.add_argument("--task", default="agnews", help="texts: this task's test pool")
    p.add_argument("--examples", type=int, default=50, help="batch-1 calls timed")
    p.add_argument("--batches", type=int, default=5, help="batch-32 calls timed")
    p.add_argument(
        "--engine",
        choices=["torch", "onnx"],
        default="torch",
        help="onnx: also the ONNX export (a committee: as one graph) in ONNX Runtime, beside "
        "PyTorch in the same run",
    )
    p.add_argument(
        "--quantize",
        choices=["int8"],
        help="with --engine onnx: the export's int8 form too (export --quantize), timed in turn",
    )
    add_threads_flag(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_latency)

    p = sub.add_parser("jobs", parents=[parent], help="one job on every core, or one per core")
    p.add_argument("--arch", default="bert1-c2-k3-d16-a3", help="the model pre-trained")
    p.add_argument("--cores", type=int, help="cores to share (default: all)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--steps", type=int, default=10, help="timed steps per job")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_jobs)

    p = sub.add_parser("scaling", parents=[parent], help="cost as the model and the work grow")
    p.add_argument("--arch", default="bert6-a3", help="projects pre-training time by Ws")
    p.add_argument("--ws", type=int, default=2000, help="corpus subset of the measured rate")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_scaling)


def _check_timing(args) -> None:
    for name in ("warmup", "steps", "rounds", "batch_size"):
        value = getattr(args, name, None)
        if value is not None and value < (0 if name == "warmup" else 1):
            raise TinylmError(f"--{name.replace('_', '-')} must be positive, got {value}")


def _print(report: dict, as_json: bool, lines: list[str]) -> None:
    print(json.dumps(report, indent=2) if as_json else "\n".join(lines))


def _memory(report: dict) -> str:
    return ", ".join(f"{k} {v:,.0f} MB" for k, v in report["peak_memory_mb"].items())


def _reference_lines(r: dict, unit: str) -> list[str]:
    if r["speedup"] is None:
        return [f"  reference: none ({r['reference_note']})"]
    rate = r[f"reference_{unit}_per_s"]
    rate = f"{rate:9,.0f}" if unit == "tokens" else f"{rate:8,.1f}"
    return [f"  reference {rate} {unit}/s   speedup {r['speedup']:.2f}x"]


def _busy_lines(r: dict) -> list[str]:
    if not r["busy"]:
        return []
    return [
        f"  the machine was busy: other processes used {r['other_cores']:.2f} cores while "
        "timing, so these figures read low; measure again on an idle machine"
    ]


def run_pretrain(args) -> int:
    from tinylm.bench.training import bench_pretrain

    def lines(r: dict) -> list[str]:
        step = r["components_ms"]["step"]
        parts = [
            f"    {name:<13} {ms:7.1f} ms  {ms / step:6.1%}"
            for name, ms in r["components_ms"].items()
            if name != "step"
        ]
        batch = "x".join(map(str, r["components_batch"]))
        return [
            f"{args.arch} pre-training on {r['device']} ({r['precision']}), "
            f"batch {r['batch_size']}:",
            f"  tinylm    {r['tinylm_tokens_per_s']:9,.0f} tokens/s   MFU {r['mfu']:.1%} of "
            f"{r['peak_flops'] / 1e9:,.0f} GFLOP/s ({r['precision']}, measured)",
            *_reference_lines(r, "tokens"),
            f"  one step of {batch} tokens: {step:.1f} ms, each part alone (forward + backward):",
            *parts,
            f"  peak memory: {_memory(r)}",
            *_busy_lines(r),
        ]

    return _training_bench(args, bench_pretrain, {"ws": args.ws}, lines)


def run_finetune(args) -> int:
    from tinylm.bench.training import bench_finetune

    def lines(r: dict) -> list[str]:
        return [
            f"{args.arch} fine-tuning on {r['task']} ({r['device']}, {r['precision']}), "
            f"mean {r['mean_tokens']:.0f} tokens:",
            f"  tinylm    {r['tinylm_examples_per_s']:8,.1f} examples/s   MFU {r['mfu']:.1%}",
            *_reference_lines(r, "examples"),
            f"  peak memory: {_memory(r)}",
            *_busy_lines(r),
        ]

    extra = {"task": args.task, "train_per_label": args.train_per_label}
    return _training_bench(args, bench_finetune, extra, lines)


def _training_bench(args, bench, extra: dict, lines) -> int:
    """Runs a training benchmark with the options both share, and prints its report."""
    from tinylm.model.architectures import canonical_name, get_architecture

    _check_timing(args)
    # pre-training reads Wikipedia; fine-tuning, its task
    reads = {"tasks": [extra["task"]]} if "task" in extra else {"corpora": ["wikipedia"]}
    r = bench(
        get_architecture(args.arch),
        data_dir=require_data(args.data_dir, **reads),
        cache_dir=resolve_cache_dir(args.cache_dir),
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        warmup=args.warmup,
        steps=args.steps,
        rounds=args.rounds,
        **extra,
    )
    _print({"arch_name": canonical_name(args.arch), **r}, args.json, lines(r))
    return 0


def run_jobs(args) -> int:
    from tinylm.bench.jobs import bench_jobs
    from tinylm.model.architectures import canonical_name, get_architecture

    get_architecture(args.arch)  # an unknown name fails here, not in a worker
    if args.steps < 1 or (args.cores is not None and args.cores < 1):
        raise TinylmError("--steps and --cores must be positive")
    r = bench_jobs(
        canonical_name(args.arch), cores=args.cores, precision=args.precision, steps=args.steps
    )
    lines = [f"{r['arch']} pre-training ({r['precision']}) on {r['cores']} cores:"]
    for a in r["arrangements"]:
        lines.append(
            f"  {a['jobs']} job(s) x {a['threads']} thread(s): {a['tokens_per_s']:7,} tokens/s"
        )
    best = r["best"]
    lines.append(
        f"  best: --jobs {best['jobs']} --threads {best['threads']} "
        f"({r['jobs_over_threads']:.2f}x for one job per core)"
    )
    if r["busy"]:
        lines.append(f"  the machine was busy ({r['other_cores']:.2f} cores): measure again idle")
    _print(r, args.json, lines)
    return 0


def run_latency(args) -> int:
    import torch

    from tinylm.bench.latency import bench_latency
    from tinylm.config import TaskConfig
    from tinylm.data.tasks import load_task
    from tinylm.data.token_cache import TokenizedTexts
    from tinylm.model.architectures import get_architecture
    from tinylm.model.bert import BertForSequenceClassification, load_pretrained
    from tinylm.tokenizer import load_tokenizer

    if args.examples < 1 or args.batches < 1:
        raise TinylmError("--examples and --batches must be positive")
    apply_threads(args.threads)
    data_dir = require_data(args.data_dir, tasks=[args.task])
    task = load_task(TaskConfig(name=args.task), data_dir)
    if args.arch:
        torch.manual_seed(0)
        members = {
            args.arch: BertForSequenceClassification(get_architecture(args.arch), task.num_labels)
        }
    else:
        members = {path: load_pretrained(path) for path in args.members}
        kinds = {name: m.kind for name, m in members.items() if m.kind != "classifier"}
        if kinds:
            raise TinylmError(f"not classifiers: {', '.join(kinds)}")
    max_length = min(m.config.max_length for m in members.values())
    tokenizer = load_tokenizer(data_dir, max_length=max_length)
    pool = task.test_pool if task.test_pool is not None else task.train_pool
    tokens = TokenizedTexts.from_lists(tokenizer.encode_batch(pool.texts[:LATENCY_TEXTS]))
    if args.quantize and args.engine != "onnx":
        raise TinylmError("--quantize times an ONNX export: add --engine onnx")
    onnx, onnx_int8, checked = None, None, {}
    if args.engine == "onnx":  # the export of the one model, or of the committee as one graph
        from tinylm.export.onnx import OnnxClassifier, build_onnx, quantize_int8, require

        data, difference = build_onnx(members)
        onnx = OnnxClassifier(data)
        checked = {"onnxruntime": require("onnxruntime").__version__, "max_difference": difference}
        if args.quantize:
            onnx_int8 = OnnxClassifier(quantize_int8(data))
    r = bench_latency(
        members, tokens, tokenizer.pad_id, args.examples, args.batches, onnx, onnx_int8
    )
    rows = {**r["models"], **{f"committee ({k})": v for k, v in r.get("committee", {}).items()}}
    if onnx is not None:
        r["onnx"].update(checked)
    for engine in ("onnx", "onnx_int8"):
        if engine in r:
            onnx_rows = {**r[engine].get("models", {}), "committee": r[engine].get("committee")}
            label = engine.replace("_", " ")
            rows.update({f"{label} {k}": v for k, v in onnx_rows.items() if v is not None})
    lines = [f"{task.name} test texts, mean {r['mean_tokens']:.0f} tokens, {r['threads']} threads:"]
    for name, f in rows.items():
        lines.append(
            f"  {name}: p50 {f['p50_ms']:.1f} ms, p90 {f['p90_ms']:.1f} ms (batch 1); "
            f"{f['throughput_per_s']:,.0f} examples/s (batch 32)"
        )
    for engine in ("onnx", "onnx_int8"):
        what = "ONNX Runtime" + (" int8" if engine == "onnx_int8" else "")
        for name, ratio in r.get(f"{engine}_speedup", {}).items():
            lines.append(
                f"  {name}: PyTorch's batch-1 p50 over {what}'s {ratio['batch1_p50']:.2f}, "
                f"{what}'s batch-32 throughput over PyTorch's {ratio['batch32_throughput']:.2f}"
            )
    _print(r, args.json, lines)
    return 0


def run_scaling(args) -> int:
    from tinylm.bench.scaling import bench_scaling
    from tinylm.bench.training import bench_pretrain
    from tinylm.model.architectures import get_architecture

    if args.steps < 1:
        raise TinylmError("--steps must be positive")
    own = bench_pretrain(
        get_architecture(args.arch),
        data_dir=require_data(args.data_dir, corpora=["wikipedia"]),
        cache_dir=resolve_cache_dir(args.cache_dir),
        reference=False,
        ws=args.ws,
        warmup=2,
        steps=args.steps,
        rounds=1,
    )
    r = bench_scaling(
        args.steps,
        {
            "arch": args.arch,
            "tokens_per_s": own["tinylm_tokens_per_s"],
            "tokens_per_paragraph": own["tokens_per_paragraph"],
        },
    )
    lines = ["vary        value  hidden layers length batch   tokens/s   memory MB"]
    for row in r["rows"]:
        lines.append(
            f"{row['vary']:<11} {row['value']:>5}  {row['hidden']:>6} {row['layers']:>6} "
            f"{row['length']:>6} {row['batch_size']:>5} {row['tokens_per_s']:>10,.0f} "
            f"{row['peak_memory_mb']:>11,.0f}"
        )
    hours = r["pretraining_hours"]
    lines.append(
        f"pre-training time of {hours['arch']} at {hours['tokens_per_s']:,.0f} tokens/s, "
        f"{hours['epochs']} epochs:"
    )
    lines += [f"  Ws {ws:>6,}: {h:8.1f} h" for ws, h in hours["by_ws"].items()]
    _print(r, args.json, lines)
    return 0
