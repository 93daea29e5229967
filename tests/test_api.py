"""The Python API: TinyClassifier fits and predicts like a scikit-learn estimator, inside a
Pipeline, cross_val_score and GridSearchCV; it saves a run folder that the command line reads,
and loads one back; `tinylm.pretrain` / `tinylm.finetune` give the command line's runs."""

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import tinylm
from datagen import tiny_vocab
from tinylm.cli import main
from tinylm.errors import TinylmError

TINY = {"layers": 1, "heads": 2, "hidden": 64, "vocab_size": len(tiny_vocab())}
TOPICS = {  # words of the tiny vocabulary (datagen.py)
    "world": ["war", "minister", "election"],
    "sports": ["match", "goal", "league"],
    "business": ["stock", "profit", "shares"],
}


def texts_and_labels(per_label=12):
    texts, labels = [], []
    for i in range(per_label):
        for label, words in TOPICS.items():
            texts.append(f"the {words[i % 3]} and the {words[(i + 1) % 3]} {i}")
            labels.append(label)
    return texts, labels


def estimator(data_dir, cache_dir, **changes):
    fields = {"arch": TINY, "epochs": 10, "lr": 2e-3, "batch_size": 8, "seed": 0}
    return tinylm.TinyClassifier(data_dir=data_dir, cache_dir=cache_dir, **{**fields, **changes})


def test_fit_predict_score_and_the_same_seed_gives_the_same_model(data_dir, cache_dir):
    texts, labels = texts_and_labels()
    clf = estimator(data_dir, cache_dir).fit(texts, labels)
    assert list(clf.classes_) == ["business", "sports", "world"]
    proba = clf.predict_proba(texts[:6])
    assert proba.shape == (6, 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.score(texts, labels) >= 0.9  # a separable toy task
    assert list(clf.predict(texts[:3])) == labels[:3]
    again = estimator(data_dir, cache_dir).fit(texts, labels)
    assert np.array_equal(again.predict_proba(texts[:6]), proba)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and not hasattr(twin, "model_")


def test_integer_labels_come_back_as_given(data_dir, cache_dir):
    texts, labels = texts_and_labels(4)
    numbers = [{"world": 10, "sports": 20, "business": 30}[label] for label in labels]
    clf = estimator(data_dir, cache_dir, epochs=2).fit(texts, numbers)
    assert clf.classes_.tolist() == [10, 20, 30]
    assert set(clf.predict(texts).tolist()) <= {10, 20, 30}


def test_pipeline_cross_val_score_and_grid_search(data_dir, cache_dir):
    texts, labels = texts_and_labels(6)
    pipeline = make_pipeline(
        FunctionTransformer(lambda xs: [x.lower() for x in xs]),
        estimator(data_dir, cache_dir, epochs=3),
    )
    scores = cross_val_score(pipeline, texts, labels, cv=2)
    assert scores.shape == (2,) and all(0 <= s <= 1 for s in scores)
    search = GridSearchCV(estimator(data_dir, cache_dir, epochs=2), {"lr": [1e-3, 3e-3]}, cv=2)
    search.fit(texts, labels)
    assert search.best_params_["lr"] in (1e-3, 3e-3)
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_save_gives_a_run_folder_the_command_line_reads(data_dir, cache_dir, tmp_path, capsys):
    texts, labels = texts_and_labels()
    clf = estimator(data_dir, cache_dir).fit(texts, labels)
    assert not (clf.run_dir_ / "checkpoints").exists()  # a fit has nothing to resume
    run = clf.save(tmp_path / "run")
    assert (run / "model" / "model.safetensors").is_file() and (run / "config.yaml").is_file()
    code = main(["predict", str(run), texts[0], "--json", "--data-dir", str(data_dir)])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["label"] == clf.predict(texts[:1])[0]
    loaded = tinylm.TinyClassifier.load(run, data_dir=data_dir)
    assert np.array_equal(loaded.predict_proba(texts), clf.predict_proba(texts))
    assert loaded.classes_.tolist() == clf.classes_.tolist()
    with pytest.raises(TinylmError, match="exists"):
        clf.save(run)


def test_fit_refuses_bad_input(data_dir, cache_dir):
    clf = estimator(data_dir, cache_dir)
    with pytest.raises(TinylmError, match="3 texts but 2 labels"):
        clf.fit(["a", "b", "c"], ["x", "y"])
    with pytest.raises(TinylmError, match="at least 2 labels"):
        clf.fit(["a", "b"], ["x", "x"])


def test_a_fit_into_a_used_folder_is_refused(data_dir, cache_dir, tmp_path):
    texts, labels = texts_and_labels(2)
    clf = estimator(data_dir, cache_dir, epochs=1, out=tmp_path / "fit").fit(texts, labels)
    assert (tmp_path / "fit" / "model" / "model.safetensors").is_file()
    with pytest.raises(TinylmError, match="already holds a run; give each fit a new folder"):
        clf.fit(texts, labels)


def test_pretrain_and_finetune_functions_give_the_commands_runs(data_dir, cache_dir, tmp_path):
    common = {"data_dir": data_dir, "cache_dir": cache_dir}
    summary = tinylm.pretrain(
        tmp_path / "pre",
        arch=TINY,
        corpus={"ws": 96},
        train={"epochs": 1, "batch_size": 16},
        **common,
    )
    assert summary["job"] == "pretrain" and (tmp_path / "pre/model/model.safetensors").is_file()
    summary = tinylm.finetune(
        tmp_path / "ft",
        task={"name": "agnews", "train_per_label": 6, "test_per_label": 4, "val_fraction": 0.2},
        init=str(tmp_path / "pre"),
        train={"epochs": 2},
        **common,
    )
    assert summary["job"] == "finetune" and 0 <= summary["test_accuracy"] <= 1
    clf = tinylm.TinyClassifier(init=tmp_path / "pre", epochs=2, **common)
    texts, labels = texts_and_labels(4)
    assert clf.fit(texts, labels).predict(texts).shape == (12,)


def test_the_examples_of_docs_python_md_run(
    data_dir, cache_dir, real_data_dir, tmp_path, monkeypatch, capsys
):
    """Every ```python block of docs/python.md, in order, in one namespace, on the tiny data
    with the real bert-base vocabulary (the examples use the named architectures, sized for
    it)."""
    import re
    import shutil
    from pathlib import Path

    from tinylm import layout

    shutil.copy(real_data_dir / layout.VOCAB, data_dir / layout.VOCAB)
    page = (Path(__file__).parents[1] / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) >= 4
    monkeypatch.setenv("TINYLM_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TINYLM_CACHE_DIR", str(cache_dir))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/python.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "['business' 'sports' 'world']" in out and "TF-IDF + LR:" in out
    assert (namespace["work"] / "ft" / "model" / "model.safetensors").is_file()
