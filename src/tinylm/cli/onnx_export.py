"""`tinylm export MODEL_DIR --onnx FILE` and `tinylm export --members DIR... --onnx FILE`: a
classifier, or a committee as one graph, in ONNX (export/onnx.py)."""

from pathlib import Path

from tinylm.errors import TinylmError


def run_export_onnx(args) -> int:
    from tinylm.cli.committee import member_folders
    from tinylm.export.onnx import export_onnx
    from tinylm.train.evaluation import load_classifier

    if not args.onnx:
        raise TinylmError("--members exports a committee, which only --onnx FILE can hold")
    if bool(args.model_dir) == bool(args.members):
        raise TinylmError("give one model folder, or a committee's --members DIR..., not both")
    folders = member_folders(args.members) if args.members else [Path(args.model_dir)]
    loaded = {str(folder): load_classifier(str(folder), args.data_dir) for folder in folders}
    members = {name: model for name, (model, _) in loaded.items()}
    tokenizer = next(iter(loaded.values()))[1]  # members share a vocabulary (build_onnx checks)
    report = export_onnx(members, args.onnx, tokenizer)
    what = f"a committee of {len(members)}" if len(members) > 1 else "a classifier"
    print(
        f"wrote {what} to {report['path']} ({report['megabytes']:.1f} MB; output: the class "
        f"probabilities, within {report['max_difference']:.1e} of PyTorch's in ONNX Runtime)"
    )
    return 0
