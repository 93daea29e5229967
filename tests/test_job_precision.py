"""Precision in a job's identity: bf16 and fp32 runs of one config are different jobs, and a
study's table holds the rows of one precision."""

import pytest

from studykit import run, tiny_preset
from tinylm.config import ImplConfig
from tinylm.errors import TinylmError
from tinylm.study.engine import Execution, JobFactory
from tinylm.study.results import check_one_precision, read_rows, write_rows

FP32, BF16 = Execution("cpu", "fp32"), Execution("cpu", "bf16")


def test_a_jobs_key_holds_its_precision_and_device_type():
    preset = tiny_preset()
    fp32, bf16 = JobFactory(preset, 200, FP32), JobFactory(preset, 200, BF16)
    cuda = JobFactory(preset, 200, Execution("cuda", "bf16"))
    keys = {f.pretrain(40, 0).key for f in (fp32, bf16, cuda)}
    assert len(keys) == 3
    assert fp32.pretrain(40, 0).key == JobFactory(preset, 200, FP32).pretrain(40, 0).key
    assert fp32.pretrain(40, 0).identity["config"]["execution"] == {
        "device": "cpu",
        "precision": "fp32",
    }
    # a fine-tuning differs by its own precision and by its pre-training's
    assert fp32.finetune("agnews", 0, None).key != bf16.finetune("agnews", 0, None).key
    assert fp32.finetune("agnews", 0, None).precision == "fp32"
    # TF-IDF trains no network: one job, whatever the precision
    assert fp32.baseline("agnews", 0).key == bf16.baseline("agnews", 0).key
    assert fp32.baseline("agnews", 0).precision is None


def test_execution_is_resolved_never_auto():
    assert Execution.resolve(ImplConfig(device="cpu", precision="bf16")) == BF16
    # the preset's precision when --precision is auto; a named one wins over the preset's
    assert Execution.resolve(ImplConfig(device="cpu"), "fp32") == FP32
    assert Execution.resolve(ImplConfig(device="cpu", precision="bf16"), "fp32") == BF16
    auto = Execution.resolve(ImplConfig(device="cpu"))
    assert auto.device == "cpu" and auto.precision in ("fp32", "bf16")
    with pytest.raises(TinylmError):
        Execution("cpu", "auto")


def test_a_job_runs_at_the_precision_of_its_key(store):
    job = JobFactory(tiny_preset(), 200, BF16).pretrain(40, 0)
    impl = store.impl_for(job)
    assert (impl.device, impl.precision) == ("cpu", "bf16")
    cuda = JobFactory(tiny_preset(), 200, Execution("cuda", "fp32")).pretrain(40, 0)
    with pytest.raises(TinylmError, match="trains on cuda"):
        store.impl_for(cuda)  # the store runs on the cpu: refused, not trained under a cuda key


def test_rows_carry_how_they_ran_and_a_table_refuses_a_second_precision(tmp_path, store):
    preset = tiny_preset(tasks=("agnews",), seeds=1)
    run("gap", preset, tmp_path, store)
    path = tmp_path / "results" / "gap" / "tiny" / "results.csv"
    rows = read_rows(path)
    for row in rows:
        if row["arm"] == "tfidf":
            assert row["precision"] is None and row["torch"] is None and row["machine"]
        else:
            assert (row["precision"], row["device"]) == ("fp32", "cpu")
            assert row["torch"] and row["machine"]
        assert row["commit"] == "test" and row["command"] == "pytest"
    pretrained = next(r for r in rows if r["arm"] == "pretrained")
    assert pretrained["tokens_read"] == pretrained["corpus_tokens"]  # one epoch
    assert pretrained["epochs_read"] == pytest.approx(1.0)
    table = (path.parent / "table.md").read_text()
    assert "Precision: fp32 (2 runs)" in table

    # the same study in bf16 into the same table: refused before any job runs
    before = path.read_text()
    bf16 = store.derive(impl=ImplConfig(device="cpu", precision="bf16"))
    with pytest.raises(TinylmError, match="holds rows trained in fp32, and this run trains in"):
        run("gap", preset, tmp_path, bf16)
    assert path.read_text() == before
    assert not any(p.name.startswith("finetune") and "bf16" in p.name for p in store.root.iterdir())


def test_rows_of_unknown_precision_are_replaced_with_a_note(tmp_path, store):
    preset = tiny_preset(tasks=("agnews",), seeds=1)
    run("gap", preset, tmp_path, store)
    path = tmp_path / "results" / "gap" / "tiny" / "results.csv"
    rows = read_rows(path)
    legacy = [{**row, "precision": None, "job": row["job"][:-8] + "00000000"} for row in rows]
    write_rows(path, legacy, tuple(rows[0]))
    lines = []
    run("gap", preset, tmp_path, store, echo=lines.append)
    assert any("2 rows of unknown precision" in line for line in lines)
    assert {row["precision"] for row in read_rows(path) if row["arm"] != "tfidf"} == {"fp32"}


def test_a_table_of_two_precisions_is_refused_naming_the_rows(tmp_path):
    rows = [
        {"job": "finetune-agnews-a-s0-1", "precision": "fp32"},
        {"job": "finetune-agnews-a-s1-2", "precision": "fp32"},
        {"job": "finetune-agnews-a-s2-3", "precision": "bf16"},
        {"job": "baseline-tfidf-agnews-s0-4", "precision": None},  # no network: no precision
    ]
    check_one_precision(rows[:2] + rows[3:], tmp_path / "results.csv")
    named = r"\(1 bf16, 2 fp32\): the bf16 ones are finetune-agnews-a-s2-3"
    with pytest.raises(TinylmError, match=named):
        check_one_precision(rows, tmp_path / "results.csv")
    # a row made before runs recorded their precision is unknown: not fp32
    with pytest.raises(TinylmError, match="unknown"):
        check_one_precision([*rows[:2], {**rows[2], "precision": None}], tmp_path / "results.csv")
