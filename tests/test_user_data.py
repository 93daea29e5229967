"""Tasks as users have them: folders of split files, a file with its test file, parquet, hub
datasets (read offline from a folder in the hub's layout), and the three ways of sampling."""

import json
from collections import Counter

import numpy as np
import pytest

from datagen import tiny_vocab
from tinylm.config import TaskConfig
from tinylm.data.sampling import sample_task
from tinylm.data.tasks import load_task
from tinylm.errors import ConfigError, TinylmError

# an imbalanced three-label set: 30 / 9 / 3 train rows, 12 / 5 / 2 test rows
TRAIN = {"sports": 30, "politics": 9, "science": 3}
TEST = {"sports": 12, "politics": 5, "science": 2}


def rows(counts: dict, tag: str) -> list[dict]:
    return [
        {"text": f"{tag} {label} example number {i}", "label": label}
        for label, n in counts.items()
        for i in range(n)
    ]


def write(path, records) -> None:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        lines = ["label,text"] + [f"{r['label']},{r['text']}" for r in records]
        path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "questions"
    out.mkdir()
    write(out / "train.csv", rows(TRAIN, "train"))
    write(out / "test.csv", rows(TEST, "test"))
    return out


def draw(name, **kw):
    config = TaskConfig(name=str(name), **kw)
    return sample_task(load_task(config, None), config)


def named(split, sample) -> Counter:
    return Counter(sample.label_names[i] for i in split.labels)


def test_a_folder_uses_its_test_file_whole_and_all_of_train_by_default(folder):
    s = draw(folder, val_fraction=0.1)
    assert s.config.sampling == "all"
    assert sorted(s.test.texts) == sorted(r["text"] for r in rows(TEST, "test"))
    assert named(s.test, s) == Counter(TEST)
    # every train row is in train or validation, once
    assert sorted(s.train.texts + s.val.texts) == sorted(r["text"] for r in rows(TRAIN, "train"))
    assert named(s.val, s) == {"sports": 3, "politics": 1, "science": 1}  # a tenth, at least one


def test_balanced_sampling_of_a_folder_is_capped_by_the_smallest_label(folder):
    s = draw(folder, sampling="balanced")
    assert named(s.train, s) == {label: 3 for label in TRAIN}  # the smallest train label
    assert named(s.test, s) == {label: 2 for label in TEST}


def test_stratified_sampling_keeps_the_proportions(folder):
    s = draw(folder, sampling="stratified", train_size=14)
    assert named(s.train, s) == {"sports": 10, "politics": 3, "science": 1}
    assert len(s.test) == sum(TEST.values())  # the given test split, whole
    s = draw(folder, train_size=14, test_size=8)  # a train size alone means stratified
    assert s.config.sampling == "stratified"
    assert named(s.test, s) == {"sports": 5, "politics": 2, "science": 1}
    with pytest.raises(TinylmError, match="train_size 100 is more than the 42"):
        draw(folder, train_size=100)
    assert len(draw(folder, train_size=14, test_size=19).test) == 19  # the whole test split
    with pytest.raises(TinylmError, match="test_size 20 is more than the 19 test examples"):
        draw(folder, train_size=14, test_size=20)


def test_one_file_holds_out_a_stratified_fifth(tmp_path):
    path = tmp_path / "all.jsonl"
    write(path, rows(TRAIN, "x"))
    s = draw(path)
    assert named(s.test, s) == {"sports": 6, "politics": 2}  # 8.4 = 6 + 1.8 + 0.6, rounded
    assert len(s.test) + len(s.train) == sum(TRAIN.values())
    assert not set(s.test.texts) & set(s.train.texts)
    assert draw(path, test_size=21).test.texts == draw(path, test_size=21).test.texts  # seeded
    assert draw(path, seed=1).test.texts != s.test.texts
    total = sum(TRAIN.values())
    with pytest.raises(TinylmError, match=f"test_size {total} would hold out all {total} examples"):
        draw(path, test_size=total)


def test_a_train_file_with_its_test_file(tmp_path):
    train, test = tmp_path / "a.csv", tmp_path / "b.jsonl"
    write(train, rows(TRAIN, "train"))
    write(test, rows(TEST, "test"))
    s = draw(train, test_file=str(test))
    assert len(s.test) == 19 and len(s.train) == 42 and s.test.pool == "test"


def test_a_validation_file_replaces_the_carved_split(folder):
    dev = rows({"sports": 2, "science": 1}, "dev")
    write(folder / "validation.jsonl", dev)
    s = draw(folder, val_fraction=0.1)
    assert sorted(s.val.texts) == sorted(r["text"] for r in dev)
    assert len(s.train) == 42 and s.val.pool == "val"


