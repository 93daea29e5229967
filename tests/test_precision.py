"""`--precision auto` chooses by measured speed (train/precision.py), and a model is scored in
fp32 whatever precision trained it (one evaluation path)."""

import json

import pytest
import torch
import yaml

from datagen import tiny_vocab
from tinylm.cli import main
from tinylm.train import precision


@pytest.fixture
def timed(monkeypatch):
    """Product rates set by the test; counts how often the CPU is timed."""
    calls = []
    rates = {torch.float32: 100e9, torch.bfloat16: 100e9}

    def fake(dtype, repeats=5):
        calls.append(dtype)
        return rates[dtype]

    precision._rates.cache_clear()
    monkeypatch.setattr(precision, "_time_products", fake)
    monkeypatch.setattr(precision, "cpu_has_bf16_instructions", lambda: True)
    yield rates, calls
    precision._rates.cache_clear()


@pytest.mark.parametrize(
    ("bf16_rate", "chosen"), [(124e9, "fp32"), (125e9, "bf16"), (55e9, "fp32")]
)
def test_bf16_only_when_measured_clearly_faster(timed, bf16_rate, chosen):
    rates, _ = timed
    rates[torch.bfloat16] = bf16_rate
    choice, note = precision.auto_precision(torch.device("cpu"))
    assert choice == chosen
    assert f"{bf16_rate / 100e9:.2f}x as fast as fp32" in note and f"precision {chosen}" in note


def test_the_measurement_is_cached_per_machine(timed, tmp_path):
    rates, calls = timed
    rates[torch.bfloat16] = 300e9
    assert precision.auto_precision(torch.device("cpu"))[0] == "bf16"
    assert len(calls) == 2  # fp32 and bf16, once
    cached = json.loads((tmp_path / "default-cache" / precision.CACHE_FILE).read_text())
    (entry,) = cached.values()
    assert entry == {"fp32": 100e9, "bf16": 300e9}
    precision._rates.cache_clear()  # a new process: read from the file, not timed again
    rates[torch.bfloat16] = 1e9
    assert precision.auto_precision(torch.device("cpu"))[0] == "bf16"
    assert len(calls) == 2


def test_a_cpu_without_bf16_instructions_runs_fp32_untimed(timed, monkeypatch):
    _, calls = timed
    monkeypatch.setattr(precision, "cpu_has_bf16_instructions", lambda: False)
    choice, note = precision.auto_precision(torch.device("cpu"))
    assert choice == "fp32" and "no bf16" in note and calls == []


def test_a_model_has_one_accuracy_whatever_precision_trained_it(
    capsys, data_dir, cache_dir, tmp_path
):
    """Trained under bf16 autocast, scored at the run's end and by `tinylm evaluate`: the
    same accuracy and macro-F1, since both score in fp32."""
    arch = {"layers": 1, "heads": 2, "hidden": 64, "vocab_size": len(tiny_vocab())}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"arch": arch}))
    out = tmp_path / "ft"
    argv = ["finetune", "--task", "agnews", "--scratch", "--config", config, "--epochs", 2]
    argv += ["--train-per-label", 20, "--test-per-label", 10, "--lr", 2e-3]
    argv += ["--precision", "bf16", "--data-dir", data_dir, "--cache-dir", cache_dir]
    argv += ["--out", out, "--quiet"]
    assert main([str(a) for a in argv]) == 0
    summary = json.loads((out / "summary.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(out), "--json", "--data-dir", str(data_dir), "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] == summary["test_accuracy"]
    assert report["macro_f1"] == summary["test_macro_f1"]
    assert yaml.safe_load((out / "config.yaml").read_text())["impl"]["precision"] == "bf16"


def test_the_peak_measurement_times_only_products_of_bounded_size():
    from tinylm.train.runtime import PROBE_SIZE, cpu_matmul_sizes, measure_matmul_flops

    assert cpu_matmul_sizes(80e9) == (1024, 2048)  # fp32 on 1 core: 0.2 s per 2048 product
    assert cpu_matmul_sizes(5e9) == (1024,)  # 3.4 s per 2048 product: too long
    assert cpu_matmul_sizes(1e9) == (PROBE_SIZE,)  # bf16 without avx512_bf16
    assert measure_matmul_flops(torch.device("cpu"), torch.float32, warmup_s=0.0) > 1e8


def test_a_starved_parallel_product_does_not_set_the_cpu_peak(monkeypatch):
    """On a busy CPU the threads of a parallel product wait for a starved one: the peak is
    the higher of that rate and one thread's rate times the threads, and the thread count
    is restored."""
    from tinylm.train import runtime

    def rate(device, dtype, sizes, warmup_s):  # parallel products starved, one thread not
        return 2e9 if torch.get_num_threads() > 1 else 50e9

    threads = torch.get_num_threads()
    monkeypatch.setattr(runtime, "_best_rate", rate)
    try:
        torch.set_num_threads(2)
        assert runtime.measure_matmul_flops(torch.device("cpu"), torch.float32) == 100e9
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        assert runtime.measure_matmul_flops(torch.device("cpu"), torch.float32) == 50e9
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("asked", "local_rank", "placed"),
    [("cuda:1", None, "cuda:1"), ("cuda", None, "cuda:0"), ("cuda", "1", "cuda:1")],
)
def test_a_cuda_run_makes_its_device_the_current_one(monkeypatch, asked, local_rank, placed):
    """Under --devices a worker runs a job on cuda:1 after one on cuda:0, and under torchrun
    rank LOCAL_RANK runs on that GPU: what names no index (synchronize, the matmul peak,
    NCCL's communicator) must follow the run's device, and the device must carry its index
    (no CUDA here: torch.cuda is stood in for)."""
    from tinylm.config import ImplConfig
    from tinylm.train.runtime import setup_runtime

    if local_rank is not None:  # torchrun with one process: no process group to start
        monkeypatch.setenv("RANK", "0")
        monkeypatch.setenv("WORLD_SIZE", "1")
        monkeypatch.setenv("LOCAL_RANK", local_rank)
    current = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "set_device", current.append)
    runtime = setup_runtime(ImplConfig(device=asked, precision="fp32"))
    assert runtime.device == torch.device(placed)
    assert current == [torch.device(placed)]
