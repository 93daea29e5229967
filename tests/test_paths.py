"""Where data and caches live when nothing is set up, and what a command says when the data
folder is missing or lacks a file (no network: nothing here downloads)."""

import shutil

import pytest

from conftest import REAL_CACHE_ROOT
from datagen import make_data_dir
from tinylm import layout, paths
from tinylm.cli import main
from tinylm.data.needs import missing, preset_needs, require_data
from tinylm.errors import TinylmError
from tinylm.study.presets import PRESETS


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the folders


def test_the_cache_root_honours_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "cache_root", REAL_CACHE_ROOT)  # the real one, not conftest's
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert paths.cache_root() == tmp_path / "home/.cache/tinylm"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_root() == tmp_path / "xdg/tinylm"
    # one root: the data folder is its data/, the token cache the root itself
    assert paths.default_data_dir() == tmp_path / "xdg/tinylm/data"
    monkeypatch.delenv(paths.CACHE_DIR_ENV)
    assert paths.resolve_cache_dir() == tmp_path / "xdg/tinylm"
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path / "tokens"))
    assert paths.resolve_cache_dir() == tmp_path / "tokens"
    assert paths.default_data_dir() == tmp_path / "xdg/tinylm/data"  # not the token cache's


def test_data_dir_precedence_flag_then_variable_then_default(monkeypatch, tmp_path):
    flag, variable, default = tmp_path / "flag", tmp_path / "variable", paths.default_data_dir()
    for folder in (flag, variable, default):
        folder.mkdir(parents=True)
    assert paths.resolve_data_dir() == default
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(variable))
    assert paths.resolve_data_dir() == variable
    assert paths.resolve_data_dir(flag) == flag
    monkeypatch.setenv(paths.DATA_DIR_ENV, "")  # set but empty: as unset
    assert paths.resolve_data_dir() == default


def test_a_named_folder_that_does_not_exist_is_not_replaced_by_the_default(monkeypatch, tmp_path):
    paths.default_data_dir().mkdir(parents=True)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "typo"))
    with pytest.raises(TinylmError, match="typo does not exist"):
        paths.resolve_data_dir()
    with pytest.raises(TinylmError, match="typo does not exist"):
        require_data(tasks=["agnews"])


def test_no_default_folder_says_both_ways_out(capsys):
    default = paths.default_data_dir()
    code, out, err = run(capsys, "tokenize", "hello")
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert f"the data folder {default} (TINYLM_DATA_DIR is unset) does not exist" in line
    assert "needed: tokenizer/bert-base-uncased-vocab.txt" in line
    assert "set TINYLM_DATA_DIR=DIR (or pass --data-dir DIR)" in line
    assert "`tinylm data fetch --only tokenizer`" in line  # into the default: no --data-dir


# ---------------------------------------------------------------- what commands need


def test_a_default_folder_lacking_the_task_files_names_them(capsys, tmp_path):
    default = make_data_dir(paths.default_data_dir())
    shutil.rmtree(default / "ag_news")
    argv = ["finetune", "--task", "agnews", "--scratch", "--arch", "bert1-a3"]
    code, out, err = run(capsys, *argv, "--out", tmp_path / "run")
    assert code == 2
    [line] = err.strip().splitlines()
    assert f"the data folder {default} lacks ag_news/train.csv, ag_news/test.csv" in line
    assert "TINYLM_DATA_DIR=DIR" in line and "--data-dir DIR" in line
    assert line.endswith("download them with `tinylm data fetch --only agnews`")
    assert not (tmp_path / "run").exists()  # refused before any work


def test_a_named_folder_lacking_a_file_gives_the_fetch_into_it(capsys, data_dir, tmp_path):
    (data_dir / layout.WIKIPEDIA).unlink()
    code, _, err = run(capsys, "pretrain", "--data-dir", data_dir, "--out", tmp_path / "run")
    assert code == 2
    assert f"lacks {layout.WIKIPEDIA}" in err
    assert f"`tinylm data fetch --only wikipedia --data-dir {data_dir}`" in err


def test_a_study_names_its_preset_in_the_fetch(capsys, tmp_path):
    code, _, err = run(capsys, "study", "gap", "--preset", "demo", "--runs", tmp_path / "runs")
    assert code == 2
    [line] = err.strip().splitlines()
    for relative in (layout.VOCAB, layout.WIKIPEDIA, layout.AGNEWS_TRAIN, layout.AGNEWS_TEST):
        assert relative in line
    assert "dbpedia" not in line and "fewrel" not in line  # the demo reads AG News alone
    assert "`tinylm data fetch --for-preset demo`" in line


def test_what_a_preset_needs_and_the_alternatives_of_dbpedia(tmp_path):
    assert preset_needs(PRESETS["demo"]) == ["tokenizer", "wikipedia", "agnews"]
    assert preset_needs(PRESETS["cpu"]) == [
        "tokenizer",
        "wikipedia",
        "agnews",
        "dbpedia",
        "fewrel-val",
    ]
    # Wikipedia: the largest subset a preset reads, and the validation paragraphs beyond it
    assert PRESETS["demo"].corpus_paragraphs == 5_000 + 1_000
    assert PRESETS["smoke"].corpus_paragraphs == 500 + 200
    data = make_data_dir(tmp_path / "data")  # DBpedia's unofficial subsets only
    assert missing(data, ["dbpedia", "fewrel", "fewrel-val"]) == {"fewrel": [layout.FEWREL_TRAIN]}
    (data / layout.DBPEDIA_SUBSET_TEST).unlink()
    assert missing(data, ["dbpedia"]) == {
        "dbpedia": [layout.DBPEDIA_TRAIN, layout.DBPEDIA_TEST]  # the official files to fetch
    }


def test_a_user_task_file_needs_no_data_folder_file(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    assert missing(folder, []) == {}
    with pytest.raises(TinylmError, match="lacks tokenizer/"):  # only the tokenizer
        require_data(folder, tasks=["my.csv"], corpora=["my.txt"])
