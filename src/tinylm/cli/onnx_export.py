"""`tinylm export MODEL_DIR --onnx FILE` and `tinylm export --members DIR... --onnx FILE`: a
classifier, or a committee as one graph, in ONNX (export/onnx.py)."""

from pathlib import Path

import numpy as np

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
    check = None
    if args.quantize and len(folders) == 1 and (folders[0] / "config.yaml").is_file():
        check = _test_sample_check(folders[0], members[str(folders[0])], tokenizer, args)
    report = export_onnx(members, args.onnx, tokenizer, quantize=args.quantize, check=check)
    what = f"a committee of {len(members)}" if len(members) > 1 else "a classifier"
    if args.quantize:
        print(
            f"wrote {what} in {args.quantize} to {report['path']} ({report['megabytes']:.1f} MB, "
            f"fp32 {report['fp32_megabytes']:.1f} MB; output: the class probabilities, within "
            f"{report['max_difference']:.1e} of PyTorch's on random batches)"
        )
    else:
        print(
            f"wrote {what} to {report['path']} ({report['megabytes']:.1f} MB; output: the class "
            f"probabilities, within {report['max_difference']:.1e} of PyTorch's in ONNX Runtime)"
        )
    if "check" in report:
        c = report["check"]
        change = c["quantized"] - c["fp32"]
        print(
            f"on the run's {c['task']} test sample ({c['n']} texts): accuracy {c['fp32']:.4f} "
            f"in PyTorch, {c['quantized']:.4f} {args.quantize} ({change:+.4f}); the two agree "
            f"on {c['agreement']:.1%} of the texts"
        )
    return 0


def _test_sample_check(run: Path, model, tokenizer, args):
    """A function scoring a quantized export on the run's own test sample beside the PyTorch
    model (a read of the test split: a line in the run's ledger)."""
    import torch

    from tinylm.config import TaskConfig
    from tinylm.data.io import read_yaml
    from tinylm.ledger import record_read
    from tinylm.train.evaluation import predict_logits, sample_for

    fields = (read_yaml(run / "config.yaml") or {}).get("task")
    if not fields:
        return None
    _, sample, tokens = sample_for(
        TaskConfig.from_dict(fields),
        model.label_names,
        tokenizer,
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        progress=False,
    )
    test, truth = tokens["test"], sample.test.labels

    def check(onnx_model) -> dict:
        cpu = torch.device("cpu")
        exact = predict_logits(model, test, pad_id=tokenizer.pad_id, device=cpu).argmax(-1)
        quantized = onnx_model.probabilities(test, tokenizer.pad_id).argmax(-1)
        exact, quantized = exact.numpy(), np.asarray(quantized)
        record_read(run, sample, "export-int8")
        return {
            "task": sample.task.name,
            "n": len(truth),
            "fp32": float((exact == truth).mean()),
            "quantized": float((quantized == truth).mean()),
            "agreement": float((exact == quantized).mean()),
        }

    return check
