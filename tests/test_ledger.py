"""The test ledger (tinylm/ledger.py): every reading of a test split is one line of the run
store's test-ledger.jsonl, a run that selects reads none, and a study's rows say how many
times their test sample had been read before the run they report."""

import dataclasses
import json
import re
import subprocess
import sys
import types

import numpy as np
import torch
import yaml

from datagen import tiny_vocab
from studykit import run, tiny_preset
from tinylm.cli import main
from tinylm.config import ModelConfig, TaskConfig
from tinylm.data.sampling import sample_task
from tinylm.data.tasks import load_task
from tinylm.ledger import (
    LEDGER_FILE,
    read_ledger,
    record_read,
    report_reads,
    row_columns,
    sample_hash,
)
from tinylm.model.bert import BertForSequenceClassification
from tinylm.study.results import read_rows
from tinylm.train.config import FinetuneConfig

ARCH = {"layers": 1, "heads": 2, "hidden": 32, "intermediate": 64, "vocab_size": len(tiny_vocab())}
AGNEWS = ["World", "Sports", "Business", "Sci/Tech"]
HASH = re.compile(r"^[0-9a-f]{16}$")


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def finetune(capsys, tmp_path, data_dir, cache_dir, out, *extra):
    config = tmp_path / "arch.yaml"
    config.write_text(yaml.safe_dump({"arch": ARCH}))
    return cli(
        capsys,
        *("finetune", "--task", "agnews", "--scratch", "--config", config),
        *("--train-per-label", 6, "--test-per-label", 5, "--epochs", 2, "--batch-size", 8),
        *("--data-dir", data_dir, "--cache-dir", cache_dir, "--out", out, "--quiet", *extra),
    )


def test_a_finetune_and_evaluate_record_each_test_read(tmp_path, data_dir, cache_dir, capsys):
    runs = tmp_path / "runs"
    out = runs / "ft"
    code, _, err = finetune(capsys, tmp_path, data_dir, cache_dir, out, "--test-every-epoch")
    assert code == 0, err
    lines = read_ledger(runs)  # the store: the folder that holds the run's folder
    # a read after each of the 2 epochs (the curve), then the reported one
    assert [line.get("epoch") for line in lines] == [0, 1, None]
    first = lines[0]
    assert HASH.match(first["sample"])
    assert {line["sample"] for line in lines} == {first["sample"]}
    for line in lines:
        assert line["task"] == "agnews" and line["seed"] == 0 and line["reader"] == "finetune"
        assert line["run"] == str(out) and line["examples"] == 4 * 5
        assert line["sizes"] == {"sampling": "balanced", "train_per_label": 6, "test_per_label": 5}
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", line["time"]) and "commit" in line
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["test_accuracy"] <= 1

    common = ("--data-dir", data_dir, "--cache-dir", cache_dir, "--json")
    code, report, _ = cli(capsys, "evaluate", out, *common)
    assert code == 0 and json.loads(report)["accuracy"] == summary["test_accuracy"]
    assert len(read_ledger(runs)) == 4
    last = read_ledger(runs)[-1]
    assert last["reader"] == "evaluate" and last["run"] == str(out)
    assert last["sample"] == first["sample"] and "epoch" not in last
    code, _, _ = cli(capsys, "evaluate", out, "--split", "val", *common)
    assert code == 0 and len(read_ledger(runs)) == 4  # validation is no test read
    # the run's model/ folder, its sample drawn anew with one train example per label: the
    # same test examples, so the same sample, read by the same run
    model = out / "model"
    code, _, _ = cli(capsys, "evaluate", model, "--task", "agnews", "--test-per-label", 5, *common)
    assert code == 0
    last = read_ledger(runs)[-1]
    assert len(read_ledger(runs)) == 5 and last["run"] == str(out)
    assert last["sample"] == first["sample"] and last["sizes"]["train_per_label"] == 1


def test_a_run_that_scores_no_test_split_writes_no_test_figure(
    tmp_path, data_dir, cache_dir, capsys
):
    runs = tmp_path / "runs"
    out = runs / "trial"
    code, printed, err = finetune(capsys, tmp_path, data_dir, cache_dir, out, "--no-score-test")
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_accuracy"] is None and summary["test_macro_f1"] is None
    assert 0 <= summary["val_accuracy"] <= 1
    assert json.loads(printed)["test_accuracy"] is None
    metrics = (out / "metrics.jsonl").read_text()
    assert "test_accuracy" not in metrics and "val_accuracy" in metrics
    assert yaml.safe_load((out / "config.yaml").read_text())["score_test"] is False
    assert not (runs / LEDGER_FILE).exists() and read_ledger(runs) == []

    code, _, err = finetune(
        capsys, tmp_path, data_dir, cache_dir, runs / "x", "--no-score-test", "--test-every-epoch"
    )
    assert code == 2 and "test_every_epoch" in err and not (runs / "x").exists()

    # the field enters a job's key only when set: existing configs keep their keys
    config = FinetuneConfig.from_dict({"arch": ARCH})
    assert "score_test" not in config.result_dict()
    assert dataclasses.replace(config, score_test=False).result_dict()["score_test"] is False


