"""`tinylm data check` against the shared data reports the real counts of every file
(the figures of shared/data/MANIFEST.md)."""

import pytest

from tinylm.data.check import check_data

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def report(real_data_dir):
    return check_data(real_data_dir)


def test_verdict(report):
    assert report["usable"], report["reasons"]
    assert report["study_tasks"] == ["agnews", "dbpedia", "fewrel-val"]


def test_tokenizer(report):
    info = report["datasets"]["tokenizer"]["files"]["tokenizer/bert-base-uncased-vocab.txt"]
    assert info["tokens"] == 30_522 and info["canonical"]


def test_wikipedia(report):
    info = report["datasets"]["wikipedia"]["files"]["wikipedia/paragraphs.jsonl.gz"]
    assert (info["paragraphs"], info["articles"], info["lead_paragraphs"]) == (
        300_000,
        27_644,
        27_644,
    )


def test_agnews(report):
    entry = report["datasets"]["agnews"]
    assert entry["status"] == "partial" and entry["usable"]
    train, test = entry["files"]["ag_news/train.csv"], entry["files"]["ag_news/test.csv"]
    assert train["rows"] == 10_429 and not train["complete"]
    assert list(train["per_label"].values()) == [2_630, 2_452, 2_594, 2_753]
    assert test["rows"] == 7_600 and test["complete"]
    assert list(test["per_label"].values()) == [1_900] * 4


def test_dbpedia(report):
    entry = report["datasets"]["dbpedia"]
    assert entry["status"] == "substitute" and entry["usable"]
    val = entry["files"]["dbpedia/subset_dhim_val.csv"]
    test = entry["files"]["dbpedia/subset_dhim_test.csv"]
    assert val["rows"] == test["rows"] == 5_000
    assert list(test["per_label"].values()) == [
        364,
        332,
        362,
        378,
        334,
        348,
        358,
        366,
        367,
        350,
        382,
        371,
        361,
        327,
    ]
    assert list(val["per_label"].values()) == [
        350,
        359,
        376,
        337,
        332,
        354,
        353,
        370,
        357,
        354,
        372,
        380,
        369,
        337,
    ]


def test_fewrel(report):
    assert report["datasets"]["fewrel"]["status"] == "missing"
    entry = report["datasets"]["fewrel-val"]
    info = entry["files"]["fewrel/val_wiki.json"]
    assert entry["status"] == "complete"
    assert (info["relations"], info["rows"]) == (16, 11_200)
    assert set(info["per_label"].values()) == {700}


def test_medical(report):
    entry = report["datasets"]["medical"]
    assert entry["status"] == "partial" and entry["usable"]  # its train file is absent
    test = entry["files"]["medical_abstracts/medical_tc_test.csv"]
    assert test["rows"] == 2_888
    assert list(test["per_label"].values()) == [633, 299, 385, 610, 961]
    assert any("default sample: 200 train + 60 test per label" in n for n in entry["notes"])
