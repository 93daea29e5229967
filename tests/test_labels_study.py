"""Task complexity: samples that keep some of a task's labels (TaskConfig.labels) are nested by
seed and keep each label's examples; the `labels` study runs on tiny data, its whole-task cells
are the gap study's jobs, and it writes its table, plot and claims."""

import pytest

from studykit import run, tiny_preset
from tinylm.cli import main
from tinylm.config import TaskConfig
from tinylm.data.sampling import sample_task
from tinylm.data.tasks import load_task
from tinylm.errors import ConfigError, TinylmError
from tinylm.study.results import read_rows


def examples_by_label(sample, split="train") -> dict[str, list[str]]:
    out = {}
    part = sample.split(split)
    for text, label in zip(part.texts, part.labels, strict=True):
        out.setdefault(sample.label_names[label], []).append(text)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_label_subsets_are_nested_and_keep_each_labels_examples(seed, data_dir):
    def sample(labels):
        config = TaskConfig(
            name="agnews", train_per_label=5, test_per_label=4, seed=seed, labels=labels
        )
        return sample_task(load_task(config, data_dir), config)

    whole, two, three = sample(None), sample(2), sample(3)
    assert whole.num_labels == 4 and (two.num_labels, three.num_labels) == (2, 3)
    assert set(two.label_names) < set(three.label_names) < set(whole.label_names)
    # label names keep the task's order; ids are renumbered 0..n-1 in every split
    order = whole.label_names
    assert two.label_names == sorted(two.label_names, key=order.index)
    for part in ("train", "val", "test"):
        assert set(two.split(part).labels.tolist()) <= {0, 1}
    # a kept label holds the same examples as in the whole task's sample
    for subset in (two, three):
        for split in ("train", "test"):
            every = examples_by_label(whole, split)
            for name, texts in examples_by_label(subset, split).items():
                assert texts == every[name]
    assert len(two.train) == 2 * 5 and len(two.test) == 2 * 4


def test_label_subsets_differ_between_seeds(data_dir):
    kept = set()
    for seed in range(8):
        config = TaskConfig(name="agnews", train_per_label=2, test_per_label=2, seed=seed, labels=2)
        kept.add(tuple(sample_task(load_task(config, data_dir), config).label_names))
    assert len(kept) > 1


def test_bad_label_counts_are_refused(data_dir, capsys):
    with pytest.raises(ConfigError, match="at least 2 labels"):
        TaskConfig(name="agnews", labels=1)
    config = TaskConfig(name="agnews", train_per_label=2, test_per_label=2, labels=5)
    with pytest.raises(TinylmError, match="has 4 labels; cannot keep 5"):
        sample_task(load_task(config, data_dir), config)
    code = main(["data", "task", "agnews", "--labels", "5", "--data-dir", str(data_dir)])
    assert code == 2 and "cannot keep 5" in capsys.readouterr().err


def test_labels_study_on_tiny_data(tmp_path, store):
    preset = tiny_preset(tasks=("agnews",), labels_grid={"agnews": [2, 3]})
    run("gap", preset, tmp_path, store)
    gap_jobs = {p.name for p in store.root.iterdir()}
    run("labels", preset, tmp_path, store)
    folder = tmp_path / "results" / "labels" / "tiny"
    rows = read_rows(folder / "results.csv")
    assert len(rows) == 2 * 3 * 3  # seeds x (2, 3 and all 4 labels) x arms
    assert sorted({r["labels"] for r in rows}) == [2, 3, 4]
    whole = {r["job"] for r in rows if r["labels"] == 4}
    assert whole <= gap_jobs  # the whole task's cells are the gap study's jobs
    assert not {r["job"] for r in rows if r["labels"] < 4} & gap_jobs
    assert all(0 <= r["test_accuracy"] <= 1 for r in rows)
    assert all("labels2" in r["job"] for r in rows if r["labels"] == 2)  # a readable name
    table = (folder / "table.md").read_text()
    assert "| agnews | 2 | 0.500 |" in table and "| agnews | 4 | 0.250 |" in table
    assert (folder / "labels.png").stat().st_size > 10_000
    report = (tmp_path / "results" / "report.md").read_text()
    assert "The gap grows with the number of labels on agnews" in report
