"""`tinylm arch list`, `tinylm export`, `tinylm import`: architectures and model files."""

import json
from pathlib import Path

from tinylm.errors import TinylmError
from tinylm.model.accounting import parameter_counts, training_flops_per_token
from tinylm.model.architectures import ARCHITECTURES, aliases_of

LENGTH = 128
ONNX_HELP = (
    "an ONNX file of the classifier (or of the --members' committee) giving the class "
    "probabilities, checked against PyTorch (docs/onnx.md)"
)


def add_parser(commands, parent) -> None:
    arch = commands.add_parser("arch", help="the named architectures")
    sub = arch.add_subparsers(dest="arch_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("list", parents=[parent], help="every named architecture with its cost")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true")
    form.add_argument("--markdown", action="store_true", help="the table of docs/architectures.md")
    p.set_defaults(run=run_arch_list)

    p = commands.add_parser(
        "export", parents=[parent], help="write a model in Hugging Face's BERT format or ONNX"
    )
    p.add_argument(
        "model_dir", nargs="?", help="a save_pretrained folder, or a run folder with model/"
    )
    form = p.add_mutually_exclusive_group(required=True)
    form.add_argument(
        "--hf",
        metavar="OUT_DIR",
        help="where to write it, with its tokenizer and a model card (a model without its own "
        "vocab.txt takes the --data-dir vocabulary)",
    )
    form.add_argument("--onnx", metavar="OUT.onnx", help=ONNX_HELP)
    p.add_argument(
        "--members", nargs="+", metavar="DIR", help="a committee's run folders (with --onnx)"
    )
    p.add_argument(
        "--quantize",
        choices=["int8"],
        help="with --onnx: weights in int8 (ONNX Runtime's dynamic quantization, about a "
        "quarter of the size); a run folder's test sample is scored in both forms, the "
        "accuracy change printed and stored in the file's metadata",
    )
    p.set_defaults(run=run_export)

    p = commands.add_parser(
        "import", parents=[parent], help="a Hugging Face BERT checkpoint as a tinylm model"
    )
    p.add_argument(
        "--hf",
        required=True,
        metavar="DIR_OR_NAME",
        help="a folder with config.json and model.safetensors, or a hub model name",
    )
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(run=run_import)


def architecture_rows() -> list[dict]:
    rows = []
    for name, (config, description) in ARCHITECTURES.items():
        params = parameter_counts(config)
        rows.append(
            {
                "name": name,
                "aliases": aliases_of(name),  # old names that still resolve to this one
                "description": description,
                "layers": config.layers,
                "heads": config.heads,
                "hidden": config.hidden,
                "conv_layers": config.conv_layers,
                "conv_kernel": list(config.conv_kernel) if config.conv_layers else None,
                "conv_channels": config.conv_channels if config.conv_layers else None,
                "parameters": params["total"],
                "embedding_parameters": params["embeddings"],
                "training_flops_per_token": training_flops_per_token(config, LENGTH),
            }
        )
    return rows


# The plain-text columns: title, alignment and width; the header and the rows share them, so
# they line up. The FLOPs are one MLM training step's per token at length LENGTH, as in --markdown.
COLUMNS = (
    ("name", "<", 22),
    ("layers", ">", 6),
    ("heads", ">", 5),
    ("hidden", ">", 6),
    ("conv", "<", 14),
    ("params", ">", 7),
    ("train MFLOP/token", ">", 17),
    ("old name (alias)", "<", 0),
)


def _plain_line(cells) -> str:
    return "  ".join(
        f"{cell:{align}{width}}" for cell, (_, align, width) in zip(cells, COLUMNS, strict=True)
    ).rstrip()


def run_arch_list(args) -> int:
    rows = architecture_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.markdown:
        print(
            "| name | layers | heads | hidden | conv | parameters | embeddings | "
            f"training MFLOP/token (length {LENGTH}) | old name (alias) |"
        )
        print("|---|---:|---:|---:|---|---:|---:|---:|---|")
    else:
        print(_plain_line([title for title, _, _ in COLUMNS]))
    for r in rows:
        conv = (
            f"{r['conv_layers']} x {'x'.join(map(str, r['conv_kernel']))}, d{r['conv_channels']}"
            if r["conv_layers"]
            else "-"
        )
        mflop = r["training_flops_per_token"] / 1e6
        if args.markdown:
            cells = [f"`{r['name']}`", r["layers"], r["heads"], r["hidden"], conv]
            cells += [f"{r['parameters']:,}", f"{r['embedding_parameters']:,}", f"{mflop:,.1f}"]
            cells.append(", ".join(f"`{a}`" for a in r["aliases"]) or "-")
            print("| " + " | ".join(map(str, cells)) + " |")
        else:
            cells = [r["name"], r["layers"], r["heads"], r["hidden"], conv]
            cells += [f"{r['parameters'] / 1e6:.2f}M", f"{mflop:,.1f}", ", ".join(r["aliases"])]
            print(_plain_line(cells))
    return 0


def run_export(args) -> int:
    if args.onnx or args.members:
        from tinylm.cli.onnx_export import run_export_onnx

        return run_export_onnx(args)
    if not args.model_dir:
        raise TinylmError("give the model folder to export")
    if args.quantize:
        raise TinylmError("--quantize makes an ONNX file: give --onnx OUT.onnx, not --hf")
    from tinylm.export.hf import export_folder

    out = export_folder(args.model_dir, args.hf, data_dir=args.data_dir)
    print(f"wrote a Hugging Face BERT model, its tokenizer and a model card to {out}")
    return 0


def run_import(args) -> int:
    from tinylm.export.hf import import_hf

    source = Path(args.hf).expanduser()
    if not source.is_dir():
        source = _download(args.hf)
    model, notes = import_hf(source)
    model.save_pretrained(args.out)
    for note in notes:
        print(f"note: {note}")
    print(f"wrote a tinylm masked-LM model to {args.out}")
    return 0


def _download(name: str) -> Path:
    """A hub model's config and safetensors weights (needs internet)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, allow_patterns=["config.json", "model.safetensors"]))
    except Exception as err:
        raise TinylmError(
            f"{name!r} is not a folder, and downloading it from the hub failed: {err}"
        ) from None
