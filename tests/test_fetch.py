"""Tests of `tinylm data fetch` that never touch the network.

The connectivity probe is replaced, sockets and urllib are blocked, and the hub libraries are
replaced by fakes (in sys.modules) wherever the download path runs.
"""

import csv
import gzip
import io
import json
import os
import socket
import sys
import threading
import types
import urllib.request
from pathlib import Path

import pytest

from tinylm import layout, paths
from tinylm.data import fetch as fetch_mod
from tinylm.data import hub
from tinylm.data import io as data_io
from tinylm.data.fetch import (
    article_paragraphs,
    fetch,
    write_classes,
    write_classification_csv,
    write_fewrel_json,
    write_wikipedia,
)
from tinylm.data.needs import missing, preset_needs
from tinylm.errors import TinylmError
from tinylm.paths import OFFLINE_ENV_VARS
from tinylm.study.presets import PRESETS


def _words(n: int, word: str = "word") -> str:
    return " ".join([word] * n)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test, whatever code makes it."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to use the network: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    for name in OFFLINE_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def online(monkeypatch):
    monkeypatch.setattr(fetch_mod, "internet_reachable", lambda *a, **k: True)


def _install_fake_module(monkeypatch, name: str, **attributes) -> None:
    module = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)


class FakeSplit(list):
    """Stands in for a datasets.Dataset: a list of row dicts with ClassLabel names."""

    def __init__(self, rows, label_names):
        super().__init__(rows)
        self.features = {"label": types.SimpleNamespace(names=list(label_names))}


# ---------------------------------------------------------------- no internet


@pytest.mark.parametrize("variable", OFFLINE_ENV_VARS)
@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_offline_env_var_fails_fast_without_probing(monkeypatch, tmp_path, variable, value):
    monkeypatch.setenv(variable, value)
    probed = []
    monkeypatch.setattr(fetch_mod, "internet_reachable", lambda *a, **k: probed.append(1))
    with pytest.raises(TinylmError) as caught:
        fetch(tmp_path / "data")
    message = str(caught.value)
    assert "needs internet access" in message
    assert variable in message and "offline" in message
    assert "--data-dir" in message and "TINYLM_DATA_DIR" in message
    assert "docs/data.md" in message
    assert probed == []
    assert _files(tmp_path) == []


def test_false_env_value_is_not_offline_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    probed = []

    def probe(*args, **kwargs):
        probed.append(1)
        return False

    monkeypatch.setattr(fetch_mod, "internet_reachable", probe)
    with pytest.raises(TinylmError, match=r"cannot reach huggingface\.co:443"):
        fetch(tmp_path)
    assert probed == [1]


def _probe_false(*args, **kwargs):
    return False


def _probe_raises(*args, **kwargs):
    raise OSError("network is unreachable")


@pytest.mark.parametrize("probe", [_probe_false, _probe_raises])
def test_failing_probe_fails_fast(monkeypatch, tmp_path, probe):
    monkeypatch.setattr(fetch_mod, "internet_reachable", probe)
    with pytest.raises(TinylmError) as caught:
        fetch(tmp_path / "data", only=["fewrel"])
    message = str(caught.value)
    assert "needs internet access" in message
    assert "TINYLM_DATA_DIR" in message and "docs/data.md" in message
    assert _files(tmp_path) == []


def test_probe_connects_to_the_module_constants(monkeypatch):
    calls = []

    def unreachable(address, timeout):
        calls.append((address, timeout))
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    assert hub.internet_reachable() is False
    assert calls == [(("huggingface.co", 443), hub.PROBE_TIMEOUT_S)]
    assert 1 <= hub.PROBE_TIMEOUT_S <= 10


def test_probe_reports_reachable_when_the_connection_opens(monkeypatch):
    monkeypatch.setattr(socket, "create_connection", lambda address, timeout: io.BytesIO())
    assert hub.internet_reachable() is True


