"""Training: schedule, masking, pre-training, fine-tuning, resume after SIGKILL, the CLI."""

import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from safetensors.torch import load_file

from datagen import tiny_vocab
from tinylm.cli import main
from tinylm.errors import ConfigError
from tinylm.model.bert import IGNORE_INDEX, load_pretrained
from tinylm.train.masking import mask_tokens
from tinylm.train.schedule import learning_rate

VOCAB = len(tiny_vocab())
# hidden 64: at 32 the separable tiny task stalls at ln 2 (two label groups told apart)
TINY_ARCH = {"layers": 1, "heads": 2, "hidden": 64, "vocab_size": VOCAB}


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({"arch": TINY_ARCH, "corpus": {"ws": 96}}))
    return path


@pytest.fixture
def finetune_file(tmp_path):
    """A fine-tuning config: a pre-training file's `corpus` section is refused there."""
    path = tmp_path / "tiny-ft.yaml"
    path.write_text(yaml.safe_dump({"arch": TINY_ARCH}))
    return path


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- schedule -----------------------------------------------------------------------------------


def test_linear_schedule_warms_up_from_above_zero_and_decays():
    rates = [
        learning_rate(s, lr=1.0, schedule="linear", total_steps=100, steps_per_epoch=10, warmup=10)
        for s in range(100)
    ]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(rates[9:]))
    assert 0 < rates[-1] <= 1 / 90


def _rates(schedule: str, total: int = 100, warmup: int = 0) -> list[float]:
    return [
        learning_rate(
            s, lr=2.0, schedule=schedule, total_steps=total, steps_per_epoch=7, warmup=warmup
        )
        for s in range(total)
    ]


def test_cosine_schedule_at_its_corner_steps():
    rates = _rates("cosine", warmup=10)
    assert rates[0] == pytest.approx(0.2) and rates[9] == pytest.approx(2.0)  # warm-up
    assert rates[10] == pytest.approx(2.0)  # the peak: cos(0)
    assert rates[55] == pytest.approx(1.0)  # half-way through the decay: cos(pi / 2)
    assert rates[-1] == pytest.approx(2.0 * 0.5 * (1 - math.cos(math.pi / 90)))  # near zero
    assert all(a >= b for a, b in itertools.pairwise(rates[10:]))


def test_triangle_schedule_peaks_half_way_or_at_the_warmup_end():
    rates = _rates("triangle")
    assert rates[0] == pytest.approx(2.0 / 50) and rates[49] == pytest.approx(2.0)
    assert rates[50] == pytest.approx(2.0) and rates[75] == pytest.approx(1.0)
    assert rates[-1] == pytest.approx(2.0 / 50)
    early = _rates("triangle", warmup=20)
    assert early[19] == pytest.approx(2.0) and early[60] == pytest.approx(1.0)


def test_constant_schedule_after_warmup_and_warmup_lengths():
    from tinylm.config import TrainConfig
    from tinylm.train.schedule import warmup_steps

    assert _rates("constant", warmup=4)[:6] == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.0, 2.0])
    assert warmup_steps(TrainConfig(warmup_steps=30), 7, 100) == 30
    assert warmup_steps(TrainConfig(warmup_fraction=0.25), 7, 100) == 25
    assert warmup_steps(TrainConfig(warmup_epochs=2.0), 7, 100) == 14
    assert warmup_steps(TrainConfig(), 7, 100) == 0
    with pytest.raises(ConfigError, match="warmup_steps: give one warm-up length"):
        TrainConfig(warmup_epochs=1.0, warmup_steps=5)


def test_paper_schedule_is_per_epoch_without_a_zero_first_epoch():
    rates = [
        learning_rate(
            s, lr=1.0, schedule="paper", total_steps=50, steps_per_epoch=10, warmup_epochs=1
        )
        for s in range(50)
    ]
    assert len(set(rates[:10])) == 1 and rates[0] == 1.0  # the reference ran epoch 0 at lr 0
    assert rates[20] == pytest.approx(3 / 4) and rates[40] == pytest.approx(1 / 4)
    finetune = [
        learning_rate(s, lr=1.0, schedule="paper", total_steps=50, steps_per_epoch=10)
        for s in range(0, 50, 10)
    ]
    assert finetune == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])


# --- masking ------------------------------------------------------------------------------------