def test_parquet_files_read_as_csv_does(tmp_path, folder):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    out = tmp_path / "pq"
    out.mkdir()
    for split, counts in (("train", TRAIN), ("test", TEST)):
        records = rows(counts, split)
        table = pa.table({k: [r[k] for r in records] for k in ("text", "label")})
        pq.write_table(table, out / f"{split}.parquet")
    from_parquet, from_csv = draw(out), draw(folder)
    assert from_parquet.train.texts == from_csv.train.texts
    assert from_parquet.label_names == from_csv.label_names


@pytest.mark.parametrize("sampling", ["all", "stratified"])
def test_a_label_with_one_example_is_said_to_go_untested(tmp_path, sampling):
    path = tmp_path / "all.jsonl"
    write(path, [*rows(TRAIN, "x"), {"text": "the only art text", "label": "art"}])
    config = TaskConfig(name=str(path), sampling=sampling)
    task = load_task(config, None)
    drawn = sample_task(task, config)
    assert named(drawn.train, drawn)["art"] == 1 and named(drawn.test, drawn)["art"] == 0
    notes = [n for n in task.notices if "'art' has no test example" in n]
    assert len(notes) == 1 and "it has 1" in notes[0]
    assert not any("'science'" in n for n in task.notices)  # 3 examples: one is tested


def test_a_test_label_unseen_in_training_is_noticed(folder):
    write(folder / "test.csv", [*rows(TEST, "test"), {"text": "a new one", "label": "art"}])
    task = load_task(TaskConfig(name=str(folder)), None)
    assert task.label_names == ["art", "politics", "science", "sports"]
    assert any("no train example: art" in n for n in task.notices)


def test_test_rows_that_train_holds_are_left_out_with_a_notice(folder):
    write(folder / "test.csv", [*rows(TEST, "test"), rows(TRAIN, "train")[0]])
    task = load_task(TaskConfig(name=str(folder)), None)
    assert len(task.test_pool) == 19 and any("left out 1 test" in n for n in task.notices)


def test_user_data_errors(tmp_path, folder):
    (folder / "test.csv").unlink()
    with pytest.raises(TinylmError, match=r"has no test file .* it holds train.csv"):
        load_task(TaskConfig(name=str(folder)), None)
    with pytest.raises(TinylmError, match="--test-file goes with a task file, not a folder"):
        load_task(TaskConfig(name=str(folder), test_file="x.csv"), None)
    write(tmp_path / "a.csv", rows(TRAIN, "train"))
    with pytest.raises(TinylmError, match="task file not found: nope.csv"):
        load_task(TaskConfig(name=str(tmp_path / "a.csv"), test_file="nope.csv"), None)
    with pytest.raises(ConfigError, match="train_per_label: does not apply to sampling 'all'"):
        TaskConfig(name="x.csv", sampling="all", train_per_label=3)
    with pytest.raises(ConfigError, match="sampling: expected balanced or stratified or all"):
        TaskConfig(name="x.csv", sampling="some")


# --- hub datasets -----------------------------------------------------------------------------


@pytest.fixture
def hub_folder(tmp_path, monkeypatch):
    """A dataset in the hub's layout (data/<split>-00000-of-00001.parquet), its label a
    ClassLabel, as `datasets` writes it; read with the hub switched off."""
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    features = datasets.Features(
        {
            "sentence": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["negative", "positive"]),
        }
    )
    out = tmp_path / "sentiment"
    (out / "data").mkdir(parents=True)
    for split, n in (("train", 12), ("test", 6), ("validation", 4)):
        data = {
            "sentence": [f"{split} sentence {i}" for i in range(n)],
            "label": [i % 2 for i in range(n)],
        }
        datasets.Dataset.from_dict(data, features=features).to_parquet(
            str(out / "data" / f"{split}-00000-of-00001.parquet")
        )
    return out


def test_a_hub_dataset_keeps_its_label_names_and_splits(hub_folder):
    s = draw(f"hf:{hub_folder}", text_column="sentence", val_fraction=0.1)
    assert s.label_names == ["negative", "positive"]
    assert (len(s.train), len(s.val), len(s.test)) == (12, 4, 6)
    assert s.test.texts[0] == "test sentence 0" and s.label_names[s.test.labels[1]] == "positive"


def test_hub_dataset_errors(hub_folder, tmp_path):
    with pytest.raises(TinylmError, match=r"no column 'text'.*sentence, label.*--text-column"):
        load_task(TaskConfig(name=f"hf:{hub_folder}"), None)
    with pytest.raises(TinylmError, match=r"no split 'training' \(splits: train, validation, test"):
        load_task(TaskConfig(name=f"hf:{hub_folder}", train_split="training"), None)
    with pytest.raises(TinylmError, match=r"cannot load dataset 'no-such/dataset-here'"):
        load_task(TaskConfig(name="hf:no-such/dataset-here"), None)