def test_unknown_dataset_name_is_rejected_before_probing(monkeypatch, tmp_path):
    monkeypatch.setattr(fetch_mod, "internet_reachable", _probe_raises)
    with pytest.raises(TinylmError, match=r"unknown dataset\(s\) ag_news; choose from"):
        fetch(tmp_path, only=["agnews", "ag_news"])
    assert _files(tmp_path) == []


# ---------------------------------------------------------------- wikipedia


LONG_A = _words(25, "alpha")
LONG_B = "\u201cQuoted\u201d " + _words(24, "beta")
LONG_C = _words(19, "gamma") + " twentieth"  # exactly 20 words: kept


def test_article_paragraphs_keeps_long_prose_lines_in_order():
    text = "\n".join(
        [
            "History",  # a heading
            LONG_A,
            "",
            "   ",
            _words(19, "short"),  # one word too few
            "  " + LONG_B + "  ",  # surrounding whitespace is dropped
            _words(25) + " formula_3 " + _words(2),
            _words(25) + " <ref>x</ref>",
            "{{Infobox " + _words(25),
            _words(25) + " }}",
            "[[Category " + _words(25),
            "* " + _words(25),  # a list item
            "- " + _words(25),  # a dash bullet: not a word character, quote or "("
            "(a) " + _words(25, "paren"),  # an enumerated paragraph: kept
            LONG_C,
            "'" + _words(25, "delta"),
        ]
    )
    kept = [LONG_A, LONG_B, "(a) " + _words(25, "paren"), LONG_C, "'" + _words(25, "delta")]
    assert article_paragraphs(text) == kept


def test_article_paragraphs_of_an_article_without_prose_is_empty():
    assert article_paragraphs("Title\n\nSee also\n* a list item") == []
    assert article_paragraphs("") == []


def _read_jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


SYNTHETIC_ARTICLES = [
    {"id": "12", "title": "Anarchism", "text": f"Anarchism\n{LONG_A}\nHistory\n\n{LONG_B}\n"},
    {"id": "25", "title": "Autism", "text": "Autism\nonly short lines\n"},
    {
        "id": "39",
        "title": "Albedo",
        "text": f"{LONG_C}\n{{{{Template}}}} {LONG_A}\nRéunion {LONG_A}",
    },
    {"id": "290", "title": "A", "text": LONG_A},
]


def test_write_wikipedia_records_and_paragraph_indices(tmp_path):
    path = tmp_path / layout.WIKIPEDIA
    count = write_wikipedia(path, iter(SYNTHETIC_ARTICLES), limit=3)
    records = _read_jsonl_gz(path)
    assert count == len(records) == 4
    assert all(list(r) == ["title", "article_id", "para_index", "text"] for r in records)
    assert [(r["title"], r["article_id"], r["para_index"]) for r in records] == [
        ("Anarchism", 12, 0),
        ("Anarchism", 12, 1),
        ("Albedo", 39, 0),
        ("Albedo", 39, 1),
    ]
    assert [r["text"] for r in records] == [LONG_A, LONG_B, LONG_C, "Réunion " + LONG_A]
    # The loaders read it back, and non-ASCII text is stored as UTF-8, not as escapes.
    assert list(data_io.iter_jsonl(path)) == records
    assert "Réunion".encode() in gzip.decompress(path.read_bytes())


def test_write_wikipedia_limit_stops_reading_the_stream(tmp_path):
    read = []

    def endless():
        for i in range(10**9):
            read.append(i)
            yield {"id": str(i), "title": f"T{i}", "text": LONG_A}

    count = write_wikipedia(tmp_path / "p.jsonl.gz", endless(), limit=5)
    records = _read_jsonl_gz(tmp_path / "p.jsonl.gz")
    assert count == 5
    assert [r["article_id"] for r in records] == [0, 1, 2, 3, 4]
    assert len(read) == 5


def test_write_wikipedia_is_deterministic_gzip(tmp_path):
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b" / "c.jsonl.gz"
    write_wikipedia(first, SYNTHETIC_ARTICLES, limit=10)
    write_wikipedia(second, SYNTHETIC_ARTICLES, limit=10)
    raw = first.read_bytes()
    assert raw == second.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert raw[3] == 0  # no flags: no (temporary) file name in the header
    assert raw[4:8] == b"\0\0\0\0"  # mtime 0