def _runs(chosen: torch.Tensor) -> list[int]:
    """The lengths of the runs of chosen positions, row by row."""
    runs = []
    for row in chosen.tolist():
        length = 0
        for value in [*row, False]:
            if value:
                length += 1
            elif length:
                runs.append(length)
                length = 0
    return runs


@pytest.mark.parametrize("span", [2.0, 3.0])
def test_span_masking_chooses_runs_of_the_mean_length_at_the_rate(span):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(200, 30000, (200, 128), generator=g)
    ids[:, 0], ids[:, -1] = 101, 102
    mask = torch.ones_like(ids)
    common = {"special_ids": torch.tensor([0, 101, 102]), "mask_id": 103, "vocab_size": 30522}
    single = mask_tokens(ids, mask, generator=torch.Generator().manual_seed(1), rate=0.3, **common)
    spans = mask_tokens(
        ids, mask, generator=torch.Generator().manual_seed(1), rate=0.3, span=span, **common
    )
    chosen = spans[1] != IGNORE_INDEX
    assert not chosen[:, 0].any() and not chosen[:, -1].any()  # never [CLS] or [SEP]
    assert abs(chosen.float().mean().item() - 0.3) < 0.025  # about the rate
    # runs far longer than independent choices give (merged runs count as one: a lower bound)
    assert sum(_runs(chosen)) / len(_runs(chosen)) > span
    assert sum(_runs(single[1] != IGNORE_INDEX)) / len(_runs(single[1] != IGNORE_INDEX)) < 1.6
    assert max(_runs(chosen)) >= 2 * span  # neighbouring spans merge past the cut
    again = mask_tokens(
        ids, mask, generator=torch.Generator().manual_seed(1), rate=0.3, span=span, **common
    )
    assert torch.equal(again[0], spans[0]) and torch.equal(again[1], spans[1])


def test_masking_statistics_and_specials():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(200, 30000, (400, 128), generator=g)
    ids[:, 0], ids[:, -1] = 101, 102
    mask = torch.ones_like(ids)
    mask[::2, 100:] = 0
    ids[mask == 0] = 0
    state = torch.random.get_rng_state()
    inputs, labels = mask_tokens(
        ids,
        mask,
        special_ids=torch.tensor([0, 101, 102]),
        mask_id=103,
        vocab_size=30522,
        generator=torch.Generator().manual_seed(1),
    )
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is not touched
    chosen = labels != IGNORE_INDEX
    eligible = (mask == 1) & (ids != 101) & (ids != 102)
    assert not chosen[~eligible].any()  # never padding, [CLS] or [SEP]
    n = int(eligible.sum())
    share = chosen.sum().item() / n
    assert abs(share - 0.15) < 4 * math.sqrt(0.15 * 0.85 / n)
    k = int(chosen.sum())
    for part, p in (((inputs == 103) & chosen, 0.8), ((inputs == ids) & chosen, 0.1)):
        # "unchanged" also catches the random draws that hit the same id (1 in 30,000)
        assert abs(part.sum().item() / k - p) < 4 * math.sqrt(p * (1 - p) / k)
    assert torch.equal(labels[chosen], ids[chosen])
    again, _ = mask_tokens(
        ids,
        mask,
        special_ids=torch.tensor([0, 101, 102]),
        mask_id=103,
        vocab_size=30522,
        generator=torch.Generator().manual_seed(1),
    )
    assert torch.equal(inputs, again)


# --- pre-training and fine-tuning ---------------------------------------------------------------


