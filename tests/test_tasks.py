import json
from collections import Counter

import numpy as np
import pytest
import yaml

from tinylm.config import TaskConfig
from tinylm.data.sampling import SPLITS, sample_task, tokenize_sample
from tinylm.data.tasks import load_task
from tinylm.errors import ConfigError, TinylmError
from tinylm.tokenizer import load_tokenizer


def sample(data_dir, name, **kw):
    config = TaskConfig(name=name, **kw)
    return sample_task(load_task(config, data_dir), config)


def per_label(split) -> dict[int, int]:
    return dict(Counter(split.labels.tolist()))


TINY_SIZES = {"agnews": (10, 5, 4), "dbpedia": (6, 4, 3), "fewrel-val": (12, 5, 3)}


@pytest.mark.parametrize("name", TINY_SIZES)
def test_samples_are_balanced(data_dir, name):
    n_train, n_test, labels = TINY_SIZES[name]
    s = sample(data_dir, name, train_per_label=n_train, test_per_label=n_test, val_fraction=0.2)
    n_val = round(0.2 * n_train)
    assert per_label(s.train) == {label: n_train - n_val for label in range(labels)}
    assert per_label(s.val) == {label: n_val for label in range(labels)}
    assert per_label(s.test) == {label: n_test for label in range(labels)}


@pytest.mark.parametrize("name", TINY_SIZES)
def test_train_val_and_test_never_share_an_example(data_dir, name):
    for seed in range(5):
        s = sample(
            data_dir, name, train_per_label=8, test_per_label=5, val_fraction=0.25, seed=seed
        )
        train, val, test = set(s.train.texts), set(s.val.texts), set(s.test.texts)
        assert not (train & test) and not (val & test) and not (train & val)


def test_a_test_row_repeating_a_train_row_is_left_out(data_dir):
    task = load_task(TaskConfig(name="agnews"), data_dir)
    assert len(task.test_pool) == 4 * 20 - 1
    assert any("left out 1 test text" in n for n in task.notices)
    assert not set(task.test_pool.texts) & set(task.train_pool.texts)


def test_a_repeated_fewrel_sentence_never_enters_the_test_sample(data_dir):
    task = load_task(TaskConfig(name="fewrel-val"), data_dir)
    repeated = task.train_pool.texts[0]
    assert task.train_pool.texts.count(repeated) == 2  # two entity pairs, one sentence
    for seed in range(10):
        s = sample_task(
            task, TaskConfig(name="fewrel-val", train_per_label=15, test_per_label=5, seed=seed)
        )
        assert repeated not in s.test.texts


@pytest.mark.parametrize("name", TINY_SIZES)
def test_samples_are_deterministic_and_change_with_the_seed(data_dir, name):
    a = sample(data_dir, name, train_per_label=6, test_per_label=4, seed=3)
    b = sample(data_dir, name, train_per_label=6, test_per_label=4, seed=3)
    c = sample(data_dir, name, train_per_label=6, test_per_label=4, seed=4)
    for split in SPLITS:
        assert a.split(split).texts == b.split(split).texts
    assert a.train.texts != c.train.texts and a.test.texts != c.test.texts


def test_one_pool_test_sample_does_not_move_with_the_train_size(data_dir):
    small = sample(data_dir, "fewrel-val", train_per_label=5, test_per_label=4)
    large = sample(data_dir, "fewrel-val", train_per_label=15, test_per_label=4)
    assert small.test.texts == large.test.texts
    assert set(small.train.texts) <= set(large.train.texts)


def test_default_sizes_are_the_papers(data_dir):
    # the tiny files are too small for the paper's sizes; the message says which label lacks
    with pytest.raises(TinylmError, match=r"label 'World' has 30 example\(s\).*1000 train"):
        sample(data_dir, "agnews")
    task = load_task(TaskConfig(name="fewrel-val"), data_dir)
    assert (task.default_train_per_label, task.default_test_per_label) == (630, 70)


def test_agnews_text_is_title_and_description_without_backslashes(data_dir):
    task = load_task(TaskConfig(name="agnews"), data_dir)
    assert task.train_pool.texts[0] == "war train 0 the minister and the election"
    assert task.label_names == ["World", "Sports", "Business", "Sci/Tech"]