# ---------------------------------------------------------------- csv, classes, json


ROWS = [
    (3, "Wall St. Bears Claw Back", "Reuters - Short-sellers, Wall Street's dwindling\\band"),
    (1, "", 'He said "no", twice'),
    (14, "Réunion, France", " leading space\nand a newline"),
]


def test_write_classification_csv_round_trips_fully_quoted(tmp_path):
    path = tmp_path / layout.AGNEWS_TRAIN
    write_classification_csv(path, iter(ROWS))
    text = path.read_text(encoding="utf-8")
    assert text.startswith(
        '"3","Wall St. Bears Claw Back","Reuters - Short-sellers, Wall Street\'s dwindling\\band"\n'
        '"1","","He said ""no"", twice"\n'
    )
    assert "\r" not in text
    with path.open(encoding="utf-8", newline="") as f:
        parsed = list(csv.reader(f))
    assert parsed == [[str(c), t, d] for c, t, d in ROWS]
    # Every field is quoted: reading with QUOTE_NONNUMERIC turns only quoted fields into str.
    with path.open(encoding="utf-8", newline="") as f:
        typed = list(csv.reader(f, quoting=csv.QUOTE_NONNUMERIC))
    assert typed == parsed
    assert data_io.read_csv(path, header=False) == (None, parsed)


def test_write_classes_one_name_per_line(tmp_path):
    path = tmp_path / layout.AGNEWS_CLASSES
    write_classes(path, fetch_mod.AGNEWS.classes)
    assert path.read_bytes() == b"World\nSports\nBusiness\nSci/Tech\n"


def test_write_fewrel_json_round_trips(tmp_path):
    obj = {
        "P177": [
            {
                "tokens": ["In", "Zürich", ","],
                "h": ["zürich", "Q72", [[1]]],
                "t": ["x", "Q1", [[0]]],
            }
        ],
        "P364": [],
    }
    path = tmp_path / layout.FEWREL_VAL
    write_fewrel_json(path, obj)
    assert json.loads(path.read_bytes()) == obj
    assert path.read_bytes().startswith(b'{"P177": [{"tokens": ["In", "Z\\u00fcrich", ","]')


# ---------------------------------------------------------------- atomic writes


def _rows_then_failure():
    yield from ROWS[:2]
    raise RuntimeError("connection reset")


def test_successful_write_leaves_no_temporary_file(tmp_path):
    write_classification_csv(tmp_path / "train.csv", ROWS)
    write_wikipedia(tmp_path / "p.jsonl.gz", SYNTHETIC_ARTICLES, limit=10)
    write_fewrel_json(tmp_path / "f.json", {"P1": []})
    assert _files(tmp_path) == ["f.json", "p.jsonl.gz", "train.csv"]


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "ag_news" / "train.csv"
    with pytest.raises(RuntimeError, match="connection reset"):
        write_classification_csv(path, _rows_then_failure())
    assert not path.exists()
    assert _files(tmp_path) == ["ag_news"]


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "train.csv"
    write_classification_csv(path, ROWS[2:])
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        write_classification_csv(path, _rows_then_failure())
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["train.csv"]


def test_failed_wikipedia_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "p.jsonl.gz"
    write_wikipedia(path, SYNTHETIC_ARTICLES[:1], limit=1)
    before = path.read_bytes()

    def articles():
        yield from SYNTHETIC_ARTICLES
        raise ConnectionError("stream broke")

    with pytest.raises(ConnectionError):
        write_wikipedia(path, articles(), limit=100)
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["p.jsonl.gz"]


def test_written_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    write_fewrel_json(tmp_path / "f.json", {})
    assert (tmp_path / "f.json").stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------- fetch with fake sources


