"""`tinylm corpus select --task T --size N --out FILE.jsonl.gz`: a task-aware pre-training
corpus (analysis/select.py gives the objective), from Wikipedia or any local corpus file."""

import json
from pathlib import Path

import numpy as np

from tinylm.cli.overlap import add_task_sample_options, task_sample_config
from tinylm.config import CORPUS_SEED, CorpusConfig
from tinylm.data.needs import require_data
from tinylm.errors import TinylmError
from tinylm.paths import resolve_cache_dir


def add_parser(commands, parent) -> None:
    corpus = commands.add_parser("corpus", help="build pre-training corpora")
    sub = corpus.add_subparsers(dest="corpus_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "select",
        parents=[parent],
        help="choose N paragraphs of a pool that best cover a task's tokens",
        description="Greedily selects N paragraphs of a corpus pool to maximise the "
        "frequency-weighted, saturating coverage of the task's train tokens, and writes them as "
        "a .jsonl.gz corpus that `tinylm pretrain --corpus FILE` reads.",
    )
    add_task_sample_options(p)
    p.add_argument("--size", type=int, required=True, help="paragraphs to select")
    p.add_argument("--out", required=True, help="the corpus file to write (.jsonl.gz)")
    p.add_argument(
        "--corpus", default="wikipedia", help="the pool: 'wikipedia', task:NAME or a file"
    )
    p.add_argument(
        "--corpus-seed",
        type=int,
        default=CORPUS_SEED,
        help=f"the pool's permutation seed (default {CORPUS_SEED})",
    )
    p.add_argument("--lead-only", action="store_true")
    p.add_argument(
        "--saturation", type=int, default=5, help="occurrences that fully cover a token (5)"
    )
    p.set_defaults(run=run_select)


def run_select(args) -> int:
    from tinylm.analysis.overlap import overlap, task_token_counts, token_counts
    from tinylm.analysis.select import coverage, greedy_select
    from tinylm.data.corpus import load_corpus, write_corpus
    from tinylm.tokenizer import load_tokenizer

    out = Path(args.out)
    if not out.name.endswith(".jsonl.gz"):
        raise TinylmError(f"--out must end in .jsonl.gz (the corpus format), got {out.name}")
    if args.saturation <= 0:
        raise TinylmError(f"--saturation must be positive, got {args.saturation}")
    pool_config = CorpusConfig(
        name=args.corpus, ws=args.size, seed=args.corpus_seed, lead_only=args.lead_only
    )
    data_dir = require_data(args.data_dir, corpora=[args.corpus], tasks=[args.task])
    cache_dir = resolve_cache_dir(args.cache_dir)
    tokenizer = load_tokenizer(data_dir)
    specials = (tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id)
    vocab = tokenizer.vocab_size
    task_name, task_counts = task_token_counts(  # only the train texts steer the selection
        task_sample_config(args),
        data_dir=data_dir,
        tokenizer=tokenizer,
        cache_dir=cache_dir,
        splits=("train",),
        progress=not args.quiet,
    )
    weights = task_counts / max(1, task_counts.sum())
    corpus = load_corpus(
        pool_config.name,
        data_dir=data_dir,
        tokenizer=tokenizer,
        cache_dir=cache_dir,
        progress=not args.quiet,
    )
    random = corpus.subset(args.size, args.corpus_seed, args.lead_only)  # checks the size
    order = np.random.default_rng(args.corpus_seed).permutation(corpus.pool(args.lead_only))
    chosen = greedy_select(
        corpus.tokens,
        order,
        weights,
        args.size,
        saturation=args.saturation,
        progress=not args.quiet,
    )

    write_corpus(out, corpus.texts(chosen))

    def describe(tokens) -> dict:
        counts = token_counts(tokens, vocab, specials)
        figures = overlap(task_counts, counts)
        return {
            "coverage": round(coverage(counts, weights, args.saturation), 4),
            "tokens": int(counts.sum()),
            **{k: figures[k] for k in ("missing_types", "weighted_overlap")},
        }

    report = {
        "out": str(out),
        "size": args.size,
        "task": task_name,
        "saturation": args.saturation,
        "selected": describe(corpus.tokens.select(chosen)),
        "random": describe(random.tokens),
    }
    print(json.dumps(report))
    return 0