def test_pretraining_loss_falls_well_below_chance(
    capsys, data_dir, cache_dir, tmp_path, config_file
):
    code, out, err = cli(
        capsys,
        "pretrain",
        "--config",
        config_file,
        "--epochs",
        12,
        "--batch-size",
        16,
        "--lr",
        3e-3,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--out",
        tmp_path / "run",
        "--quiet",
    )
    assert code == 0, err
    run = tmp_path / "run"
    summary = json.loads((run / "summary.json").read_text())
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["loss"] > 0.7 * math.log(VOCAB)  # starts near chance (ln V)
    assert summary["final_loss"] < 0.5 * math.log(VOCAB)
    assert all(r["tokens_per_s"] > 0 and 0 < r["mfu"] < 1 for r in records)
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["train"]["epochs"] == 12 and config["arch"]["hidden"] == 64
    assert config["corpus"]["ws"] == 96 and config["train"]["warmup_fraction"] == 0.05  # the recipe
    assert (run / "model" / "model.safetensors").is_file()


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_finetuning_a_separable_task(pooling, capsys, data_dir, cache_dir, tmp_path, finetune_file):
    code, out, err = cli(
        capsys,
        "finetune",
        "--task",
        "agnews",
        "--scratch",
        "--config",
        finetune_file,
        "--train-per-label",
        25,
        "--test-per-label",
        15,
        "--epochs",
        10,
        "--batch-size",
        8,
        "--lr",
        2e-3,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--out",
        tmp_path / "ft",
        "--pooling",
        pooling,
        "--quiet",
    )
    assert code == 0, err
    summary = json.loads((tmp_path / "ft" / "summary.json").read_text())
    assert summary["test_accuracy"] >= 0.95
    assert load_pretrained(tmp_path / "ft").pooling == pooling
    assert {
        "task",
        "num_labels",
        "test_accuracy",
        "val_accuracy",
        "selected_epoch",
        "seed",
        "init",
    } <= set(summary)
    assert summary["init"] == "scratch" and summary["sizes"] == {
        "train": 92,
        "val": 8,
        "test": 60,
    }  # val 10%
    lines = (tmp_path / "ft/metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    # a record every --log-every steps and at each epoch's end, which adds the validation score
    epochs = [r for r in records if "val_accuracy" in r]
    per_epoch = 92 // 8
    assert [r["step"] for r in epochs] == [per_epoch * (e + 1) for e in range(10)]
    assert [r["epoch"] for r in epochs] == list(range(10))
    assert all("test_accuracy" not in r for r in records)
    assert all(r["tokens_per_s"] > 0 and 0 < r["mfu"] < 1 for r in records)

    code, out, _ = cli(
        capsys,
        "evaluate",
        tmp_path / "ft",
        "--json",
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
    )
    report = json.loads(out)
    assert code == 0 and report["accuracy"] == summary["test_accuracy"] and report["n"] == 60
    assert 0 < report["macro_f1"] <= 1 and sum(map(sum, report["confusion"])) == 60
    assert report["labels"] == json.loads((tmp_path / "ft/summary.json").read_text())["label_names"]
    assert len(report["confusion"]) == len(report["labels"])

    code, out, _ = cli(
        capsys, "predict", tmp_path / "ft", "market stock profit shares", "", "x" * 5000, "--json"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(rows) == 3
    texts = tmp_path / "texts.txt"
    texts.write_text("war minister election\n\nstock profit shares\n")
    code, out, _ = cli(capsys, "predict", tmp_path / "ft" / "model", "--file", texts)
    assert code == 0 and [line.split("\t")[0] for line in out.splitlines()] == ["World", "Business"]
    # thousands of texts of every length in one call: one answer each, in their order
    many = [
        ("war minister " * (i % 40) + "election", "stock profit " * (i % 7))[i % 2]
        for i in range(3000)
    ]
    many = [text or "shares" for text in many]
    texts.write_text("\n".join(many) + "\n")
    code, out, _ = cli(capsys, "predict", tmp_path / "ft", "--file", texts, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["text"] for r in rows] == many
    for i in (0, 1, 77, 2998, 2999):  # the same label as when asked alone
        code, alone, _ = cli(capsys, "predict", tmp_path / "ft", many[i], "--json")
        assert json.loads(alone)["label"] == rows[i]["label"]
    code, out, _ = cli(
        capsys,
        "evaluate",
        tmp_path / "ft" / "model",
        "--task",
        "agnews",
        "--test-per-label",
        15,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--json",
    )
    # the same test sample as the run's (seed 0, 15 per label), so the same accuracy
    assert code == 0 and json.loads(out)["accuracy"] == summary["test_accuracy"]
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-5 for r in rows)


def test_finetuning_from_a_pretrained_run(capsys, data_dir, cache_dir, tmp_path, config_file):
    assert (
        cli(
            capsys,
            "pretrain",
            "--config",
            config_file,
            "--epochs",
            1,
            "--batch-size",
            16,
            "--data-dir",
            data_dir,
            "--cache-dir",
            cache_dir,
            "--out",
            tmp_path / "pre",
            "--quiet",
        )[0]
        == 0
    )
    code, out, err = cli(
        capsys,
        "finetune",
        "--task",
        "fewrel-val",
        "--init",
        tmp_path / "pre",
        "--train-per-label",
        10,
        "--test-per-label",
        4,
        "--epochs",
        2,
        "--select",
        "last",
        "--val-fraction",
        "0",
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--out",
        tmp_path / "ft",
        "--quiet",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["init"] == str(tmp_path / "pre") and summary["selected_epoch"] == 1
    pre = load_file(tmp_path / "pre/model/model.safetensors")
    # the classifier started from the pre-trained encoder: its config is the pre-trained one
    assert (
        json.loads((tmp_path / "ft/model/config.json").read_text())["architecture"]["hidden"] == 64
    )
    assert "bert.embeddings.word_embeddings.weight" in pre


# --- resume ---------------------------------------------------------------------------------------


def _pretrain_process(data_dir, cache_dir, config_file, out, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [
        sys.executable,
        "-m",
        "tinylm",
        "pretrain",
        "--config",
        str(config_file),
        "--epochs",
        "8",
        "--batch-size",
        "8",
        "--save-every",
        "4",
        "--data-dir",
        str(data_dir),
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(out),
        "--quiet",
        "--threads",
        "1",
        *extra,
    ]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# with the batch-size ramp too: the kill falls on the ramp (steps 20 to 30)
@pytest.mark.parametrize("flags", [(), ("--batch-ramp-steps", "30", "--batch-ramp-start", "2")])
def test_a_killed_run_resumes_to_the_same_weights(
    data_dir, cache_dir, tmp_path, config_file, flags
):
    """SIGKILL a real process mid-run, resume it, compare with an uninterrupted run."""
    whole = _pretrain_process(data_dir, cache_dir, config_file, tmp_path / "whole", *flags)
    assert whole.wait(timeout=300) == 0, whole.stderr.read().decode()

    killed = _pretrain_process(data_dir, cache_dir, config_file, tmp_path / "killed", *flags)
    checkpoints = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and not any(
        p.name >= "step-00000020"
        for p in (checkpoints.glob("step-*") if checkpoints.exists() else [])
    ):
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / "killed" / "model").exists()  # it did not finish

    resumed = _pretrain_process(
        data_dir, cache_dir, config_file, tmp_path / "killed", *flags, "--resume"
    )
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    a = load_file(tmp_path / "whole/model/model.safetensors")
    b = load_file(tmp_path / "killed/model/model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [
        json.loads(line)["step"]
        for line in (tmp_path / "killed/metrics.jsonl").read_text().splitlines()
    ]
    assert steps == sorted(set(steps))  # no step logged twice


def test_an_existing_run_is_not_overwritten(capsys, data_dir, cache_dir, tmp_path, config_file):
    argv = [
        "pretrain",
        "--config",
        config_file,
        "--max-steps",
        2,
        "--batch-size",
        8,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--out",
        tmp_path / "r",
        "--quiet",
    ]
    assert cli(capsys, *argv)[0] == 0
    code, _, err = cli(capsys, *argv)
    assert code == 2 and "already holds a run; pass --resume" in err


def test_resuming_with_another_architecture_is_refused(
    capsys, data_dir, cache_dir, tmp_path, config_file
):
    argv = ["pretrain", "--max-steps", 2, "--batch-size", 8, "--data-dir", data_dir]
    argv += ["--cache-dir", cache_dir, "--out", tmp_path / "r", "--quiet"]
    assert cli(capsys, *argv, "--config", config_file)[0] == 0
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"arch": {**TINY_ARCH, "hidden": 128}, "corpus": {"ws": 96}}))
    code, _, err = cli(capsys, *argv, "--config", other, "--max-steps", 4, "--resume")
    assert code == 2 and "Traceback" not in err
    assert "holds another model than this run builds (hidden: 64 in the checkpoint, 128" in err
    assert [p.name for p in (tmp_path / "r" / "checkpoints").iterdir()] == ["step-00000002"]