def test_fetch_classification_writes_the_official_layout(monkeypatch, tmp_path, online):
    agnews = {
        "train": FakeSplit(
            [{"text": "Wall St. Bears (Reuters) Reuters - dwindling\\band", "label": 2}],
            fetch_mod.AGNEWS.classes,
        ),
        "test": FakeSplit([{"text": 'a "quoted" word', "label": 0}], fetch_mod.AGNEWS.classes),
    }
    dbpedia = {
        "train": FakeSplit(
            [{"title": "E. D. Abbott Ltd", "content": " Abbott of Farnham", "label": 0}],
            fetch_mod.DBPEDIA.classes,
        ),
        "test": FakeSplit(
            [{"title": "Fame", "content": " A written work", "label": 13}],
            fetch_mod.DBPEDIA.classes,
        ),
    }
    sources = {"fancyzhx/ag_news": agnews, "fancyzhx/dbpedia_14": dbpedia}
    _install_fake_module(monkeypatch, "datasets", load_dataset=lambda name: sources[name])

    written = fetch(tmp_path, only=["dbpedia", "agnews"], progress=False)

    assert written == [
        tmp_path / layout.AGNEWS_TRAIN,
        tmp_path / layout.AGNEWS_TEST,
        tmp_path / layout.AGNEWS_CLASSES,
        tmp_path / layout.DBPEDIA_TRAIN,
        tmp_path / layout.DBPEDIA_TEST,
        tmp_path / layout.DBPEDIA_CLASSES,
    ]
    read = lambda relative: (tmp_path / relative).read_text(encoding="utf-8")  # noqa: E731
    assert (
        read(layout.AGNEWS_TRAIN) == '"3","","Wall St. Bears (Reuters) Reuters - dwindling\\band"\n'
    )
    assert read(layout.AGNEWS_TEST) == '"1","","a ""quoted"" word"\n'
    assert read(layout.DBPEDIA_TRAIN) == '"1","E. D. Abbott Ltd"," Abbott of Farnham"\n'
    assert read(layout.DBPEDIA_TEST) == '"14","Fame"," A written work"\n'
    assert read(layout.DBPEDIA_CLASSES).splitlines() == list(fetch_mod.DBPEDIA.classes)
    assert len(fetch_mod.DBPEDIA.classes) == 14


def test_fetch_medical_writes_the_repository_layout_that_the_task_reads(
    monkeypatch, tmp_path, online
):
    from tinylm.config import TaskConfig
    from tinylm.data.tasks import load_task

    def rows(start):
        return [
            {"condition_label": c, "medical_abstract": f'abstract {start + c}, "quoted"'}
            for c in (3, 1, 5, 2, 4)
        ]

    names = ["neoplasms", "digestive", "nervous", "cardiovascular", "general"]
    labels = [{"condition_label": i, "condition_name": n} for i, n in enumerate(names, 1)]
    hub = {
        None: {"train": rows(0), "test": rows(10)},
        "labels": {"train": labels[::-1]},  # the hub's order need not be the ids'
    }
    loads = []

    def load_dataset(name, subset=None):
        loads.append((name, subset))
        return hub[subset]

    _install_fake_module(monkeypatch, "datasets", load_dataset=load_dataset)
    written = fetch(tmp_path, only=["medical"], progress=False)
    assert loads == [
        ("TimSchopf/medical_abstracts", None),
        ("TimSchopf/medical_abstracts", "labels"),
    ]
    medical = (layout.MEDICAL_TRAIN, layout.MEDICAL_TEST, layout.MEDICAL_LABELS)
    assert written == [tmp_path / relative for relative in medical]
    test_csv = (tmp_path / layout.MEDICAL_TEST).read_text(encoding="utf-8")
    assert test_csv.splitlines()[:2] == [
        "condition_label,medical_abstract",
        '3,"abstract 13, ""quoted"""',
    ]
    task = load_task(TaskConfig(name="medical"), tmp_path)
    assert task.label_names == names and not task.notices  # two pools: no notice
    assert task.train_pool.labels.tolist() == [2, 0, 4, 1, 3]
    assert task.test_pool.texts[0] == 'abstract 13, "quoted"'


