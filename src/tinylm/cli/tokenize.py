"""`tinylm tokenize TEXT...`: WordPiece ids and tokens of texts, as the models see them."""

import json

from tinylm.data.needs import require_data
from tinylm.tokenizer import DEFAULT_MAX_LENGTH, load_tokenizer


def add_parser(commands, parent) -> None:
    p = commands.add_parser(
        "tokenize", parents=[parent], help="show the token ids and pieces of texts"
    )
    p.add_argument("texts", nargs="+", metavar="TEXT")
    p.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH)
    p.add_argument("--json", action="store_true", help="print JSON lines")
    p.set_defaults(run=run)


def run(args) -> int:
    tokenizer = load_tokenizer(require_data(args.data_dir), max_length=args.max_length)
    for text in args.texts:
        ids = tokenizer.encode(text)
        pieces = [tokenizer.id_to_token(i) for i in ids]
        if args.json:
            print(json.dumps({"text": text, "ids": ids, "tokens": pieces}))
        else:
            print(f"{text!r}: {len(ids)} tokens")
            print(f"  ids:    {ids}")
            print(f"  tokens: {' '.join(pieces)}")
    return 0