# --- configuration errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--lr", "-1"], "lr: must be positive"),
        (["--schedule", "cosh"], "schedule: unknown"),
        (["--arch", "bert7"], "unknown architecture 'bert7'"),
        (["--ws", "100000"], "larger than the pool"),
        (["--precision", "fp8"], "precision:"),
        (["--batch-size", "-8"], "batch_size: must be positive"),
    ],
)
def test_bad_pretraining_settings_exit_2(
    capsys, data_dir, cache_dir, tmp_path, config_file, extra, message
):
    code, _, err = cli(
        capsys,
        "pretrain",
        "--config",
        config_file,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--out",
        tmp_path / "r",
        "--quiet",
        *extra,
    )
    assert code == 2 and message in err, err
    assert not (tmp_path / "r" / "checkpoints").exists()


@pytest.mark.parametrize(
    "arch, message",
    [
        ({"heads": 3}, "heads: 3 heads do not divide hidden size 64"),
        ({"hidden": -64}, "hidden: must be positive, got -64"),
        ({"layers": 0}, "layers: must be positive, got 0"),
        ({"conv_layers": -1}, "conv_layers: must be 0 or more"),
        ({"base": "bert7"}, "unknown architecture 'bert7'"),
    ],
)
def test_an_invalid_architecture_is_refused_before_any_work(
    capsys, data_dir, cache_dir, tmp_path, arch, message
):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"arch": {**TINY_ARCH, **arch}, "corpus": {"ws": 96}}))
    argv = ["pretrain", "--config", path, "--data-dir", data_dir, "--cache-dir", cache_dir]
    code, _, err = cli(capsys, *argv, "--out", tmp_path / "r")
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "r").exists() and not cache_dir.exists()  # nothing was started


