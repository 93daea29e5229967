"""The bench commands print the documented JSON fields, and their figures agree with each other
by arithmetic: MFU is the rate times the FLOPs per unit over the measured peak, the speedup is
the ratio of the rates, peak memory holds at least the training state and fits in the machine.
Tiny runs: the speed itself is measured by the benchmarks, never asserted in a test."""

import json
import os

import pytest
import torch

from tinylm.bench.components import PARTS
from tinylm.cli import main
from tinylm.config import ModelConfig
from tinylm.model.accounting import parameter_counts, training_flops_per_token
from tinylm.model.architectures import get_architecture


def run_json(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


TIMING = ["--warmup", 1, "--steps", 1, "--rounds", 1, "--batch-size", 8, "--json", "--quiet"]


def check_common(r: dict, name: str, unit: str) -> ModelConfig:
    """The checks both training benchmarks share; returns the architecture measured."""
    arch = get_architecture(name)
    assert r["arch_name"] == name and ModelConfig.from_dict(r["arch"]) == arch
    assert r["machine"]["date"] and r["precision"] in ("fp32", "bf16")
    assert r["timing"] == {"warmup": 1, "steps": 1, "rounds": 1}
    ours, theirs = r[f"tinylm_{unit}_per_s"], r[f"reference_{unit}_per_s"]
    assert ours > 0 and theirs > 0
    assert r["speedup"] == pytest.approx(ours / theirs)
    assert 0 < r["mfu"] <= 1
    # MFU's denominator is the peak of the run's own precision, not the best of all
    peaks = {key: value for key, value in r.items() if key.startswith("peak_flops_")}
    assert "peak_flops_fp32" in peaks and r["peak_flops"] == peaks[f"peak_flops_{r['precision']}"]
    assert r["other_cores"] is None or (r["other_cores"] >= 0 and isinstance(r["busy"], bool))
    # each procedure holds at least its fp32 weights, gradients and AdamW's two moments, and
    # no more than the machine has
    state = 16 * parameter_counts(arch)["total"] / 2**20
    ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    assert set(r["peak_memory_mb"]) == {"tinylm", "reference"}
    assert all(state - 0.1 <= mb < ram for mb in r["peak_memory_mb"].values())
    return arch


def test_bench_pretrain_json(capsys, data_dir, cache_dir):
    r = run_json(
        capsys,
        "bench",
        "pretrain",
        "--arch",
        "bert1-a3",
        "--ws",
        64,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        *TIMING,
    )
    arch = check_common(r, "bert1-a3", "tokens")
    # FLOPs per token of a step: at least those of a one-token sequence with few masked
    # positions, at most a full-length one with twice the 15% masked (the timed batch is ~1k
    # tokens, so its masked share is 0.15 within a few hundredths)
    per_token = r["tinylm_flops_per_token"]
    low = training_flops_per_token(arch, 1, 0.05)
    assert low <= per_token <= training_flops_per_token(arch, arch.max_length, 0.3)
    assert r["mfu"] == pytest.approx(r["tinylm_tokens_per_s"] * per_token / r["peak_flops"])
    assert 1 <= r["tokens_per_paragraph"] <= arch.max_length
    assert "front-end" not in r["components_ms"]  # a model without one


def test_bench_finetune_json(capsys, data_dir, cache_dir):
    r = run_json(
        capsys,
        "bench",
        "finetune",
        "--task",
        "agnews",
        "--arch",
        "bert1-cpu",  # an old name: the report names the architecture by its own
        "--train-per-label",
        12,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        *TIMING,
    )
    arch = check_common(r, "bert1-a3", "examples")
    # The report gives no FLOPs per example: MFU implies them, and they imply the tokens of an
    # example (per token costs grow a little with the padded length: bounds at 1 and 128). The
    # test task's texts are all of about one length, so the timed ones are near the mean.
    per_example = r["mfu"] * r["peak_flops"] / r["tinylm_examples_per_s"]
    most = per_example / training_flops_per_token(arch, 1, 0.0)
    least = per_example / training_flops_per_token(arch, arch.max_length, 0.0)
    assert r["mean_tokens"] / 2 <= least <= most <= 2 * r["mean_tokens"]
    assert 3 <= r["mean_tokens"] <= arch.max_length  # [CLS], a word, [SEP]


def test_bench_latency_json(capsys, data_dir, tmp_path):
    r = run_json(
        capsys,
        "bench",
        "latency",
        "--arch",
        "bert1-a3",
        "--examples",
        3,
        "--batches",
        1,
        "--data-dir",
        data_dir,
        "--threads",
        1,
        "--json",
    )
    figures = r["models"]["bert1-a3"]
    assert 0 < figures["p50_ms"] <= figures["p90_ms"] and figures["throughput_per_s"] > 0
    assert r["threads"] == 1  # --threads: PyTorch's, and so ONNX Runtime's

    from tinylm.model import BertForSequenceClassification
    from tinylm.model.architectures import get_architecture

    members = []
    for i, name in enumerate(("bert1-a3", "bert1-c2-k3-d16-a2")):
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


def test_bench_pretrain_times_a_conv_model_alone_part_by_part(capsys, data_dir, cache_dir):
    """The studies' conv twin has no reference form: tinylm is timed alone, and the report
    says why. Its step is broken down into the parts of the model, the front-end among them,
    each a positive time, `other` the step less the parts."""
    argv = ["bench", "pretrain", "--arch", "bert1-c2-k3-d16-a2", "--ws", 64]
    argv += ["--data-dir", data_dir, "--cache-dir", cache_dir, *TIMING]
    r = run_json(capsys, *argv)
    assert r["reference_tokens_per_s"] is None and r["speedup"] is None
    assert "no Hugging Face form" in r["reference_note"]
    assert set(r["peak_memory_mb"]) == {"tinylm"} and r["tinylm_tokens_per_s"] > 0
    parts = r["components_ms"]
    assert list(parts) == [*PARTS, "other", "step"]
    assert all(parts[name] > 0 for name in PARTS) and parts["step"] > 0
    assert parts["other"] == pytest.approx(parts["step"] - sum(parts[n] for n in PARTS), abs=0.05)
    batch, length = r["components_batch"]
    assert 1 <= batch <= 8 and 1 <= length <= get_architecture("bert1-c2-k3-d16-a2").max_length
    text = main([str(a) for a in argv if a != "--json"])
    out = capsys.readouterr().out
    assert text == 0 and "reference: none" in out and "front-end" in out


def test_bench_jobs_compares_threads_with_jobs(capsys):
    """One job on both cores against one one-thread job per core: each arrangement's total is
    the sum of its jobs' rates, and `best` names the one that read more."""
    r = run_json(
        capsys, "bench", "jobs", "--arch", "bert1-a3", "--cores", 2, "--steps", 1, "--json"
    )
    one, many = r["arrangements"]
    assert (one["jobs"], one["threads"], many["jobs"], many["threads"]) == (1, 2, 2, 1)
    for a in (one, many):
        assert len(a["tokens_per_s_per_job"]) == a["jobs"] and min(a["tokens_per_s_per_job"]) > 0
        assert abs(a["tokens_per_s"] - sum(a["tokens_per_s_per_job"])) <= a["jobs"]
    assert r["jobs_over_threads"] == pytest.approx(many["tokens_per_s"] / one["tokens_per_s"])
    winner = many if many["tokens_per_s"] > one["tokens_per_s"] else one
    assert r["best"] == {"jobs": winner["jobs"], "threads": winner["threads"]}
    assert main(["bench", "jobs", "--arch", "no-such-model"]) == 2


@pytest.mark.slow
def test_bench_scaling_json(capsys, data_dir, cache_dir):
    r = run_json(
        capsys,
        "bench",
        "scaling",
        "--arch",
        "bert1-a3",
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
