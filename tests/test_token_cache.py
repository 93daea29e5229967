import numpy as np
import pytest

from tinylm.data.corpus import load_corpus
from tinylm.data.token_cache import TokenizedTexts, tokenize_cached
from tinylm.tokenizer import Tokenizer, load_tokenizer


def _load(data_dir, cache_dir, **kw):
    return load_corpus(
        data_dir=data_dir,
        tokenizer=load_tokenizer(data_dir, **kw),
        cache_dir=cache_dir,
        progress=False,
    )


def test_second_load_reads_the_cache_without_tokenizing(data_dir, cache_dir, monkeypatch):
    first = _load(data_dir, cache_dir)
    assert not first.cache.hit

    def refuse(self, texts):
        raise AssertionError("tokenized again")

    monkeypatch.setattr(Tokenizer, "encode_batch", refuse)
    second = _load(data_dir, cache_dir)
    assert second.cache.hit and second.cache.path == first.cache.path
    assert np.array_equal(second.tokens.ids, first.tokens.ids)
    assert np.array_equal(second.tokens.offsets, first.tokens.offsets)
    assert np.array_equal(second.lead, first.lead)  # extras come back from the cache too


def test_key_changes_with_source_and_max_length(data_dir, cache_dir):
    base = _load(data_dir, cache_dir)
    assert _load(data_dir, cache_dir, max_length=16).cache.key != base.cache.key
    path = data_dir / "wikipedia/paragraphs.jsonl.gz"
    path.write_bytes(path.read_bytes())  # same bytes, new mtime: still the same entry
    assert _load(data_dir, cache_dir).cache.hit
    import gzip

    path.write_bytes(gzip.compress(b'{"text": "the river", "para_index": 0}\n'))
    changed = _load(data_dir, cache_dir)
    assert not changed.cache.hit and len(changed) == 1


def test_a_damaged_entry_is_rebuilt(data_dir, cache_dir):
    first = _load(data_dir, cache_dir)
    (first.cache.path / "ids.npy").write_bytes(b"garbage")
    again = _load(data_dir, cache_dir)
    assert not again.cache.hit
    assert np.array_equal(again.tokens.ids, first.tokens.ids)
    assert _load(data_dir, cache_dir).cache.hit


def test_no_temporary_folder_is_left(data_dir, cache_dir):
    _load(data_dir, cache_dir)
    names = [p.name for p in (cache_dir / "tokens").iterdir()]
    assert len(names) == 1 and not names[0].startswith(".")


def test_a_failing_build_leaves_no_entry(data_dir, cache_dir):
    def build():
        raise RuntimeError("source unreadable")

    with pytest.raises(RuntimeError):
        tokenize_cached(
            build,
            key_parts={"x": 1},
            tokenizer=load_tokenizer(data_dir),
            cache_dir=cache_dir,
            progress=False,
        )
    assert not (cache_dir / "tokens").exists() or not any((cache_dir / "tokens").iterdir())


def test_select_matches_python_lists():
    sequences = [[1, 2, 3], [], [4], [5, 6, 7, 8], [9, 10]]
    tokens = TokenizedTexts.from_lists(sequences)
    order = [3, 0, 1, 4, 3]
    chosen = tokens.select(order)
    assert [list(chosen[i]) for i in range(len(order))] == [sequences[i] for i in order]
    assert list(chosen.lengths) == [4, 3, 0, 2, 4]
    assert chosen.num_tokens == 13


def test_type_counts_lists_each_sequences_distinct_ids_with_their_counts():
    texts = TokenizedTexts.from_lists([[3, 1, 3, 3], [], [2, 0, 2], [4]])
    sequence, ids, counts = texts.type_counts(vocab=5)
    assert sequence.tolist() == [0, 0, 2, 2, 3]
    assert ids.tolist() == [1, 3, 0, 2, 4]
    assert counts.tolist() == [1, 3, 1, 2, 1]
    keep = np.array([False, True, True, True, False])
    sequence, ids, counts = texts.type_counts(vocab=5, keep=keep)
    assert (sequence.tolist(), ids.tolist(), counts.tolist()) == ([0, 0, 2], [1, 3, 2], [1, 3, 2])


def test_ids_use_two_bytes_for_berts_vocabulary(data_dir, cache_dir):
    assert _load(data_dir, cache_dir).tokens.ids.dtype == np.uint16