def test_unknown_config_field(capsys, data_dir, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"arch": TINY_ARCH, "train": {"epoch": 3}}))
    code, _, err = cli(
        capsys, "pretrain", "--config", path, "--data-dir", data_dir, "--out", tmp_path / "r"
    )
    assert code == 2 and "epoch: unknown field" in err


def test_finetune_needs_init_or_scratch(capsys, data_dir, tmp_path):
    code, _, err = cli(
        capsys, "finetune", "--task", "agnews", "--data-dir", data_dir, "--out", tmp_path / "r"
    )
    assert code == 2 and "--init DIR" in err


def test_resume_auto_in_the_config_file(capsys, data_dir, cache_dir, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "arch": TINY_ARCH,
                "corpus": {"ws": 96},
                "resume": "auto",
                "train": {"max_steps": 3, "batch_size": 8},
            }
        )
    )
    argv = [
        "pretrain",
        "--config",
        path,
        "--data-dir",
        data_dir,
        "--cache-dir",
        cache_dir,
        "--out",
        tmp_path / "r",
        "--quiet",
    ]
    assert cli(capsys, *argv)[0] == 0  # nothing to resume: starts afresh
    assert cli(capsys, *argv)[0] == 0  # a finished run: resumes at its end, trains no step
    summary = json.loads((tmp_path / "r/summary.json").read_text())
    assert summary["steps"] == 3 and math.isfinite(summary["final_loss"])


def test_weight_decay_skips_biases_and_norms():
    from tinylm.config import TrainConfig
    from tinylm.model import BertForMaskedLM
    from tinylm.model.architectures import get_architecture
    from tinylm.train.runtime import build_optimizer

    model = BertForMaskedLM(get_architecture("bert1-c2-k3-d16-a2"))
    decay, no_decay = build_optimizer(model, TrainConfig(), torch.device("cpu")).param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert "bert.encoder.layer.0.attention.self.query.weight" in decayed
    assert "bert.conv.layers.0.conv.weight" in decayed
    assert not any(n.endswith(".bias") or "LayerNorm" in n or ".norm." in n for n in decayed)
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_layer_lr_decay_scales_each_layers_rate():
    from tinylm.config import TrainConfig
    from tinylm.model import BertForSequenceClassification
    from tinylm.model.architectures import get_architecture
    from tinylm.train.runtime import build_optimizer, start_step

    model = BertForSequenceClassification(get_architecture("bert6-a3"), 2)
    train = TrainConfig(lr=1e-3, layer_lr_decay=0.5, schedule="constant")
    optimizer = build_optimizer(model, train, torch.device("cpu"))
    start_step(optimizer, train, 0, total=10, per_epoch=10, rank=0)
    rate = {}
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            rate[id(parameter)] = group["lr"]
    named = dict(model.named_parameters())
    assert rate[id(named["classifier.weight"])] == pytest.approx(1e-3)
    assert rate[id(named["bert.encoder.layer.5.output.dense.weight"])] == pytest.approx(5e-4)
    assert rate[id(named["bert.encoder.layer.0.output.dense.weight"])] == pytest.approx(1e-3 / 64)
    assert rate[id(named["bert.embeddings.word_embeddings.weight"])] == pytest.approx(1e-3 / 128)
    assert len(rate) == len(named)  # every parameter in exactly one group
    one_rate = build_optimizer(model, TrainConfig(), torch.device("cpu")).param_groups
    assert len(one_rate) == 2 and {g["lr_scale"] for g in one_rate} == {1.0}
    with pytest.raises(ConfigError, match="layer_lr_decay"):
        TrainConfig(layer_lr_decay=0.0)


