"""Helpers of the training-parity tests (CPU and CUDA): a tiny pre-training and its loss curve."""

import json

import yaml

from datagen import tiny_vocab
from tinylm.cli import main

ARCH = {"layers": 1, "heads": 2, "hidden": 64, "vocab_size": len(tiny_vocab())}


def tiny_config(tmp_path, **arch):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"arch": {**ARCH, **arch}, "corpus": {"ws": 96}}))
    return path


def losses(run) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def pretrain_losses(tmp_path, data_dir, cache_dir, name, *extra) -> list[float]:
    """Six epochs of a tiny MLM pre-training into tmp_path/name: its logged losses."""
    argv = [
        "pretrain",
        "--config",
        tiny_config(tmp_path),
        "--epochs",
        "6",
        "--batch-size",
        "8",
        "--lr",
        "2e-3",
        "--log-every",
        "6",
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--quiet",
        "--out",
        tmp_path / name,
        *extra,
    ]
    assert main([str(a) for a in argv]) == 0
    return losses(tmp_path / name)
