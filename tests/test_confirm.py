"""The confirmation split: test samples that no development sample can have read."""

import json

import pytest

from datagen import make_data_dir
from studykit import run, tiny_preset
from tinylm.cli import main
from tinylm.config import ImplConfig, TaskConfig
from tinylm.data import sampling
from tinylm.data.sampling import DEV_SEEDS, READ_SIZES, sample_task
from tinylm.data.tasks import load_task
from tinylm.errors import ConfigError, TinylmError
from tinylm.study import gap
from tinylm.study.engine import Job, JobFactory, Store
from tinylm.study.presets import PRESETS
from tinylm.study.results import read_rows

# the tiny data's development sizes: two presets' worth, per task (train, test per label)
TINY_SIZES = {"agnews": [(6, 5), (3, 8)], "fewrel-val": [(5, 4), (8, 2)]}


@pytest.fixture
def big_data(tmp_path):
    """Tiny data with pools large enough for a confirmation sample beside ten development
    seeds (120 news per label in the test pool; 120 sentences per relation in one pool)."""
    return make_data_dir(tmp_path / "big", agnews_test=120, fewrel_per_relation=120)


@pytest.fixture
def tiny_read(monkeypatch):
    """The development sizes read on the tiny data (the real ones are too large for it)."""
    largest = {
        task: tuple(map(max, zip(*sizes, strict=True))) for task, sizes in TINY_SIZES.items()
    }
    monkeypatch.setattr(sampling, "READ_SIZES", largest)


_TASKS = {}


def sample(data_dir, name, seed, sizes, split="dev"):
    """The sample of `seed` at `sizes` (train, test per label), validation carved from train."""
    config = TaskConfig(
        name=name,
        train_per_label=sizes[0],
        test_per_label=sizes[1],
        seed=seed,
        val_fraction=0.2,
        split=split,
    )
    if (data_dir, name) not in _TASKS:  # each task's pools read once
        _TASKS[data_dir, name] = load_task(config, data_dir)
    return sample_task(_TASKS[data_dir, name], config)


def assert_disjoint(data_dir, name, sizes_read, confirm_sizes, seeds):
    """The confirmation samples of `seeds` at `confirm_sizes` read nothing that a development
    sample of seeds 0..DEV_SEEDS-1 at any of `sizes_read` reads: its test sample, and its
    train and validation samples where they share the test's pool. Their train and
    validation samples are the development ones of their seed."""
    read, read_texts = set(), set()
    for dev_seed in range(DEV_SEEDS):
        for sizes in sizes_read:
            dev = sample(data_dir, name, dev_seed, sizes)
            for split in (dev.train, dev.val, dev.test):
                if split.pool == dev.test.pool:
                    read |= {(split.pool, int(i)) for i in split.pool_index}
            read_texts |= set(dev.test.texts)
    for seed in seeds:
        confirm = sample(data_dir, name, seed, confirm_sizes, "confirm")
        own = sample(data_dir, name, seed, confirm_sizes)
        for split in ("train", "val"):
            assert confirm.split(split).pool_index.tolist() == own.split(split).pool_index.tolist()
        tested = {(confirm.test.pool, int(i)) for i in confirm.test.pool_index}
        assert len(tested) == len(confirm.test) == confirm_sizes[1] * len(confirm.label_names)
        assert not tested & read, (name, seed)
        texts = set(confirm.test.texts)
        assert not texts & read_texts
        assert not texts & set(confirm.train.texts) and not texts & set(confirm.val.texts)


@pytest.mark.parametrize("name", ["agnews", "fewrel-val"])  # a test pool; one pool
def test_confirmation_samples_are_disjoint_from_every_development_sample(big_data, tiny_read, name):
    assert_disjoint(big_data, name, TINY_SIZES[name], TINY_SIZES[name][0], seeds=(0, 1, 12))


def test_confirmation_samples_are_disjoint_on_the_real_data(real_data_dir):
    ran = [preset for name, preset in PRESETS.items() if name != "paper"]
    for name in READ_SIZES:
        sizes_read = {tuple(p.sizes[name]) for p in ran if name in p.sizes}
        train, test = PRESETS["cpu"].sizes[name]
        asked = (train, PRESETS["cpu"].confirm_test.get(name, test))
        assert_disjoint(real_data_dir, name, sizes_read, asked, seeds=(0, 4))


def test_every_preset_that_runs_reads_within_the_frozen_sizes():
    """READ_SIZES is frozen so that confirmation samples never move; a preset that reads a
    larger development sample must be added to it (and the confirmation samples re-run)."""
    for name, preset in PRESETS.items():
        if name == "paper":  # never run
            continue
        for task, (train, test) in preset.sizes.items():
            read_train, read_test = READ_SIZES[task]
            assert train <= read_train and test <= read_test, (name, task)
        assert preset.seeds <= DEV_SEEDS