def test_fetch_refuses_a_hub_label_order_that_differs(monkeypatch, tmp_path, online):
    shuffled = ["Sports", "World", "Business", "Sci/Tech"]
    splits = {"train": FakeSplit([], shuffled), "test": FakeSplit([], shuffled)}
    _install_fake_module(monkeypatch, "datasets", load_dataset=lambda name: splits)
    with pytest.raises(TinylmError, match="unexpected label names"):
        fetch(tmp_path, only=["agnews"], progress=False)
    assert _files(tmp_path) == []


def test_fetch_wikipedia_streams_the_first_articles(monkeypatch, tmp_path, online):
    calls = []

    def load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        return ({"id": str(i), "title": f"T{i}", "text": LONG_A} for i in range(10**9))

    _install_fake_module(monkeypatch, "datasets", load_dataset=load_dataset)
    written = fetch(tmp_path, only=["wikipedia"], wiki_articles=3, progress=False)
    assert written == [tmp_path / layout.WIKIPEDIA]
    assert calls == [
        (("wikimedia/wikipedia", "20231101.en"), {"split": "train", "streaming": True})
    ]
    assert [r["article_id"] for r in _read_jsonl_gz(written[0])] == [0, 1, 2]


def test_fetch_tokenizer_copies_the_hub_vocab(monkeypatch, tmp_path, online):
    cached = tmp_path / "hub-cache" / "vocab.txt"
    cached.parent.mkdir()
    cached.write_text("[PAD]\n[unused0]\nthe\n", encoding="utf-8")
    calls = []

    def hf_hub_download(**kwargs):
        calls.append(kwargs)
        return str(cached)

    _install_fake_module(monkeypatch, "huggingface_hub", hf_hub_download=hf_hub_download)
    data = tmp_path / "data"
    assert fetch(data, only=["tokenizer"]) == [data / layout.VOCAB]
    assert calls == [{"repo_id": "bert-base-uncased", "filename": "vocab.txt"}]
    assert (data / layout.VOCAB).read_bytes() == cached.read_bytes()


class FakeResponse(io.BytesIO):
    def __init__(self, body: bytes):
        super().__init__(body)
        self.headers = {"Content-Length": str(len(body))}


def test_fetch_fewrel_downloads_the_three_official_files(monkeypatch, tmp_path, online):
    bodies = {
        "train_wiki": {
            "P931": [{"tokens": ["a"], "h": ["a", "Q1", [[0]]], "t": ["a", "Q1", [[0]]]}]
        },
        "val_wiki": {"P177": []},
        "pid2name": {"P931": ["place served by transport hub", "territorial entity"]},
    }
    urls = []

    def urlopen(url, timeout):
        urls.append(url)
        name = url.rsplit("/", 1)[1].removesuffix(".json")
        return FakeResponse(json.dumps(bodies[name]).encode())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    written = fetch(tmp_path, only=["fewrel"], progress=False)
    expected = [layout.FEWREL_TRAIN, layout.FEWREL_VAL, layout.FEWREL_NAMES]
    assert written == [tmp_path / relative for relative in expected]
    base = "https://raw.githubusercontent.com/thunlp/FewRel/master/data/"
    assert urls == [f"{base}train_wiki.json", f"{base}val_wiki.json", f"{base}pid2name.json"]
    assert data_io.read_json(tmp_path / layout.FEWREL_TRAIN) == bodies["train_wiki"]
    assert data_io.read_json(tmp_path / layout.FEWREL_NAMES) == bodies["pid2name"]


def test_download_errors_become_tinylm_errors(monkeypatch, tmp_path, online):
    def load_dataset(*args, **kwargs):
        raise ConnectionError("502 Bad Gateway")

    _install_fake_module(monkeypatch, "datasets", load_dataset=load_dataset)
    with pytest.raises(TinylmError) as caught:
        fetch(tmp_path, only=["dbpedia"], progress=False)
    assert str(caught.value) == "downloading dbpedia failed: 502 Bad Gateway"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert _files(tmp_path) == []


