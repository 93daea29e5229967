"""`tinylm vocab build CORPUS --size N --out FILE`: a WordPiece vocabulary trained on a corpus
subset (tokenizer.py `build_vocabulary`), written as a vocab.txt that `tinylm pretrain --vocab`
and `tinylm finetune --scratch --vocab` read. The models trained with it keep a copy."""

import json
from pathlib import Path

from tinylm.config import CORPUS_SEED
from tinylm.data.needs import require_data
from tinylm.errors import TinylmError
from tinylm.paths import resolve_cache_dir


def add_parser(commands, parent) -> None:
    vocab = commands.add_parser("vocab", help="build a vocabulary on a corpus")
    sub = vocab.add_subparsers(dest="vocab_command", metavar="COMMAND", required=True)
    p = sub.add_parser(
        "build",
        parents=[parent],
        help="train a WordPiece vocabulary on a corpus subset",
        description="Trains a WordPiece vocabulary of at most --size tokens (bert-base-uncased's "
        "lower-casing and splitting, its five special tokens first) on the paragraphs of a "
        "corpus subset, and writes it as a vocab.txt.",
    )
    p.add_argument(
        "corpus", metavar="CORPUS", help="'wikipedia', task:NAME (a task's train texts), or a file"
    )
    p.add_argument("--size", type=int, required=True, help="tokens in the vocabulary (at most)")
    p.add_argument("--out", required=True, help="the vocab.txt to write")
    p.add_argument("--ws", type=int, help="paragraphs of the subset (default: the whole pool)")
    p.add_argument(
        "--corpus-seed",
        type=int,
        default=CORPUS_SEED,
        help=f"the subset's permutation seed (default {CORPUS_SEED})",
    )
    p.set_defaults(run=run_build)


def run_build(args) -> int:
    from tinylm.data.corpus import load_corpus
    from tinylm.files import write_text
    from tinylm.tokenizer import build_vocabulary, load_tokenizer, vocabulary_text

    out = Path(args.out)
    if out.is_dir():
        out = out / "vocab.txt"
    if args.ws is not None and args.ws <= 0:
        raise TinylmError(f"--ws must be a positive number of paragraphs, got {args.ws}")
    data_dir = require_data(args.data_dir, corpora=[args.corpus])
    # the subset is the one `tinylm pretrain` reads (its token cache locates the paragraphs)
    corpus = load_corpus(
        args.corpus,
        data_dir=data_dir,
        tokenizer=load_tokenizer(data_dir),
        cache_dir=resolve_cache_dir(args.cache_dir),
        progress=not args.quiet,
    )
    subset = corpus.subset(args.ws, args.corpus_seed)
    tokens = build_vocabulary(corpus.texts(subset.indices), args.size, progress=not args.quiet)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, vocabulary_text(tokens))
    built = load_tokenizer(vocab_file=out)  # read back as every run will read it
    report = {"out": str(out), "size": built.vocab_size, "corpus": args.corpus}
    report |= {"paragraphs": subset.ws, "fingerprint": built.fingerprint}
    print(json.dumps(report))
    return 0