def test_a_hub_name_that_does_not_load_offline_points_to_the_built_in_task(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", "/nonexistent-tinylm-test-cache")
    with pytest.raises(TinylmError) as err:
        load_task(TaskConfig(name="hf:fancyzhx/ag_news"), None)
    assert "offline mode is on, and the dataset is not in the local cache" in str(err.value)
    assert "set HF_DATASETS_OFFLINE=1" not in str(err.value)  # it is set
    assert "the built-in task 'agnews' reads the data folder" in str(err.value)
    with pytest.raises(TinylmError) as err:
        load_task(TaskConfig(name="hf:someone/imdb"), None)
    assert "built-in task" not in str(err.value)


def test_an_unreachable_hub_reads_the_cache_at_once(monkeypatch):
    """Offline without the switches: one probe, then `datasets` in offline mode (no retries),
    its switches restored after."""
    import datasets

    from tinylm.data import user_data

    for name in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_DATASETS_CACHE", "/nonexistent-tinylm-test-cache")
    monkeypatch.setattr(user_data, "internet_reachable", lambda: False)
    offline_inside = []
    load = datasets.load_dataset

    def recording(*args, **kwargs):
        offline_inside.append(datasets.config.HF_HUB_OFFLINE)
        return load(*args, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", recording)
    before = datasets.config.HF_HUB_OFFLINE
    with pytest.raises(TinylmError) as err:
        load_task(TaskConfig(name="hf:fancyzhx/ag_news"), None)
    assert offline_inside == [True] and before == datasets.config.HF_HUB_OFFLINE
    assert "huggingface.co cannot be reached, and the dataset is not in the local cache" in str(
        err.value
    )
    assert "the built-in task 'agnews'" in str(err.value)


def test_sampling_fields_at_their_defaults_leave_study_keys_as_they_were():
    plain = TaskConfig(name="agnews", train_per_label=10, test_per_label=5)
    keyed = plain.result_dict()
    assert "sampling" not in keyed and "test_file" not in keyed and "train_split" not in keyed
    assert TaskConfig(name="agnews", sampling="balanced").result_dict()["sampling"] == "balanced"
    assert np.all(np.isin(["name", "seed", "train_per_label"], list(keyed)))


# --- through the command line -----------------------------------------------------------------


def finetune(capsys, tmp_path, data_dir, *task_args):
    import yaml

    from tinylm.cli import main

    config = tmp_path / "arch.yaml"
    arch = {"layers": 1, "heads": 2, "hidden": 32, "intermediate": 64, "max_length": 32}
    config.write_text(yaml.safe_dump({"arch": {**arch, "vocab_size": len(tiny_vocab())}}))
    out = tmp_path / "run"
    argv = [*task_args, "--scratch", "--config", config, "--epochs", "1", "--out", out]
    argv += ["--data-dir", data_dir, "--cache-dir", tmp_path / "cache", "--quiet"]
    code = main(["finetune", *map(str, argv)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return out, json.loads(captured.out)


def test_finetune_on_a_folder_scores_every_test_row_once(capsys, tmp_path, folder, data_dir):
    out, printed = finetune(capsys, tmp_path, data_dir, "--task", folder, "--sampling", "all")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sizes"]["test"] == sum(TEST.values())
    assert summary["sizes"]["train"] + summary["sizes"]["val"] == sum(TRAIN.values())
    assert 0.0 <= printed["test_macro_f1"] <= 1.0 and "test_accuracy" in printed
    from tinylm.cli import main

    assert main(["evaluate", str(out), "--json", "--data-dir", str(data_dir), "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == sum(TEST.values()) and report["accuracy"] == summary["test_accuracy"]


def test_finetune_on_a_train_file_and_its_test_file(capsys, tmp_path, data_dir):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write(train, rows(TRAIN, "train"))
    write(test, rows(TEST, "test"))
    out, _ = finetune(capsys, tmp_path, data_dir, "--train-file", train, "--test-file", test)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sizes"]["test"] == sum(TEST.values())
    from tinylm.cli import main

    code = main(["finetune", "--task", str(train), "--train-file", str(train), "--scratch"])
    assert code == 2 and "give --task or --train-file, not both" in capsys.readouterr().err


def test_a_study_runs_on_a_folder_task(tmp_path, folder, store):
    from studykit import run, tiny_preset
    from tinylm.study.results import read_rows

    run("gap", tiny_preset(tasks=(str(folder),), sizes={}, seeds=1), tmp_path, store)
    rows = read_rows(tmp_path / "results" / "gap" / "tiny" / "results.csv")
    assert {r["arm"] for r in rows} == {"pretrained", "scratch", "tfidf"}
    assert {r["test_examples"] for r in rows} == {sum(TEST.values())}  # the test file, whole
    assert all(
        r["job"].startswith(("finetune-questions-", "baseline-tfidf-questions-")) for r in rows
    )


def test_a_folder_named_like_a_task_does_not_shadow_it(tmp_path, monkeypatch, data_dir):
    from tinylm.data.tasks import is_user_task

    monkeypatch.chdir(tmp_path)
    (tmp_path / "agnews").mkdir()
    assert not is_user_task("agnews") and is_user_task("questions.csv")
    assert load_task(TaskConfig(name="agnews"), data_dir).label_names[0] == "World"