def test_error_mid_stream_leaves_no_partial_file(monkeypatch, tmp_path, online):
    def load_dataset(*args, **kwargs):
        def articles():
            yield from SYNTHETIC_ARTICLES
            raise OSError("stream interrupted")

        return articles()

    _install_fake_module(monkeypatch, "datasets", load_dataset=load_dataset)
    with pytest.raises(TinylmError, match="downloading wikipedia failed: stream interrupted"):
        fetch(tmp_path, only=["wikipedia"], progress=False)
    assert _files(tmp_path) == ["wikipedia"]


# ---------------------------------------------------------------- a preset's data (make demo)


def _cli(capsys, *argv):
    from tinylm.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


DEMO_FILES = (layout.VOCAB, layout.WIKIPEDIA, layout.AGNEWS_TRAIN, layout.AGNEWS_TEST)
AG_NEWS_FILES = (layout.AGNEWS_TRAIN, layout.AGNEWS_TEST, layout.AGNEWS_CLASSES)


def _offline_by_variable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return "HF_HUB_OFFLINE is set (offline mode)"


def _offline_by_probe(monkeypatch):
    monkeypatch.setattr(fetch_mod, "internet_reachable", _probe_false)
    return "cannot reach huggingface.co:443"


@pytest.mark.parametrize("offline", [_offline_by_variable, _offline_by_probe])
def test_a_preset_fetch_offline_stops_at_once_naming_both_ways_out(capsys, monkeypatch, offline):
    reason = offline(monkeypatch)
    default = paths.default_data_dir()  # TINYLM_DATA_DIR unset, as for a first `make demo`
    code, out, err = _cli(capsys, "data", "fetch", "--for-preset", "demo")
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert reason in line
    assert f"the data folder {default} lacks {', '.join(DEMO_FILES)}" in line
    assert "that preset demo reads" in line
    assert "set TINYLM_DATA_DIR=DIR (or pass --data-dir DIR)" in line
    assert "run `tinylm data fetch --for-preset demo` once online" in line
    assert not default.exists()  # nothing written