def test_reinit_layers_needs_a_pretrained_model(capsys, finetune_file):
    argv = ["finetune", "--task", "agnews", "--scratch", "--config", finetune_file]
    argv += ["--reinit-layers", "1"]
    code, _, err = cli(capsys, *argv)
    assert code == 2 and "reinit_layers" in err and "--init" in err


def test_packing_fills_full_sequences():
    from tinylm.data.token_cache import TokenizedTexts
    from tinylm.train.batches import pack

    paragraphs = TokenizedTexts.from_lists(
        [[101, 5, 6, 7, 102], [101, 8, 9, 102], [101, 10, 11, 12, 13, 102]]
    )
    packed = pack(paragraphs, length=6, cls_id=101, sep_id=102)
    assert [list(packed[i]) for i in range(len(packed))] == [
        [101, 5, 6, 7, 102, 102],
        [101, 8, 9, 102, 10, 102],
        [101, 11, 12, 13, 102],
    ]


def test_gradient_clipping_bounds_the_update(capsys, data_dir, cache_dir, tmp_path, config_file):
    runs = {}
    for clip in (None, 1e-4):
        extra = [] if clip is None else ["--grad-clip", clip]
        out = tmp_path / f"clip{clip}"
        assert (
            cli(
                capsys,
                "pretrain",
                "--config",
                config_file,
                "--max-steps",
                1,
                "--batch-size",
                8,
                "--lr",
                1.0,
                "--schedule",
                "constant",
                "--weight-decay",
                0,
                "--data-dir",
                data_dir,
                "--cache-dir",
                cache_dir,
                "--out",
                out,
                "--quiet",
                *extra,
            )[0]
            == 0
        )
        runs[clip] = load_file(out / "model/model.safetensors")
    # Adam normalises the step, so clipping shows in the first moment only through epsilon:
    # the clipped run's update is smaller wherever gradients were tiny relative to eps.
    key = "bert.embeddings.LayerNorm.weight"
    assert not torch.equal(runs[None][key], runs[1e-4][key])


def test_length_grouping_sees_every_example_once_with_less_padding():
    import numpy as np

    from tinylm.train.batches import BatchPlan

    lengths = np.random.default_rng(0).integers(20, 129, size=3200)
    grouped = BatchPlan(lengths, 32, seed=1, group_by_length=True)
    plain = BatchPlan(lengths, 32, seed=1, group_by_length=False)

    def padded(plan, epoch):
        steps = range(epoch * plan.per_epoch, (epoch + 1) * plan.per_epoch)
        batches = [plan.indices(s) for s in steps]
        assert sorted(np.concatenate(batches).tolist()) == list(range(3200))  # each once
        return sum(32 * lengths[b].max() for b in batches)

    assert padded(grouped, 0) < 0.75 * padded(plain, 0)
    again = BatchPlan(lengths, 32, seed=1, group_by_length=True)
    assert all(np.array_equal(again.indices(s), grouped.indices(s)) for s in (0, 99, 100, 150))
    assert not np.array_equal(grouped.indices(0), grouped.indices(100))  # epochs differ


