"""`tinylm data ...`: check, fetch, and inspect corpora and task samples."""

import json
import time
from pathlib import Path

import numpy as np

from tinylm.cli.options import ConfigFlags, Flag
from tinylm.config import CORPUS_SEED, CorpusConfig, TaskConfig
from tinylm.data.check import check_data, format_report
from tinylm.data.corpus import WIKIPEDIA, load_corpus
from tinylm.data.fetch import DATASETS, fetch
from tinylm.data.needs import (
    datasets_of,
    files_of,
    missing,
    preset_needs,
    require_data,
    wikipedia_paragraphs,
)
from tinylm.data.sampling import SPLITS, sample_task, tokenize_sample
from tinylm.data.tasks import TASK_HELP, is_user_task, load_task
from tinylm.errors import TinylmError
from tinylm.paths import (
    default_data_dir,
    fetch_command,
    named_data_dir,
    resolve_cache_dir,
    resolve_data_dir,
)
from tinylm.tokenizer import DEFAULT_MAX_LENGTH, load_tokenizer

TASK_FLAGS = ConfigFlags(
    TaskConfig, {"seed": Flag("sample-seed", help="the sample's seed (default 0)")}, skip=["name"]
)


def add_parser(commands, parent) -> None:
    data = commands.add_parser("data", help="check, fetch and inspect the data")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser("check", parents=[parent], help="report what the data directory holds")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=run_check)

    p = sub.add_parser(
        "fetch",
        parents=[parent],
        help="download the official datasets (needs internet) into the data folder",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--only", nargs="+", choices=DATASETS, help="fetch only these datasets")
    which.add_argument(
        "--for-preset",
        metavar="PRESET",
        help="fetch only what a study preset (e.g. demo) reads and the data folder lacks: "
        "nothing when it has it all; of Wikipedia, the paragraphs its studies read",
    )
    p.add_argument(
        "--wiki-articles",
        type=int,
        default=150_000,
        metavar="N",
        help="Wikipedia articles to stream (default 150,000: well above Ws = 90,000)",
    )
    p.set_defaults(run=run_fetch)

    p = sub.add_parser(
        "corpus", parents=[parent], help="tokenize (once, cached) and describe a corpus subset"
    )
    p.add_argument(
        "name",
        nargs="?",
        default=WIKIPEDIA,
        help="'wikipedia', task:NAME or a .txt/.jsonl(.gz) file",
    )
    p.add_argument("--ws", type=int, help="subset size in paragraphs (default: the whole pool)")
    p.add_argument(
        "--corpus-seed",
        type=int,
        default=CORPUS_SEED,
        help=f"the subset permutation's seed (default {CORPUS_SEED})",
    )
    p.add_argument("--lead-only", action="store_true", help="draw from article leads only")
    p.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_corpus)

    p = sub.add_parser("task", parents=[parent], help="draw a sample of a task and describe it")
    p.add_argument("name", help=TASK_HELP)
    TASK_FLAGS.add_to(p)
    p.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    p.add_argument(
        "--out", metavar="DIR", help="write the sample (jsonl per split, labels, config)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run_task)


def run_check(args) -> int:
    report = check_data(resolve_data_dir(args.data_dir))
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    if not report["usable"]:
        raise TinylmError(
            "the data directory is not usable for the default studies: "
            + "; ".join(report["reasons"])
        )
    return 0


def run_fetch(args) -> int:
    if args.wiki_articles <= 0:
        raise TinylmError(f"--wiki-articles must be positive, got {args.wiki_articles}")
    target = named_data_dir(args.data_dir) or default_data_dir()
    options = {"only": args.only}
    if args.for_preset is not None:
        options = _preset_fetch(args.for_preset, target)
        if options is None:
            return 0
    written = fetch(target, wiki_articles=args.wiki_articles, progress=not args.quiet, **options)
    for path in written:
        print(f"wrote {path}")
    return 0


def _preset_fetch(spec: str, target: Path) -> dict | None:
    """fetch's options for what preset `spec` reads and `target` lacks; None (said) when it
    lacks nothing."""
    from tinylm.study.presets import get_preset

    preset = get_preset(spec)
    needs = preset_needs(preset)
    lacking = missing(target, needs)
    problems = [f"lacks {', '.join(files_of(lacking))}"] if lacking else []
    paragraphs = preset.corpus_paragraphs
    if "wikipedia" in needs and "wikipedia" not in lacking:
        held = wikipedia_paragraphs(target, paragraphs)
        if held < paragraphs:  # a smaller preset's download: fetched again, larger
            lacking["wikipedia"] = []
            problems.append(f"holds {held:,} of the {paragraphs:,} Wikipedia paragraphs")
    if not lacking:
        print(f"{target} holds what preset {preset.name} reads: nothing to fetch")
        return None
    return {
        "only": datasets_of(lacking),
        "wiki_paragraphs": paragraphs,
        "why": f"the data folder {target} {' and '.join(problems)} that preset {preset.name} reads",
        "again": fetch_command(target, "--for-preset", spec),
    }


def run_corpus(args) -> int:
    config = CorpusConfig(
        name=args.name, ws=args.ws, seed=args.corpus_seed, lead_only=args.lead_only
    )  # validated before any work
    data_dir = require_data(args.data_dir, corpora=[config.name])
    tokenizer = load_tokenizer(data_dir, max_length=args.max_length)
    started = time.perf_counter()  # the whole load: hashing the source, then cache or tokenize
    corpus = load_corpus(
        config.name,
        data_dir=data_dir,
        tokenizer=tokenizer,
        cache_dir=resolve_cache_dir(args.cache_dir),
        progress=not args.quiet,
    )
    load_seconds = time.perf_counter() - started
    subset = corpus.subset(config.ws, config.seed, config.lead_only)
    lengths = subset.tokens.lengths
    summary = {
        "corpus": config.name,
        "source": str(corpus.source),
        "paragraphs": len(corpus),
        "pool": len(corpus.pool(config.lead_only)),
        "ws": subset.ws,
        "seed": config.seed,
        "lead_only": config.lead_only,
        "max_length": args.max_length,
        "tokens": subset.tokens.num_tokens,
        "mean_length": round(float(lengths.mean()), 2),
        "truncated_share": round(float((lengths >= args.max_length).mean()), 4),
        "token_types": len(np.unique(subset.tokens.ids)),
        "cache_hit": corpus.cache.hit,
        "load_seconds": round(load_seconds, 3),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        how = "from the cache" if corpus.cache.hit else "tokenized now, cached"
        print(
            f"corpus {config.name}: {len(corpus):,} paragraphs "
            f"(loaded in {load_seconds:.2f} s, {how})\n"
            f"subset ws={subset.ws:,} seed={config.seed}"
            f"{' lead-only' if config.lead_only else ''}: {summary['tokens']:,} tokens, "
            f"mean length {summary['mean_length']} (max {args.max_length}, "
            f"{summary['truncated_share']:.1%} truncated), "
            f"{summary['token_types']:,} token types"
        )
    return 0


def run_task(args) -> int:
    config = TaskConfig.from_dict({"name": args.name, **TASK_FLAGS.values(args)})
    # A user file needs no data directory; when one is given (or set), it also provides
    # the tokenizer, and the sample's token lengths are shown.
    data_dir = None
    if not is_user_task(args.name) or named_data_dir(args.data_dir):
        data_dir = require_data(args.data_dir, tasks=[args.name])
    started = time.perf_counter()
    task = load_task(config, data_dir)
    sample = sample_task(task, config)
    tokens = None
    if data_dir is not None:
        tokenizer = load_tokenizer(data_dir, max_length=args.max_length)
        tokens = tokenize_sample(
            sample, tokenizer, resolve_cache_dir(args.cache_dir), progress=not args.quiet
        )
    summary = {
        "task": task.name,
        "labels": sample.label_names,
        "config": sample.config.to_dict(),
        "sizes": {name: len(sample.split(name)) for name in SPLITS},
        "notices": task.notices,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if tokens is not None:
        summary["mean_tokens"] = {
            name: round(float(t.lengths.mean()), 2) if len(t) else 0.0 for name, t in tokens.items()
        }
    if args.out:
        sample.save(args.out)
        summary["out"] = args.out
    if args.json:
        print(json.dumps(summary))
    else:
        _print_task(summary)
    return 0


def _print_task(summary: dict) -> None:
    for notice in summary["notices"]:
        print(f"notice: {notice}")
    cfg = summary["config"]
    labels = summary["labels"]
    shown = ", ".join(labels[:6]) + (f", … ({len(labels)} in all)" if len(labels) > 6 else "")
    print(f"task {summary['task']}: {len(labels)} labels ({shown})")
    if cfg["sampling"] == "balanced":
        how = f"{cfg['train_per_label']} train + {cfg['test_per_label']} test per label"
        if cfg.get("split") == "confirm":
            how += " (the confirmation test split)"
    else:
        how = f"{cfg['sampling']} sampling"
    print(f"sample seed={cfg['seed']}: {how}, val fraction {cfg['val_fraction']}")
    sizes = summary["sizes"]
    line = ", ".join(f"{name} {sizes[name]:,}" for name in SPLITS)
    if "mean_tokens" in summary:
        line += " | mean tokens: " + ", ".join(
            f"{name} {summary['mean_tokens'][name]}" for name in SPLITS
        )
    print(f"examples: {line}")
    if "out" in summary:
        print(f"wrote the sample to {summary['out']}")
