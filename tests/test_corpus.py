import gzip
import itertools
import json

import numpy as np
import pytest

from tinylm.config import CorpusConfig
from tinylm.data.corpus import load_corpus, load_subset, read_paragraphs
from tinylm.errors import ConfigError, TinylmError
from tinylm.tokenizer import load_tokenizer


@pytest.fixture
def corpus(data_dir, cache_dir):
    return load_corpus(
        "wikipedia", data_dir=data_dir, tokenizer=load_tokenizer(data_dir), cache_dir=cache_dir
    )


def test_corpus_holds_every_paragraph(corpus):
    assert len(corpus) == 200  # 40 articles x 5 paragraphs
    assert corpus.lead.sum() == 40


def test_subsets_are_nested(corpus):
    small, large = corpus.subset(20, seed=7), corpus.subset(120, seed=7)
    assert small.ws == 20 and large.ws == 120
    assert np.array_equal(large.indices[:20], small.indices)
    assert set(small.indices) <= set(large.indices)


def test_subsets_are_deterministic_and_change_with_the_seed(corpus):
    assert np.array_equal(corpus.subset(50, seed=1).indices, corpus.subset(50, seed=1).indices)
    assert not np.array_equal(corpus.subset(50, seed=1).indices, corpus.subset(50, seed=2).indices)
    assert len(set(corpus.subset(50, seed=1).indices)) == 50  # no paragraph twice


def test_subset_tokens_are_those_of_its_paragraphs(corpus, data_dir):
    tokenizer = load_tokenizer(data_dir)
    subset = corpus.subset(10, seed=3)
    texts = corpus.texts(subset.indices)
    assert [list(subset.tokens[i]) for i in range(10)] == tokenizer.encode_batch(texts)


def test_lead_only_draws_article_leads(corpus):
    subset = corpus.subset(25, seed=0, lead_only=True)
    assert corpus.lead[subset.indices].all()
    assert corpus.subset(None, lead_only=True).ws == 40


def test_ws_larger_than_the_pool_is_refused(corpus):
    with pytest.raises(TinylmError, match=r"ws = 41 is larger than the pool.*40 lead"):
        corpus.subset(41, lead_only=True)
    with pytest.raises(TinylmError, match="ws = 201"):
        corpus.subset(201)


def test_load_subset_from_config(data_dir, cache_dir):
    subset = load_subset(
        CorpusConfig(ws=30, seed=5),
        data_dir=data_dir,
        tokenizer=load_tokenizer(data_dir),
        cache_dir=cache_dir,
    )
    assert subset.ws == 30 and subset.seed == 5 and len(subset.tokens) == 30


@pytest.mark.parametrize("ws", [0, -5])
def test_config_refuses_nonpositive_ws(ws):
    with pytest.raises(ConfigError, match="^ws: must be a positive"):
        CorpusConfig(ws=ws)


def test_txt_corpus_skips_blank_lines_and_has_no_leads(tmp_path, data_dir, cache_dir):
    path = tmp_path / "mine.txt"
    path.write_bytes(b"first river line\r\n\r\n  \nsecond bridge line\rthird line\n")
    texts, lead = read_paragraphs(path)
    assert texts == ["first river line", "second bridge line", "third line"]
    assert lead is None
    corpus = load_corpus(
        str(path), data_dir=None, tokenizer=load_tokenizer(data_dir), cache_dir=cache_dir
    )
    assert len(corpus) == 3
    with pytest.raises(TinylmError, match="no article structure"):
        corpus.subset(2, lead_only=True)


def test_unicode_line_separators_stay_inside_a_paragraph(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    records = [{"text": "one\u2028still one\x85and one"}, {"text": "two"}]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    texts, _ = read_paragraphs(path)
    assert texts == ["one\u2028still one\x85and one", "two"]


def test_jsonl_records_without_text_are_refused(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "fine"}\n{"body": "no text"}\n')
    with pytest.raises(TinylmError, match="record 2 has no string field 'text'"):
        read_paragraphs(path)


@pytest.mark.parametrize(
    "name, message",
    [("corpus.parquet", "unknown corpus"), ("missing.txt", "corpus file not found")],
)
def test_bad_corpus_names(tmp_path, data_dir, cache_dir, name, message):
    with pytest.raises(TinylmError, match=message):
        load_corpus(
            str(tmp_path / name) if "missing" in name else name,
            data_dir=data_dir,
            tokenizer=load_tokenizer(data_dir),
            cache_dir=cache_dir,
        )


def test_missing_wikipedia_names_the_file(data_dir, cache_dir):
    (data_dir / "wikipedia/paragraphs.jsonl.gz").unlink()
    with pytest.raises(TinylmError, match="wikipedia corpus not found.*paragraphs.jsonl.gz"):
        load_corpus(data_dir=data_dir, tokenizer=load_tokenizer(data_dir), cache_dir=cache_dir)


@pytest.mark.realdata
def test_real_wikipedia_subsets(real_data_dir, real_cache_dir):
    """The shared corpus: 300,000 paragraphs, 27,644 leads, nested subsets of the paper's grid."""
    corpus = load_corpus(
        data_dir=real_data_dir, tokenizer=load_tokenizer(real_data_dir), cache_dir=real_cache_dir
    )
    assert len(corpus) == 300_000
    assert int(corpus.lead.sum()) == 27_644
    grid = [corpus.subset(ws, seed=42) for ws in (2_000, 20_000, 90_000)]
    for smaller, larger in itertools.pairwise(grid):
        assert np.array_equal(larger.indices[: smaller.ws], smaller.indices)
    lengths = grid[-1].tokens.lengths
    assert lengths.max() == 128 and lengths.min() >= 20  # paragraphs have >= 20 words
    with pytest.raises(TinylmError, match="larger than the pool"):
        corpus.subset(90_000, lead_only=True)