def test_dbpedia_falls_back_to_the_subsets_with_a_notice(data_dir):
    task = load_task(TaskConfig(name="dbpedia"), data_dir)
    assert any("unofficial" in n for n in task.notices)
    assert [p.name for p in task.sources] == ["subset_dhim_val.csv", "subset_dhim_test.csv"]
    from datagen import write_csv

    rows = [[str(c), f"Title{i}", f"official {i} {c}"] for i in range(5) for c in (1, 2, 3)]
    write_csv(data_dir / "dbpedia/train.csv", rows)
    write_csv(data_dir / "dbpedia/test.csv", [[r[0], r[1], "t " + r[2]] for r in rows])
    official = load_task(TaskConfig(name="dbpedia"), data_dir)
    assert official.notices == [] and official.train_pool.texts[0] == "Title0 official 0 1"


def test_fewrel_entity_markers(data_dir):
    plain = load_task(TaskConfig(name="fewrel-val"), data_dir)
    marked = load_task(TaskConfig(name="fewrel-val", entity_markers=True), data_dir)
    assert plain.train_pool.texts[2] == "the bridge 2 crosses river 0 ."
    assert marked.train_pool.texts[2] == "the @ bridge @ 2 crosses # river 0 # ."
    assert marked.label_names == ["P1 (crosses)", "P2 (follows)", "P3 (part of)"]


def test_fewrel_without_train_file_points_to_fewrel_val(data_dir):
    with pytest.raises(TinylmError, match="train_wiki.json.*try fewrel-val"):
        load_task(TaskConfig(name="fewrel"), data_dir)


def test_user_csv_with_string_labels(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = ["review,stars"] + [f'"text {i}, ok",{["bad", "good", "meh"][i % 3]}' for i in range(30)]
    path.write_text("\n".join(rows) + "\n")
    config = TaskConfig(name=str(path), text_column="review", label_column="stars")
    task = load_task(config, None)
    assert task.label_names == ["bad", "good", "meh"]
    s = sample_task(task, TaskConfig.from_dict({**config.to_dict(), "sampling": "balanced"}))
    # 10 per label: a fifth to test, the rest to train
    assert per_label(s.test) == {0: 2, 1: 2, 2: 2} and per_label(s.train) == {0: 8, 1: 8, 2: 8}
    assert s.train.texts[0].startswith("text ") and "," in s.train.texts[0]


def test_user_jsonl_with_integer_labels_in_numeric_order(tmp_path):
    path = tmp_path / "t.jsonl"
    labels = [10, 2, 1]
    path.write_text(
        "".join(json.dumps({"text": f"x {i}", "label": labels[i % 3]}) + "\n" for i in range(15))
    )
    task = load_task(TaskConfig(name=str(path)), None)
    assert task.label_names == ["1", "2", "10"]
    assert task.train_pool.labels[0] == 2  # label 10 is the third


def test_sample_saves_labels_splits_and_config(tmp_path, data_dir):
    s = sample(data_dir, "agnews", train_per_label=6, test_per_label=3, val_fraction=0.5)
    s.save(tmp_path / "out")
    assert json.loads((tmp_path / "out/labels.json").read_text())[0] == "World"
    config = yaml.safe_load((tmp_path / "out/config.yaml").read_text())["task"]
    assert config["train_per_label"] == 6 and config["val_fraction"] == 0.5
    lines = (tmp_path / "out/val.jsonl").read_text().splitlines()
    assert len(lines) == 12 and json.loads(lines[0])["label"] in range(4)


def test_tokenize_sample_uses_pool_tokens(data_dir, cache_dir):
    s = sample(data_dir, "agnews", train_per_label=5, test_per_label=3, val_fraction=0.2)
    tokenizer = load_tokenizer(data_dir)
    tokens = tokenize_sample(s, tokenizer, cache_dir, progress=False)
    for split in SPLITS:
        expected = tokenizer.encode_batch(s.split(split).texts)
        assert [list(tokens[split][i]) for i in range(len(expected))] == expected


# --- errors ------------------------------------------------------------------------------------


def test_unknown_task(data_dir):
    with pytest.raises(TinylmError, match="unknown task 'imdb'.*agnews, dbpedia"):
        load_task(TaskConfig(name="imdb"), data_dir)


def test_csv_without_the_named_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("sentence,category\nhello,a\n")
    with pytest.raises(TinylmError, match=r"no column 'text', 'label' \(columns: sentence, cat"):
        load_task(TaskConfig(name=str(path)), None)


def test_a_file_too_small_to_sample_is_refused_in_rows_per_label(tmp_path, capsys, data_dir):
    path = tmp_path / "t.csv"
    path.write_text("text,label\nhello there,a\nhow are you,b\nfine thanks,b\n")
    expected = "every label needs at least 2 rows (one to train, one to test"
    task = load_task(TaskConfig(name=str(path)), None)  # readable, as every file is
    with pytest.raises(TinylmError, match=r"t.csv is too small to sample from") as error:
        sample_task(task, TaskConfig(name=str(path), sampling="balanced"))
    assert expected in str(error.value) and str(error.value).endswith("it has a: 1, b: 2")
    from tinylm.cli import main  # the command line says the same, exit 2, no traceback

    argv = ["finetune", "--task", path, "--sampling", "balanced", "--scratch", "--arch", "bert1-a3"]
    argv += ["--data-dir", data_dir]
    assert main([str(a) for a in [*argv, "--out", tmp_path / "r"]]) == 2
    err = capsys.readouterr().err
    assert expected in err and "train_per_label" not in err and "Traceback" not in err


def test_empty_task_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("")
    with pytest.raises(TinylmError, match="t.csv is empty"):
        load_task(TaskConfig(name=str(path)), None)


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"text,label\nfine,a\nbro\xffken,b\n")
    with pytest.raises(TinylmError, match=r"t.csv: invalid UTF-8 at line 3"):
        load_task(TaskConfig(name=str(path)), None)


