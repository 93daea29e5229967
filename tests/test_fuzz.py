"""Property-based tests of the loaders and the tokenizer on hostile input: random Unicode,
blank and whitespace-only lines, very long lines, mixed line endings, CSV quoting, invalid
UTF-8. Each either loads what a reader of the file would expect or refuses it with
TinylmError (a message, exit status 2), never another exception."""

import csv
import io
import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagen import make_data_dir
from tinylm.config import TaskConfig
from tinylm.data.corpus import load_corpus, read_paragraphs
from tinylm.data.tasks import load_task
from tinylm.errors import TinylmError
from tinylm.tokenizer import load_tokenizer

# Derandomized, so CI sees the same examples every run; randomized runs with more examples
# are recorded in docs/reliability.md.
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# Any Unicode text, including line and paragraph separators, controls and surrogate-free
# astral characters; sometimes very long.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40) | st.text(
    min_size=2000, max_size=5000
)
LINE_ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = make_data_dir(tmp_path_factory.mktemp("data"))
    return root, load_tokenizer(root)


def _write(suffix: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    return path


@SETTINGS
@given(lines=st.lists(st.tuples(TEXT, LINE_ENDINGS), max_size=12))
def test_txt_corpus_keeps_every_non_blank_line(lines, tiny):
    root, tokenizer = tiny
    content = "".join(text + end for text, end in lines)
    path = _write(".txt", content.encode("utf-8"))
    expected = [p.strip() for p in re.split(r"\r\n|\r|\n", content) if p.strip()]
    if not expected:
        with pytest.raises(TinylmError):
            read_paragraphs(path)
        return
    texts, lead = read_paragraphs(path)
    assert texts == expected and lead is None
    corpus = load_corpus(
        str(path),
        data_dir=root,
        tokenizer=tokenizer,
        cache_dir=path.parent / "cache",
        progress=False,
    )
    assert len(corpus) == len(expected)
    assert corpus.tokens.lengths.max() <= tokenizer.max_length


@SETTINGS
@given(
    records=st.lists(
        st.one_of(
            st.fixed_dictionaries({"text": TEXT}),
            st.fixed_dictionaries({"text": st.integers() | st.none()}),
            st.fixed_dictionaries({"body": TEXT}),
        ),
        max_size=6,
    )
)
def test_jsonl_corpus_loads_or_names_the_bad_record(records):
    path = _write(".jsonl", "".join(json.dumps(r) + "\n" for r in records).encode())
    good = all(isinstance(r.get("text"), str) for r in records)
    expected = [r["text"].strip() for r in records if good and r["text"].strip()]
    if good and expected:
        assert read_paragraphs(path)[0] == expected
    else:
        with pytest.raises(TinylmError, match="record|no paragraph|empty"):
            read_paragraphs(path)


@SETTINGS
@given(
    head=st.binary(max_size=50),
    bad=st.sampled_from([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88"]),
    tail=st.binary(max_size=50),
    suffix=st.sampled_from([".txt", ".jsonl", ".csv"]),
)
def test_invalid_utf8_is_refused_with_its_line(head, bad, tail, suffix):
    data = head + bad + tail
    try:
        data.decode("utf-8")
        return  # the random bytes happened to repair the sequence
    except UnicodeDecodeError:
        pass
    path = _write(suffix, data)
    with pytest.raises(TinylmError, match="invalid UTF-8 at line"):
        if suffix == ".csv":
            load_task(TaskConfig(name=str(path)), None)
        else:
            read_paragraphs(path)


CELL = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@SETTINGS
@given(
    rows=st.lists(st.tuples(CELL, st.sampled_from(["pos", "neg", "3", "1"])), max_size=15),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    ending=st.sampled_from(["\n", "\r\n"]),
)
def test_csv_tasks_read_back_what_was_written(rows, quoting, ending):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=quoting, lineterminator=ending)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    path = _write(".csv", buffer.getvalue().encode("utf-8"))
    if quoting == csv.QUOTE_MINIMAL and ending == "\n" and any("\r" in t for t, _ in rows):
        # csv.writer leaves a lone \r unquoted here: the file breaks a row (RFC 4180 allows
        # CR only inside quotes), and the loader says where
        with pytest.raises(TinylmError, match="data row .* column"):
            load_task(TaskConfig(name=str(path)), None)
        return
    kept = [(text.strip(), label) for text, label in rows if text.strip()]
    if not kept:
        with pytest.raises(TinylmError, match="no data rows|no example with a non-blank text"):
            load_task(TaskConfig(name=str(path)), None)
        return
    task = load_task(TaskConfig(name=str(path)), None)
    pool = task.train_pool
    assert pool.texts == [text for text, _ in kept]
    assert [task.label_names[i] for i in pool.labels] == [label for _, label in kept]


@SETTINGS
@given(text=TEXT)
def test_tokenizer_never_fails(text, tiny):
    _, tokenizer = tiny
    ids = tokenizer.encode(text)
    assert ids[0] == tokenizer.cls_id and ids[-1] == tokenizer.sep_id
    assert 2 <= len(ids) <= tokenizer.max_length
    assert all(0 <= i < tokenizer.vocab_size for i in ids)
