"""`tinylm runs`: the runs of a folder, with status, task, accuracy and loss."""

import json

import yaml

from datagen import tiny_vocab
from tinylm.cli import main
from tinylm.lock import FolderLock

ARCH = {"layers": 1, "heads": 2, "hidden": 32, "vocab_size": len(tiny_vocab())}


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_lists_each_run_with_its_status(capsys, tmp_path, data_dir, cache_dir):
    store = tmp_path / "store"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"arch": ARCH, "corpus": {"ws": 96}}))
    common = ["--data-dir", data_dir, "--cache-dir", cache_dir, "--quiet", "--max-steps", "2"]
    common += ["--precision", "fp32"]
    code, _, err = cli(capsys, "pretrain", "--config", config, *common, "--out", store / "pre")
    assert code == 0, err
    argv = ["finetune", "--task", "agnews", "--init", store / "pre", *common]
    argv += ["--train-per-label", "4", "--test-per-label", "3", "--out", store / "ft"]
    code, _, err = cli(capsys, *argv)
    assert code == 0, err
    partial = store / "partial"  # killed after its first checkpoint
    (partial / "checkpoints" / "step-00000005").mkdir(parents=True)
    (partial / "checkpoints" / "step-00000005" / "state.json").write_text("{}")
    (partial / "config.yaml").write_text(yaml.safe_dump({"task": {"name": "dbpedia"}}))
    (store / "notes").mkdir()  # not a run: left out

    code, out, _ = cli(capsys, "runs", store, "--json")
    assert code == 0
    rows = {row["run"]: row for row in json.loads(out)}
    assert set(rows) == {"pre", "ft", "partial"}
    pre = json.loads((store / "pre" / "summary.json").read_text())
    ft = json.loads((store / "ft" / "summary.json").read_text())
    assert rows["pre"] == {
        "run": "pre", "kind": "pretrain", "status": "done", "task": None,
        "precision": "fp32", "accuracy": None, "macro_f1": None, "loss": pre["val_loss"],
    }  # fmt: skip
    # what each network trained at, as its config.yaml says; a run that says `auto` (made
    # before the resolved precision was recorded) reads unknown
    assert rows["ft"]["precision"] == "fp32"
    assert rows["partial"]["precision"] == "unknown"
    assert rows["ft"]["kind"] == "finetune" and rows["ft"]["task"] == "agnews"
    assert rows["ft"]["accuracy"] == ft["test_accuracy"] and rows["ft"]["status"] == "done"
    assert rows["ft"]["macro_f1"] == ft["test_macro_f1"]
    assert rows["partial"]["status"] == "partial (step-00000005)"
    assert rows["partial"]["task"] == "dbpedia" and rows["partial"]["kind"] == "finetune"

    with FolderLock(store / "partial"):  # a run holds it: another process sees it in use
        code, out, _ = cli(capsys, "runs", store)
    lines = out.splitlines()
    header = ["run", "kind", "status", "task", "precision", "accuracy", "macro-F1", "loss"]
    assert lines[0].split() == header
    assert [line.split()[0] for line in lines[1:]] == ["ft", "partial", "pre"]
    assert lines[2].split()[:3] == ["partial", "finetune", "running"]
    assert f"{ft['test_accuracy']:.3f}" in lines[1]


def test_runs_of_a_missing_folder_exit_2(capsys, tmp_path):
    code, out, err = cli(capsys, "runs", tmp_path / "none")
    assert code == 2 and "is not a folder of runs" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    code, out, _ = cli(capsys, "runs", tmp_path / "empty")
    assert code == 0 and out.strip() == f"no runs in {tmp_path / 'empty'}"


def test_runs_lists_a_broken_run_as_broken_and_the_others_as_they_are(capsys, tmp_path):
    from tinylm.model import BertForMaskedLM
    from tinylm.model.architectures import get_architecture

    store = tmp_path / "store"
    good = store / "good"
    BertForMaskedLM(get_architecture("bert1-c2-k3-d16-a2")).save_pretrained(good / "model")
    summary = {"job": "pretrain", "val_loss": 5.5}
    (good / "summary.json").write_text(json.dumps(summary))
    for name in ("no-weights", "truncated", "bad-yaml", "bad-json", "bad-figure"):
        (store / name).mkdir(parents=True)
        (store / name / "summary.json").write_text(json.dumps(summary))
    (store / "truncated" / "model").mkdir()
    weights = (good / "model" / "model.safetensors").read_bytes()
    (store / "truncated" / "model" / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    for name in ("bad-yaml", "bad-json", "bad-figure"):
        (store / name / "model").symlink_to(good / "model")
    (store / "bad-yaml" / "config.yaml").write_text("task: [agnews\n")
    (store / "bad-json" / "summary.json").write_text("{not json")
    (store / "bad-figure" / "summary.json").write_text(json.dumps({**summary, "val_loss": "x"}))

    code, out, err = cli(capsys, "runs", store, "--json")
    assert code == 0 and "Traceback" not in err
    status = {row["run"]: row["status"] for row in json.loads(out)}
    assert status["good"] == "done"
    assert status["no-weights"] == "broken: model/model.safetensors is missing"
    assert status["truncated"].startswith("broken: model/model.safetensors is damaged")
    assert status["bad-yaml"].startswith("broken: ") and "not valid YAML" in status["bad-yaml"]
    assert status["bad-json"].startswith("broken: summary.json is not valid JSON (")
    assert status["bad-figure"] == "broken: summary.json's val_loss is 'x', not a number"
    code, out, _ = cli(capsys, "runs", store)  # the table too
    assert code == 0 and "broken: model/model.safetensors is missing" in out
