"""The `tinylm` command line.

Every command accepts --data-dir (falling back to $TINYLM_DATA_DIR, then
~/.cache/tinylm/data) and --cache-dir (falling back to $TINYLM_CACHE_DIR, then
~/.cache/tinylm; paths.py). Exit status: 0 on success, 2 on bad input
or missing data, with a one-line message on stderr and no traceback.
"""

import argparse
import errno
import os
import shlex
import sys

from tinylm import __version__
from tinylm.cli import (
    bench,
    committee,
    corpus,
    data,
    model,
    overlap,
    runs,
    study,
    tokenize,
    train,
    vocab,
)
from tinylm.cli.options import Parser
from tinylm.errors import TinylmError


def common_options() -> argparse.ArgumentParser:
    """Options every command takes (a parent parser, so they go after the command name)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--data-dir",
        metavar="DIR",
        help="data directory (default: $TINYLM_DATA_DIR, else ~/.cache/tinylm/data)",
    )
    parent.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="token cache (default: $TINYLM_CACHE_DIR, else ~/.cache/tinylm)",
    )
    parent.add_argument("--quiet", action="store_true", help="no progress bars")
    return parent


def build_parser() -> argparse.ArgumentParser:
    # Parser: options anywhere among a command's positionals; its subcommands inherit it.
    parser = Parser(
        prog="tinylm",
        description="Tiny language models: pre-train small BERT-style models on small corpora "
        "and measure what pre-training buys on your task.",
    )
    parser.add_argument("--version", action="version", version=f"tinylm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parent = common_options()
    data.add_parser(commands, parent)
    tokenize.add_parser(commands, parent)
    model.add_parser(commands, parent)
    train.add_parser(commands, parent)
    bench.add_parser(commands, parent)
    study.add_parser(commands, parent)
    runs.add_parser(commands, parent)
    overlap.add_parser(commands, parent)
    corpus.add_parser(commands, parent)
    committee.add_parser(commands, parent)
    vocab.add_parser(commands, parent)
    return parser


# The environment refusing a write (a full disk, a read-only folder): the user's to fix, so a
# message and status 2 rather than a traceback.
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def interrupted(args, argv: list[str]) -> str:
    """What Ctrl-C prints: how to go on from where the run stopped."""
    if args.command in ("pretrain", "finetune"):
        again = argv if "--resume" in argv else [*argv, "--resume"]
        command = shlex.join(["tinylm", *again])
        return f"tinylm: interrupted; continue from the last checkpoint: {command}"
    if args.command == "study":
        return (
            "tinylm: interrupted; run the same command again to go on: finished jobs are "
            "reused and partial ones continue from their last checkpoints"
        )
    return "tinylm: interrupted"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except TinylmError as err:
        print(f"tinylm: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted(args, argv), file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`tinylm arch list | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as err:
        if err.errno not in WRITE_ERRORS:
            raise
        where = f" {err.filename}" if err.filename else ""
        print(
            f"tinylm: error: cannot write{where}: {err.strerror}; what was written before "
            "(checkpoints, finished jobs) is intact, and --resume or a rerun goes on from it",
            file=sys.stderr,
        )
        return 2
