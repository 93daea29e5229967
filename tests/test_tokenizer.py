import numpy as np
import pytest

from tinylm.errors import TinylmError
from tinylm.tokenizer import load_tokenizer

# Ids from Hugging Face's reference (pure-Python) BertTokenizer with bert-base-uncased's vocab.
REFERENCE_IDS = {
    "hello world": [101, 7592, 2088, 102],
    "Héllo wörld! Café naïve résumé": [101, 7592, 2088, 999, 7668, 15743, 13746, 102],
    "The 1990s cost $3,141.59 (approx.)": [
        101, 1996, 4134, 3465, 1002, 1017, 1010, 15471, 1012, 5354, 1006, 22480, 1012, 1007, 102,
    ],
    "antidisestablishmentarianism supercalifragilistic": [
        101, 3424, 10521, 4355, 7875, 13602, 3672, 12199, 2964, 3565, 9289, 10128, 29181,
        24411, 4588, 102,
    ],
    "São Paulo—Zürich “quotes” don't": [
        101, 7509, 9094, 1517, 10204, 1523, 16614, 1524, 2123, 1005, 1056, 102,
    ],
    "日本語のテキスト and 中文": [
        101, 1864, 1876, 1950, 1671, 30239, 30227, 30233, 30240, 1998, 1746, 1861, 102,
    ],
    "tab\tnew\nline  spaces": [101, 21628, 2047, 2240, 7258, 102],
    "e-mail: a.b@c.com #hash 100%": [
        101, 1041, 1011, 5653, 1024, 1037, 1012, 1038, 1030, 1039, 1012, 4012, 1001, 23325,
        2531, 1003, 102,
    ],
    "": [101, 102],
}  # fmt: skip


@pytest.mark.realdata
@pytest.mark.parametrize("text", list(REFERENCE_IDS))
def test_ids_equal_the_reference_tokenizer(real_data_dir, text):
    tokenizer = load_tokenizer(real_data_dir)
    assert tokenizer.encode(text) == REFERENCE_IDS[text]


@pytest.mark.realdata
def test_special_ids_are_berts(real_data_dir):
    t = load_tokenizer(real_data_dir)
    assert (t.pad_id, t.unk_id, t.cls_id, t.sep_id, t.mask_id) == (0, 100, 101, 102, 103)
    assert t.vocab_size == 30522


@pytest.mark.realdata
def test_parity_with_transformers_on_real_text(real_data_dir):
    """Our fast pipeline against transformers' slow BertTokenizer on real, varied text."""
    transformers = pytest.importorskip("transformers")
    from tinylm import layout
    from tinylm.data.io import iter_jsonl

    reference = transformers.BertTokenizer(str(real_data_dir / layout.VOCAB), do_lower_case=True)
    ours = load_tokenizer(real_data_dir)
    texts = []
    for i, record in enumerate(iter_jsonl(real_data_dir / layout.WIKIPEDIA)):
        if i % 600 == 0:  # 500 paragraphs spread over the file; a third exceed 128 tokens
            texts.append(record["text"])
    texts += ["Ünïcödé ŝtrange ĉharacters", "a" * 150, "x\u2028y\u00a0z", "\x00\ufffd ok"]
    mismatches = [
        t
        for t in texts
        if ours.encode(t) != reference(t, truncation=True, max_length=128)["input_ids"]
    ]
    assert mismatches == []
    assert any(len(ours.encode(t)) == 128 for t in texts)  # truncation was exercised


def test_truncation_keeps_cls_and_sep(data_dir):
    tokenizer = load_tokenizer(data_dir, max_length=8)
    ids = tokenizer.encode("the river the bridge the city the team the market the film")
    assert len(ids) == 8
    assert ids[0] == tokenizer.cls_id and ids[-1] == tokenizer.sep_id


def test_batch_equals_single(data_dir):
    tokenizer = load_tokenizer(data_dir)
    texts = ["the river", "", "market film city", "xyz 123!"]
    assert tokenizer.encode_batch(texts) == [tokenizer.encode(t) for t in texts]


def test_unknown_characters_become_unk(data_dir):
    tokenizer = load_tokenizer(data_dir)
    assert tokenizer.unk_id in tokenizer.encode("the ☃ river")


def test_fingerprint_names_the_vocabulary(data_dir, tmp_path):
    first = load_tokenizer(data_dir)
    other_vocab = tmp_path / "vocab.txt"
    other_vocab.write_text(
        (data_dir / "tokenizer/bert-base-uncased-vocab.txt").read_text() + "zz\n"
    )
    assert load_tokenizer(data_dir).fingerprint == first.fingerprint
    assert load_tokenizer(vocab_file=other_vocab).fingerprint != first.fingerprint
    # max_length is not part of the fingerprint (the cache key adds it separately)
    assert load_tokenizer(data_dir, max_length=16).fingerprint == first.fingerprint


def test_missing_vocab_is_a_clear_error(tmp_path):
    with pytest.raises(TinylmError, match="vocabulary not found"):
        load_tokenizer(tmp_path)


def test_vocab_without_special_tokens_is_refused(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[UNK]\nthe\nriver\n")
    with pytest.raises(TinylmError, match=r"lacks the special tokens \['\[PAD\]'"):
        load_tokenizer(vocab_file=vocab)


def test_max_length_below_two_is_refused(data_dir):
    with pytest.raises(TinylmError, match="max_length"):
        load_tokenizer(data_dir, max_length=1)


def test_untruncated_when_max_length_is_none(data_dir):
    tokenizer = load_tokenizer(data_dir, max_length=None)
    ids = tokenizer.encode(" ".join(["river"] * 300))
    assert len(ids) == 302 and np.all(np.array(ids[1:-1]) == ids[1])


def test_hub_tokenizer_without_network(data_dir, monkeypatch):
    """The hub path, with the download replaced: a hub tokenizer.json may carry padding and
    truncation settings of its own; ours take over."""
    from tinylm import tokenizer as module

    local = module._bert_uncased_from_vocab(data_dir / "tokenizer/bert-base-uncased-vocab.txt")
    local.enable_padding(length=64)
    asked = []

    def from_pretrained(name):
        asked.append(name)
        return local

    monkeypatch.setattr(module._FastTokenizer, "from_pretrained", staticmethod(from_pretrained))
    tokenizer = load_tokenizer(hub_name="bert-base-uncased", max_length=6)
    assert asked == ["bert-base-uncased"]
    vocab = (data_dir / "tokenizer/bert-base-uncased-vocab.txt").read_text().split("\n")
    expected = [101, vocab.index("the"), vocab.index("river"), 102]
    assert tokenizer.encode("the river") == expected  # no padding to 64
    assert len(tokenizer.encode("the river the bridge the city")) == 6  # truncated


def test_hub_download_failure_is_a_clear_error(monkeypatch):
    from tinylm import tokenizer as module

    def offline(name):
        raise OSError("connection refused")

    monkeypatch.setattr(module._FastTokenizer, "from_pretrained", staticmethod(offline))
    with pytest.raises(TinylmError, match="cannot download tokenizer 'bert-base-uncased'"):
        load_tokenizer(hub_name="bert-base-uncased")