def test_label_with_too_few_examples(data_dir):
    with pytest.raises(TinylmError, match=r"label 'P1 \(crosses\)' has .* 16 train \+ 5 test"):
        sample(data_dir, "fewrel-val", train_per_label=16, test_per_label=5)


def test_missing_agnews_file(data_dir):
    (data_dir / "ag_news/test.csv").unlink()
    with pytest.raises(TinylmError, match="file not found: .*ag_news/test.csv"):
        load_task(TaskConfig(name="agnews"), data_dir)


def test_malformed_agnews_row(data_dir):
    (data_dir / "ag_news/train.csv").write_text('"1","title","body"\n"9","t","b"\n')
    with pytest.raises(TinylmError, match="row 2 has class 9, expected 1..4"):
        load_task(TaskConfig(name="agnews"), data_dir)


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"train_per_label": -1}, "train_per_label"),
        ({"test_per_label": 0}, "test_per_label"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"seed": True}, "seed"),
        ({"train_per_label": "10"}, "train_per_label"),
        ({"colour": 1}, "colour"),
    ],
)
def test_config_errors_name_the_field(fields, field):
    with pytest.raises(ConfigError) as err:
        TaskConfig.from_dict({"name": "agnews", **fields})
    assert err.value.field == field and str(err.value).startswith(f"{field}: ")


def test_val_fraction_that_leaves_no_training_example(data_dir):
    with pytest.raises(TinylmError, match="leaves no training example"):
        sample(data_dir, "agnews", train_per_label=1, test_per_label=1, val_fraction=0.6)


@pytest.mark.realdata
def test_real_default_samples(real_data_dir):
    """The paper's sizes on the shared data: agnews 1000/1000, dbpedia 100/100, fewrel-val
    630/70, balanced and disjoint."""
    for name, (n_train, n_test, labels) in {
        "agnews": (1000, 1000, 4),
        "dbpedia": (100, 100, 14),
        "fewrel-val": (630, 70, 16),
    }.items():
        s = sample(real_data_dir, name, seed=1)
        assert per_label(s.train) == dict.fromkeys(range(labels), n_train)
        assert per_label(s.test) == dict.fromkeys(range(labels), n_test)
        assert not set(s.train.texts) & set(s.test.texts)
        assert np.all(np.diff(s.test.labels) >= 0)  # grouped by label, in label order