def test_a_pool_too_small_for_a_confirmation_sample_is_refused(data_dir):
    # 19 AG News test examples per label: five development seeds of 15 read them all
    with pytest.raises(TinylmError, match=r"task agnews: label '\w+' has \d+ test example\(s\)"):
        sample(data_dir, "agnews", 0, (5, 15), "confirm")
    with pytest.raises(TinylmError, match=r"that no development sample can have read \(of 1"):
        sample(data_dir, "fewrel-val", 0, (5, 4), "confirm")
    with pytest.raises(ConfigError, match="split"):
        TaskConfig(name="agnews", sampling="stratified", split="confirm")
    with pytest.raises(ConfigError, match="split"):
        TaskConfig(name="agnews", split="holdout")


def test_development_configs_keep_their_keys():
    dev = TaskConfig(name="agnews", train_per_label=100, test_per_label=250, seed=1)
    confirm = TaskConfig(
        name="agnews", train_per_label=100, test_per_label=250, seed=1, split="confirm"
    )
    assert "split" not in dev.result_dict() and confirm.result_dict()["split"] == "confirm"
    assert (
        Job("baseline", dev).key
        == Job("baseline", TaskConfig(**{**dev.to_dict(), "split": "dev"})).key
    )
    assert Job("baseline", confirm).key != Job("baseline", dev).key
    preset = tiny_preset()
    factory = JobFactory(preset, vocab_size=100)
    assert (
        factory.finetune("agnews", 0, None).key
        == factory.finetune("agnews", 0, None, split="dev").key
    )
    assert factory.finetune("agnews", 0, None, split="confirm").config.task.split == "confirm"


def test_tinylm_data_task_samples_the_confirmation_split(big_data, tiny_read, tmp_path, capsys):
    out = tmp_path / "sample"
    args = ["data", "task", "agnews", "--data-dir", str(big_data), "--split", "confirm"]
    assert main([*args, "--train-per-label", "6", "--test-per-label", "5", "--out", str(out)]) == 0
    config = (out / "config.yaml").read_text()
    assert "split: confirm" in config
    confirm = [json.loads(line)["text"] for line in (out / "test.jsonl").read_text().splitlines()]
    dev = sample(big_data, "agnews", 0, (6, 5))
    assert len(confirm) == 20 and not set(confirm) & set(dev.test.texts)


def test_the_gap_study_states_its_claims_on_both_splits(tmp_path, big_data, tiny_read, cache_dir):
    store = Store(
        tmp_path / "runs",
        data_dir=big_data,
        cache_dir=cache_dir,
        impl=ImplConfig(device="cpu"),
        progress=False,
    )
    # one fine-tuning epoch: the rows, table and claims are what is tested
    finetune = {"epochs": 1, "lr": 1e-3, "batch_size": 8}
    preset = tiny_preset(confirm=True, confirm_test={"agnews": 4}, finetune=finetune)
    run("gap", preset, tmp_path, store)
    folder = tmp_path / "results" / "gap" / "tiny"
    rows = read_rows(folder / "results.csv", frozenset({"split"}))
    assert len(rows) == 2 * 2 * 2 * 3  # splits x tasks x seeds x arms
    assert {(r["split"], r["arm"]) for r in rows} == {
        (split, arm) for split in ("dev", "confirm") for arm in ("pretrained", "scratch", "tfidf")
    }
    sizes = {(r["split"], r["task"], r["train_examples"], r["test_examples"]) for r in rows}
    assert sizes == {
        ("dev", "agnews", 24, 20),
        ("confirm", "agnews", 24, 16),  # confirm_test: 4 per label
        ("dev", "fewrel-val", 15, 12),
        ("confirm", "fewrel-val", 15, 12),
    }
    assert all(("-confirm-" in r["job"]) == (r["split"] == "confirm") for r in rows)
    # the confirmation fine-tunings start from the development split's pre-trained models
    pretrained = {
        (r["split"], r["seed"]): r["pretrain_job"] for r in rows if r["arm"] == "pretrained"
    }
    assert all(pretrained[("confirm", s)] == pretrained[("dev", s)] for s in (0, 1))
    table = (folder / "table.md").read_text()
    assert table.count("\n| agnews | dev |") == 1 and table.count("\n| agnews | confirm |") == 1
    report = (tmp_path / "results" / "report.md").read_text()
    for task in ("agnews", "fewrel-val"):
        for split in ("development", "confirmation"):
            assert f"Pre-training gives a positive gap on {task} ({split} split)" in report
    assert "4 labels; confirmation split)" in report
    claims = gap.claims(rows)
    assert len(claims) == 2 * 2 + 2  # a gap per task and the simpler task's, on each split
    # rows of older results have no split column: development rows
    older = [{k: v for k, v in r.items() if k != "split"} for r in rows if r["split"] == "dev"]
    assert [c.claim for c in gap.claims(older)] == [c.claim for c in claims[:3]]
    assert all(c.claim.endswith("development split)") for c in claims[:3])