def test_a_preset_fetch_with_nothing_missing_needs_no_network(
    capsys, monkeypatch, data_dir, tmp_path
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(fetch_mod, "internet_reachable", _probe_raises)  # never called
    preset = tmp_path / "tiny.yaml"  # what the tiny data holds: 150 of its 200 paragraphs
    fields = {"arch": "bert1-a3", "tasks": ["agnews"], "seeds": 1, "gap_ws": 100}
    fields |= {"ws_grid": [50, 100], "pretrain": {}, "finetune": {}}
    preset.write_text(json.dumps({**fields, "recipe": {"val_paragraphs": 50}}))
    before = _files(data_dir)
    code, out, err = _cli(capsys, "data", "fetch", "--for-preset", preset, "--data-dir", data_dir)
    assert code == 0, err
    assert out.strip() == f"{data_dir} holds what preset tiny reads: nothing to fetch"
    assert _files(data_dir) == before


def test_a_preset_fetch_downloads_only_what_is_missing(capsys, monkeypatch, online):
    default = paths.default_data_dir()
    (default / layout.VOCAB).parent.mkdir(parents=True)
    (default / layout.VOCAB).write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n")
    streamed = []

    def articles():
        for i in range(10**9):
            streamed.append(i)
            yield {"id": str(i), "title": f"T{i}", "text": f"{LONG_A}\n{LONG_B}"}

    agnews = {
        split: FakeSplit([{"text": f"{split} news", "label": 1}], fetch_mod.AGNEWS.classes)
        for split in ("train", "test")
    }
    loaded = []

    def load_dataset(name, *args, **kwargs):
        loaded.append(name)
        return articles() if name == "wikimedia/wikipedia" else {"fancyzhx/ag_news": agnews}[name]

    _install_fake_module(monkeypatch, "datasets", load_dataset=load_dataset)
    # the tokenizer is there: the hub's vocabulary is never asked for
    _install_fake_module(monkeypatch, "huggingface_hub", hf_hub_download=_probe_raises)
    code, out, err = _cli(capsys, "data", "fetch", "--for-preset", "demo", "--quiet")
    assert code == 0, err
    assert loaded == ["wikimedia/wikipedia", "fancyzhx/ag_news"]  # no DBpedia, no FewRel
    assert out.splitlines() == [f"wrote {default / f}" for f in (layout.WIKIPEDIA, *AG_NEWS_FILES)]
    # the paragraphs the demo reads (Ws 5,000 and 1,000 held out), two per article
    paragraphs = _read_jsonl_gz(default / layout.WIKIPEDIA)
    assert len(paragraphs) == 6_000 and len(streamed) == 3_000
    assert missing(default, preset_needs(PRESETS["demo"])) == {}


def test_a_wikipedia_too_small_for_the_preset_is_fetched_again(capsys, monkeypatch, data_dir):
    """A demo download (6,000 paragraphs) does not hold what the cpu preset reads."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = _cli(capsys, "data", "fetch", "--for-preset", "smoke", "--data-dir", data_dir)
    assert code == 2  # the tiny corpus's 200 paragraphs are not smoke's 700
    assert f"the data folder {data_dir} holds 200 of the 700 Wikipedia paragraphs" in err
    assert f"`tinylm data fetch --for-preset smoke --data-dir {data_dir}`" in err
    assert "lacks" not in err  # every file is there


def test_only_and_for_preset_are_one_or_the_other(capsys):
    with pytest.raises(SystemExit) as exit_:
        _cli(capsys, "data", "fetch", "--only", "agnews", "--for-preset", "demo")
    assert exit_.value.code == 2


def test_write_wikipedia_paragraph_limit_stops_reading_the_stream(tmp_path):
    read = []

    def endless():
        for i in range(10**9):
            read.append(i)
            yield {"id": str(i), "title": f"T{i}", "text": f"{LONG_A}\n{LONG_B}"}

    counted = []
    path = tmp_path / "p.jsonl.gz"
    assert write_wikipedia(path, endless(), 10**6, paragraphs=5, written=counted.append) == 5
    assert [(r["article_id"], r["para_index"]) for r in _read_jsonl_gz(path)] == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
        (2, 0),
    ]
    assert len(read) == 3 and counted == [1] * 5


def test_a_probe_whose_lookup_hangs_gives_up_at_its_timeout(monkeypatch):
    """create_connection's timeout does not bound the name lookup; the probe's does."""
    release = threading.Event()

    def hanging(address, timeout):
        release.wait()  # a DNS lookup that does not answer
        raise OSError("no answer")

    monkeypatch.setattr(socket, "create_connection", hanging)
    try:
        assert fetch_mod.internet_reachable(timeout=0.05) is False
    finally:
        release.set()


# ---------------------------------------------------------------- against the real files


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "names"),
    [
        (layout.AGNEWS_CLASSES, fetch_mod.AGNEWS.classes),
        (layout.DBPEDIA_CLASSES, fetch_mod.DBPEDIA.classes),
    ],
)
def test_classes_match_the_official_files(tmp_path, real_data_dir, relative, names):
    write_classes(tmp_path / "classes.txt", names)
    assert (tmp_path / "classes.txt").read_bytes() == (real_data_dir / relative).read_bytes()


@pytest.mark.realdata
def test_writers_reproduce_the_official_files_byte_for_byte(tmp_path, real_data_dir):
    real = real_data_dir
    official_csv = real / layout.AGNEWS_TEST
    with official_csv.open(encoding="utf-8", newline="") as f:
        rows = [(int(c), t, d) for c, t, d in csv.reader(f)]
    write_classification_csv(tmp_path / "test.csv", rows)
    assert (tmp_path / "test.csv").read_bytes() == official_csv.read_bytes()
    for relative in (layout.FEWREL_VAL, layout.FEWREL_NAMES):
        write_fewrel_json(tmp_path / "f.json", json.loads((real / relative).read_bytes()))
        assert (tmp_path / "f.json").read_bytes() == (real / relative).read_bytes()