def test_a_small_val_fraction_still_gives_one_example_per_label(data_dir):
    s = sample(data_dir, "agnews", train_per_label=5, test_per_label=2, val_fraction=0.1)
    assert per_label(s.val) == {0: 1, 1: 1, 2: 1, 3: 1} and len(s.train) == 16


def test_the_task_registry_is_what_needs_fetch_check_and_help_read(capsys):
    from tinylm.cli import main
    from tinylm.data.check import STUDY_TASKS
    from tinylm.data.fetch import DATASETS
    from tinylm.data.needs import NEEDS
    from tinylm.data.tasks import TASKS, task_title

    for name, spec in TASKS.items():
        assert NEEDS[name].alternatives == spec.files and NEEDS[name].dataset == spec.dataset
        assert spec.dataset in DATASETS
    assert DATASETS == ("tokenizer", "wikipedia", "agnews", "dbpedia", "fewrel", "medical")
    assert STUDY_TASKS == (("agnews",), ("dbpedia",), ("fewrel", "fewrel-val"))
    assert task_title("fewrel-val") == "FewRel" and task_title("my.csv") == "my.csv"
    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert all(name in help_text for name in TASKS)


def _medical_folder(root, per_label: int, with_train: bool):
    """Medical Abstracts' layout, a few abstracts per condition (class 1-based)."""
    from tinylm import layout

    folder = root / "medical_abstracts"
    folder.mkdir(parents=True)
    (root / layout.MEDICAL_LABELS).write_text(
        "condition_label,condition_name\n1,neoplasms\n2,digestive\n3,nervous\n4,heart\n5,general\n"
    )

    def write(relative, start):
        rows = [
            f'{c},"abstract {start + i} on condition {c}, a tumour"'
            for c in range(1, 6)
            for i in range(per_label)
        ]
        (root / relative).write_text("condition_label,medical_abstract\n" + "\n".join(rows) + "\n")

    write(layout.MEDICAL_TEST, 0)
    if with_train:
        write(layout.MEDICAL_TRAIN, 1000)
    return root


def test_medical_abstracts_without_a_train_file_is_one_pool_split_without_overlap(tmp_path):
    root = _medical_folder(tmp_path, per_label=12, with_train=False)
    task = load_task(TaskConfig(name="medical"), root)
    assert task.test_pool is None and len(task.train_pool) == 60
    assert task.label_names == ["neoplasms", "digestive", "nervous", "heart", "general"]
    assert (task.default_train_per_label, task.default_test_per_label) == (200, 60)
    assert any("is absent" in notice for notice in task.notices)
    drawn = sample_task(task, TaskConfig(name="medical", train_per_label=8, test_per_label=4))
    train, test = drawn.split("train"), drawn.split("test")
    assert per_label(train) == {c: 8 for c in range(5)} and per_label(test) == {
        c: 4 for c in range(5)
    }
    assert not set(train.texts) & set(test.texts)
    assert "abstract 3 on condition 2, a tumour" in task.train_pool.texts  # quoted comma kept


def test_medical_abstracts_with_its_train_file_reads_two_pools(tmp_path):
    root = _medical_folder(tmp_path, per_label=3, with_train=True)
    task = load_task(TaskConfig(name="medical"), root)
    assert len(task.train_pool) == len(task.test_pool) == 15 and not task.notices
    assert (task.default_train_per_label, task.default_test_per_label) == (1000, 250)
    assert task.train_pool.labels.tolist() == [c for c in range(5) for _ in range(3)]
    (root / "medical_abstracts/medical_tc_labels.csv").write_text("condition_label\n1\n")
    with pytest.raises(TinylmError, match="expected rows `condition_label,condition_name`"):
        load_task(TaskConfig(name="medical"), root)
    (root / "medical_abstracts/medical_tc_labels.csv").unlink()  # the built-in names then
    assert load_task(TaskConfig(name="medical"), root).label_names[0] == "neoplasms"
    (root / "medical_abstracts/medical_tc_test.csv").write_text("label,text\n1,a\n")
    with pytest.raises(TinylmError, match="expected \\['condition_label', 'medical_abstract'\\]"):
        load_task(TaskConfig(name="medical"), root)