def test_the_same_sample_read_twice_is_read_0_then_1_times_before(tmp_path, data_dir):
    config = TaskConfig(name="agnews", train_per_label=6, test_per_label=5, seed=0)
    task = load_task(config, data_dir)
    sample = sample_task(task, config)
    store = tmp_path / "runs"
    store.mkdir()
    record_read(store / "a", sample, "finetune")
    record_read(store / "b", sample, "finetune")
    record_read(store / "a", sample, "evaluate")  # a later read leaves a's count as it was
    other = sample_task(task, dataclasses.replace(config, seed=1))
    record_read(store / "c", other, "baseline")

    digest = sample_hash(sample.test)
    assert row_columns(store, store / "a") == {"test_sample": digest, "test_reads": 0}
    assert row_columns(store, store / "b") == {"test_sample": digest, "test_reads": 1}
    # another seed's sample is another sample, never read before
    assert row_columns(store, store / "c") == {
        "test_sample": sample_hash(other.test),
        "test_reads": 0,
    }
    assert sample_hash(other.test) != digest
    # a run that left no line (made before the ledger) has no figures
    assert row_columns(store, store / "d") == {"test_sample": None, "test_reads": None}
    # the sample is its test examples, whatever the train size that drew them
    smaller = sample_task(task, dataclasses.replace(config, train_per_label=2))
    assert sample_hash(smaller.test) == digest

    rows = [
        {"task": "agnews", "test_reads": 0},
        {"task": "agnews", "test_reads": 2},
        {"task": "dbpedia", "test_reads": None},
        {"task": "fewrel-val", "test_reads": 1},
        {"task": "fewrel-val"},
        {"task": "agnews", "split": "confirm", "test_reads": 0},
    ]
    assert report_reads(rows) == (
        "test samples read before these runs: agnews 0–2, dbpedia not recorded, "
        "fewrel-val 1 (1 rows not recorded), agnews (confirm) 0"
    )


def test_a_study_records_its_test_reads_and_its_rows_carry_them(tmp_path, store):
    preset = tiny_preset(tasks=("agnews",), seeds=1)
    run("gap", preset, tmp_path, store)
    lines = read_ledger(store.root)
    # the pre-trained and the scratch arm fine-tune, TF-IDF fits: three reads of one sample
    assert sorted(line["reader"] for line in lines) == ["baseline", "finetune", "finetune"]
    assert len({line["sample"] for line in lines}) == 1
    folder = tmp_path / "results" / "gap" / "tiny"
    rows = read_rows(folder / "results.csv")
    assert len(rows) == 3
    assert {row["test_sample"] for row in rows} == {lines[0]["sample"]}
    # each row's count: the reads before its job's own, which is the line at that position
    assert sorted(row["test_reads"] for row in rows) == [0, 1, 2]
    for row in rows:
        line = lines[row["test_reads"]]
        assert line["run"] == str(store.root / row["job"])
    report = (tmp_path / "results" / "report.md").read_text()
    assert "test samples read before these runs: agnews 0–2" in report

    # a rerun finds every job done: nothing is read again, and the rows keep their counts
    run("gap", preset, tmp_path, store)
    assert read_ledger(store.root) == lines
    assert read_rows(folder / "results.csv") == rows


def test_a_committee_read_is_one_line_naming_its_members(tmp_path, data_dir, capsys):
    runs = tmp_path / "runs"
    task = {"name": "agnews", "train_per_label": 6, "test_per_label": 5, "seed": 0}
    members = []
    for seed in range(2):
        torch.manual_seed(seed)
        config = ModelConfig(**{**ARCH, "hidden": 32})
        folder = runs / f"m{seed}"
        BertForSequenceClassification(config, len(AGNEWS), AGNEWS).save_pretrained(folder / "model")
        (folder / "config.yaml").write_text(yaml.safe_dump({"task": task}))
        members.append(folder)
    code, out, err = cli(
        capsys,
        *("committee", "--members", *members, "--no-latency", "--json"),
        *("--data-dir", data_dir, "--cache-dir", tmp_path / "cache"),
    )
    assert code == 0, err
    (line,) = read_ledger(runs)
    assert line["reader"] == "committee" and line["run"] == [str(m) for m in members]
    assert line["task"] == "agnews" and line["examples"] == json.loads(out)["n"] == 20


def test_appends_from_several_processes_land_whole_and_a_read_only_store_only_warns(
    tmp_path, capsys
):
    store = tmp_path / "runs"
    store.mkdir()
    # each process appends 100 long lines as fast as it can
    child = (
        "import sys, types\n"
        "import numpy as np\n"
        "from tinylm import ledger\n"
        "ledger.git_commit = lambda: 'test'\n"
        "split = types.SimpleNamespace(pool='test', pool_index=np.arange(10))\n"
        "sample = types.SimpleNamespace(task=types.SimpleNamespace(name='t'), test=split,\n"
        "    config=types.SimpleNamespace(seed=0))\n"
        "for i in range(100):\n"
        "    ledger.record_read(sys.argv[1], sample, 'p' + sys.argv[2], i=i, pad='x' * 2000)\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", child, str(store / f"run{p}"), str(p)])
        for p in range(4)
    ]
    assert all(process.wait(timeout=60) == 0 for process in processes)
    lines = (store / LEDGER_FILE).read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # none torn or interleaved
    assert len(parsed) == 400
    for p in range(4):
        assert [x["i"] for x in parsed if x["reader"] == f"p{p}"] == list(range(100))

    # a ledger that cannot be written: the read goes on, with one warning
    blocked = tmp_path / "blocked"
    (blocked / LEDGER_FILE).mkdir(parents=True)  # a folder where the file should be
    split = types.SimpleNamespace(pool="test", pool_index=np.array([3, 1, 2]))
    sample = types.SimpleNamespace(
        task=types.SimpleNamespace(name="t"), test=split, config=types.SimpleNamespace(seed=0)
    )
    for _ in range(3):
        line = record_read(blocked / "run", sample, "finetune")
        assert line["sample"] == sample_hash(split) and line["sizes"] == {}
    err = capsys.readouterr().err
    assert err.count("cannot write the test ledger") == 1 and str(blocked) in err