def test_a_second_run_on_a_folder_in_use_is_refused(
    capsys, data_dir, cache_dir, tmp_path, config_file
):
    import subprocess
    import sys

    from processes import lock_held_by_another_process

    out = tmp_path / "run"
    argv = ["pretrain", "--config", config_file, "--epochs", 1, "--data-dir", data_dir]
    argv += ["--cache-dir", cache_dir, "--out", out, "--quiet"]
    with lock_held_by_another_process(out) as pid:
        code, _, err = cli(capsys, *argv)
        assert code == 2 and f"in use by another run (process {pid})" in err
        assert not (out / "config.yaml").exists()  # nothing written
    code, _, err = cli(capsys, *argv)  # the holder was killed: nothing stays stuck
    assert code == 0, err
    assert (out / "summary.json").is_file()
    # the finished run released its folder: a resume in another process is not refused
    resumed = subprocess.run(
        [sys.executable, "-m", "tinylm", *map(str, argv), "--resume"],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "in use" not in resumed.stderr
    finished = json.loads((out / "summary.json").read_text())
    assert json.loads(resumed.stdout)["steps"] == finished["steps"]


def _poison_weights_after(steps: int, value: float, module, monkeypatch) -> None:
    """Sets every weight to `value` after `steps` optimizer steps of the training module."""
    applied = []
    original = module.apply_gradients

    def poisoning(model, optimizer, grad_clip):
        original(model, optimizer, grad_clip)
        applied.append(1)
        if len(applied) == steps:
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(value)

    monkeypatch.setattr(module, "apply_gradients", poisoning)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    capsys, data_dir, cache_dir, tmp_path, config_file, monkeypatch
):
    import tinylm.train.trainer as trainer_module

    original = trainer_module.apply_gradients
    # after step 5 the weights are NaN: step 6's loss is NaN
    _poison_weights_after(5, float("nan"), trainer_module, monkeypatch)
    out = tmp_path / "run"
    argv = ["pretrain", "--config", config_file, "--epochs", 2, "--batch-size", 16]
    argv += ["--save-every", 2, "--data-dir", data_dir, "--cache-dir", cache_dir]
    argv += ["--out", out, "--quiet"]
    code, _, err = cli(capsys, *argv)
    assert code == 2
    assert "pre-training stopped at step 6: the loss is nan" in err
    assert "step-00000004, is kept" in err
    assert not (out / "summary.json").exists() and not (out / "model").exists()
    kept = sorted(p.name for p in (out / "checkpoints").glob("step-*"))
    assert kept[-1] == "step-00000004"
    weights = load_file(out / "checkpoints" / kept[-1] / "model" / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())

    monkeypatch.setattr(trainer_module, "apply_gradients", original)
    code, _, err = cli(capsys, *argv, "--resume")  # resumes from the good checkpoint
    assert code == 0, err
    final = load_file(out / "model" / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in final.values())


def test_a_nan_loss_stops_fine_tuning_too(
    capsys, data_dir, cache_dir, tmp_path, finetune_file, monkeypatch
):
    import tinylm.train.trainer as trainer_module

    _poison_weights_after(14, float("inf"), trainer_module, monkeypatch)  # epoch 2 of 11 steps
    out = tmp_path / "ft"
    argv = ["finetune", "--task", "agnews", "--scratch", "--config", finetune_file]
    argv += ["--train-per-label", 25, "--test-per-label", 5, "--epochs", 3, "--batch-size", 8]
    argv += ["--data-dir", data_dir, "--cache-dir", cache_dir, "--out", out, "--quiet"]
    code, _, err = cli(capsys, *argv)
    assert code == 2 and "fine-tuning stopped at step 15: the loss is nan" in err, err
    assert "step-00000011, is kept" in err
    assert not (out / "summary.json").exists() and not (out / "model").exists()
    weights = load_file(out / "checkpoints" / "step-00000011" / "model" / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values())


def test_a_run_that_fails_before_writing_leaves_no_folder(
    capsys, tmp_path, data_dir, finetune_file
):
    one_example = tmp_path / "one.csv"
    one_example.write_text("text,label\na lone text,1\n")
    out = tmp_path / "out" / "run"
    argv = ["finetune", "--task", one_example, "--scratch", "--config", finetune_file]
    code, _, err = cli(capsys, *argv, "--data-dir", data_dir, "--out", out, "--quiet")
    assert code == 2 and "leaving none to train on" in err
    assert not out.exists()  # not a folder holding only its .lock
    existing = tmp_path / "existing"
    existing.mkdir()
    code, _, _ = cli(capsys, *argv, "--data-dir", data_dir, "--out", existing, "--quiet")
    assert code == 2 and existing.is_dir()  # a folder the user made stays


def test_stdout_of_finetune_is_its_json_alone(capsys, tmp_path, data_dir, cache_dir, finetune_file):
    """Progress and notes (the precision `auto` chose among them) go to stderr."""
    argv = ["finetune", "--task", "agnews", "--scratch", "--config", finetune_file]
    argv += ["--data-dir", data_dir, "--cache-dir", cache_dir, "--max-steps", "2"]
    argv += ["--train-per-label", "4", "--test-per-label", "2", "--out", tmp_path / "ft"]
    code, out, err = cli(capsys, *argv)  # no --quiet, precision auto
    assert code == 0 and json.loads(out)["task"] == "agnews"
    assert "precision" in err  # the choice is said, where it cannot break a pipe
