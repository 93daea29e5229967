"""The bench commands print the documented JSON fields with positive figures (tiny runs: the
speed itself is measured by the benchmarks, never asserted in a test)."""

import json

import pytest
import torch

from tinylm.cli import main


def run_json(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


TIMING = ["--warmup", 1, "--steps", 1, "--rounds", 1, "--batch-size", 8, "--json", "--quiet"]


def test_bench_pretrain_json(capsys, data_dir, cache_dir):
    r = run_json(
        capsys,
        "bench",
        "pretrain",
        "--arch",
        "bert1-cpu",
        "--ws",
        64,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        *TIMING,
    )
    for field in ("tinylm_tokens_per_s", "reference_tokens_per_s", "speedup", "mfu", "peak_flops"):
        assert r[field] > 0, field
    assert set(r["peak_memory_mb"]) == {"tinylm", "reference"}
    assert all(v > 0 for v in r["peak_memory_mb"].values())
    assert r["machine"]["date"] and r["precision"] in ("float32", "bfloat16")


def test_bench_finetune_json(capsys, data_dir, cache_dir):
    r = run_json(
        capsys,
        "bench",
        "finetune",
        "--task",
        "agnews",
        "--arch",
        "bert1-cpu",
        "--train-per-label",
        12,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        *TIMING,
    )
    for field in ("tinylm_examples_per_s", "reference_examples_per_s", "speedup", "mfu"):
        assert r[field] > 0, field


def test_bench_latency_json(capsys, data_dir, tmp_path):
    r = run_json(
        capsys,
        "bench",
        "latency",
        "--arch",
        "bert1-cpu",
        "--examples",
        3,
        "--batches",
        1,
        "--data-dir",
        data_dir,
        "--json",
    )
    figures = r["models"]["bert1-cpu"]
    assert 0 < figures["p50_ms"] <= figures["p90_ms"] and figures["throughput_per_s"] > 0

    from tinylm.model import BertForSequenceClassification
    from tinylm.model.architectures import get_architecture

    members = []
    for i, name in enumerate(("bert1-cpu", "bert1-c2-k3-d64-a8-cpu")):
        torch.manual_seed(i)
        BertForSequenceClassification(get_architecture(name), 4).save_pretrained(tmp_path / name)
        members.append(tmp_path / name)
    r = run_json(
        capsys,
        "bench",
        "latency",
        "--members",
        *members,
        "--examples",
        3,
        "--batches",
        1,
        "--data-dir",
        data_dir,
        "--json",
    )
    assert set(r["committee"]) == {"sequential", "parallel"}
    for figures in [*r["models"].values(), *r["committee"].values()]:
        assert figures["p50_ms"] > 0 and figures["p90_ms"] > 0 and figures["throughput_per_s"] > 0


def test_bench_refuses_a_conv_reference(capsys, data_dir, cache_dir):
    code = main(
        [
            "bench",
            "pretrain",
            "--arch",
            "bert1-c2-k3-d64-a8-cpu",
            "--ws",
            "64",
            "--data-dir",
            str(data_dir),
            "--cache-dir",
            str(cache_dir),
            "--quiet",
        ]
    )
    assert code == 2 and "no Hugging Face form" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_scaling_json(capsys, data_dir, cache_dir):
    r = run_json(
        capsys,
        "bench",
        "scaling",
        "--arch",
        "bert1-cpu",
        "--steps",
        1,
        "--ws",
        64,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--json",
        "--quiet",
    )
    assert {row["vary"] for row in r["rows"]} == {"hidden", "layers", "length", "batch_size"}
    assert all(row["tokens_per_s"] > 0 and row["peak_memory_mb"] > 0 for row in r["rows"])
    hours = list(r["pretraining_hours"]["by_ws"].values())
    assert hours == sorted(hours) and hours[0] > 0
