"""`tinylm overlap --task T --ws N [N ...]`: how much of a task's vocabulary a corpus subset
covers (analysis/overlap.py defines every figure)."""

import json

from tinylm.config import CORPUS_SEED, CorpusConfig, TaskConfig
from tinylm.data.needs import require_data
from tinylm.data.tasks import TASK_HELP
from tinylm.paths import resolve_cache_dir


def add_parser(commands, parent) -> None:
    p = commands.add_parser(
        "overlap",
        parents=[parent],
        help="token overlap between a task sample and corpus subsets",
        description="For a task sample and each corpus subset: the task's token types and "
        "tokens, how many the subset lacks (by type and by occurrence), the frequency-weighted "
        "overlap, and the corpus types the task never uses.",
    )
    add_task_sample_options(p)
    p.add_argument("--ws", type=int, nargs="+", required=True, help="one or more subset sizes")
    p.add_argument(
        "--corpus",
        default="wikipedia",
        help="'wikipedia', task:NAME (a task's train texts) or a .txt/.jsonl(.gz) file",
    )
    p.add_argument(
        "--corpus-seed",
        type=int,
        default=CORPUS_SEED,
        help=f"the subsets' permutation seed (default {CORPUS_SEED})",
    )
    p.add_argument("--lead-only", action="store_true")
    p.add_argument("--json", action="store_true", help="one JSON object per Ws")
    p.set_defaults(run=run_overlap)


def add_task_sample_options(p) -> None:
    """The task sample's options, as `tinylm finetune` takes them (the same sample)."""
    p.add_argument("--task", required=True, help=TASK_HELP)
    p.add_argument("--sample-seed", type=int, default=0, help="the task sample's seed (default 0)")
    p.add_argument("--train-per-label", type=int)
    p.add_argument("--test-per-label", type=int)
    p.add_argument("--entity-markers", action="store_true")


def task_sample_config(args) -> TaskConfig:
    return TaskConfig(
        name=args.task,
        train_per_label=args.train_per_label,
        test_per_label=args.test_per_label,
        seed=args.sample_seed,
        entity_markers=args.entity_markers,
    )


def run_overlap(args) -> int:
    from tinylm.analysis.overlap import overlap, task_token_counts, token_counts
    from tinylm.data.corpus import load_corpus
    from tinylm.tokenizer import load_tokenizer

    task_config = task_sample_config(args)
    corpora = [
        CorpusConfig(name=args.corpus, ws=ws, seed=args.corpus_seed, lead_only=args.lead_only)
        for ws in args.ws
    ]  # validated before any work
    data_dir = require_data(args.data_dir, corpora=[args.corpus], tasks=[task_config.name])
    cache_dir = resolve_cache_dir(args.cache_dir)
    tokenizer = load_tokenizer(data_dir)
    specials = (tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id)
    task_name, task_counts = task_token_counts(
        task_config,
        data_dir=data_dir,
        tokenizer=tokenizer,
        cache_dir=cache_dir,
        progress=not args.quiet,
    )
    corpus = load_corpus(
        args.corpus,
        data_dir=data_dir,
        tokenizer=tokenizer,
        cache_dir=cache_dir,
        progress=not args.quiet,
    )
    for config in corpora:
        subset = corpus.subset(config.ws, config.seed, config.lead_only)
        figures = {
            "task": task_name,
            "corpus": config.name,
            "ws": config.ws,
            **overlap(task_counts, token_counts(subset.tokens, tokenizer.vocab_size, specials)),
        }
        if args.json:
            print(json.dumps(figures))
        else:
            print(
                f"{figures['task']} vs {config.name} Ws={config.ws:,}: "
                f"{figures['missing_types']:,} of {figures['task_types']:,} task types missing "
                f"(overlap {figures['type_overlap']:.3f}), {figures['missing_tokens']:,} of "
                f"{figures['task_tokens']:,} task tokens (weighted overlap "
                f"{figures['weighted_overlap']:.3f}); {figures['reverse_missing_types']:,} "
                f"corpus types unused by the task ({figures['reverse_missing_share']:.1%} of "
                "the corpus's tokens)"
            )
    return 0
