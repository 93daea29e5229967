"""WordPiece tokenizers with bert-base-uncased's pipeline, through the fast `tokenizers` library.

Ids equal those of Hugging Face's reference BertTokenizer (lower-casing, accent stripping,
Chinese-character splitting, `[CLS] ... [SEP]`, truncation to `max_length`); the tests check
that on accents, punctuation, numbers, long words and real corpus paragraphs.

The vocabulary is bert-base-uncased's 30,522 WordPieces (the data directory's vocab.txt), or
one trained on a corpus (`build_vocabulary`, `tinylm vocab build`): the same normalisation
and splitting, its own pieces, the five special tokens first. Every saved model keeps its
vocab.txt beside its weights (`save_vocabulary`), so the model folder alone says how to read
a text.
"""

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer as _FastTokenizer
from tokenizers import decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

from tinylm import layout
from tinylm.errors import TinylmError
from tinylm.files import write_text
from tinylm.paths import chosen_data_dir, missing_data_message

HUB_NAME = "bert-base-uncased"
DEFAULT_MAX_LENGTH = 128
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
MODEL_VOCAB = "vocab.txt"  # the vocabulary a fine-tuned model keeps beside its weights


class Tokenizer:
    """WordPiece ids for texts; `fingerprint` identifies the vocabulary and normalisation."""

    def __init__(self, fast: _FastTokenizer, max_length: int = DEFAULT_MAX_LENGTH):
        if max_length is not None and max_length < 2:
            raise TinylmError(
                f"max_length must be at least 2 (for [CLS] and [SEP]), got {max_length}"
            )
        self.max_length = max_length
        # The fingerprint is taken before truncation is set: it names the tokenizer, and the
        # token cache adds max_length to its key separately.
        self.fingerprint = hashlib.sha256(fast.to_str().encode()).hexdigest()[:16]
        self._fast = fast
        fast.no_padding()  # a hub tokenizer.json may carry padding settings; we pad in batches
        if max_length is not None:
            fast.enable_truncation(max_length)
        else:
            fast.no_truncation()
        ids = {token: fast.token_to_id(token) for token in SPECIAL_TOKENS}
        missing = [token for token, i in ids.items() if i is None]
        if missing:
            raise TinylmError(f"the vocabulary lacks the special tokens {missing}")
        self.pad_id, self.unk_id = ids["[PAD]"], ids["[UNK]"]
        self.cls_id, self.sep_id, self.mask_id = ids["[CLS]"], ids["[SEP]"], ids["[MASK]"]
        self.vocab_size = fast.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self._fast.encode(text).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        # Rust-side parallelism over the batch (both cores here); ~4,000 paragraphs/s.
        return [encoding.ids for encoding in self._fast.encode_batch(texts)]

    def tokens(self, text: str) -> list[str]:
        return self._fast.encode(text).tokens

    def decode(self, ids: list[int]) -> str:
        return self._fast.decode(ids)

    def id_to_token(self, token_id: int) -> str | None:
        return self._fast.id_to_token(token_id)

    def vocabulary(self) -> list[str]:
        """The tokens in id order (the lines of a vocab.txt)."""
        return _tokens_by_id(self._fast)

    def normalization(self) -> dict:
        """How texts are normalised before splitting: lower-casing, accent stripping (None:
        as lower-casing, BERT's rule) and Chinese-character splitting."""
        normalizer = self._fast.normalizer
        if not isinstance(normalizer, normalizers.BertNormalizer):
            raise TinylmError(f"not a BERT normalizer: {normalizer!r}")
        return {
            "lowercase": normalizer.lowercase,
            "strip_accents": normalizer.strip_accents,
            "handle_chinese_chars": normalizer.handle_chinese_chars,
        }

    def to_json(self) -> str:
        """The whole pipeline as a `tokenizers` file (tokenizer.json), without truncation:
        whoever loads it truncates to the length of their model."""
        fast = _FastTokenizer.from_str(self._fast.to_str())
        fast.no_truncation()
        return fast.to_str(pretty=True)


def _tokens_by_id(fast: _FastTokenizer) -> list[str]:
    return [token for token, _ in sorted(fast.get_vocab().items(), key=lambda item: item[1])]


def vocabulary_text(tokens: list[str]) -> str:
    """The text of a vocab.txt: one token per line, in id order."""
    return "".join(token + "\n" for token in tokens)


def save_vocabulary(tokenizer: Tokenizer, folder: str | os.PathLike) -> Path:
    """Writes the tokenizer's vocabulary as `folder`/vocab.txt (atomically), the file
    `tokenizer_for_model` reads back."""
    path = Path(folder) / MODEL_VOCAB
    write_text(path, vocabulary_text(tokenizer.vocabulary()))
    return path


# The trainer's alphabet: the most frequent characters kept as pieces of their own (Hugging
# Face's BertWordPieceTokenizer default); rarer ones become [UNK] rather than take vocabulary.
ALPHABET = 1000
MIN_FREQUENCY = 2  # a piece seen once is noise, not vocabulary


def build_vocabulary(texts: Iterable[str], size: int, *, progress: bool = False) -> list[str]:
    """A WordPiece vocabulary of at most `size` tokens trained on `texts` (the `tokenizers`
    WordPiece trainer), with bert-base-uncased's normalisation and splitting: the special
    tokens first ([PAD] = 0, as every model's pad id), then the alphabet and the pieces."""
    from tokenizers.trainers import WordPieceTrainer

    floor = len(SPECIAL_TOKENS) + 1
    if size < floor:
        raise TinylmError(f"a vocabulary needs at least {floor} tokens, got {size}")
    fast = _FastTokenizer(WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    fast.normalizer = _bert_normalizer()
    fast.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = WordPieceTrainer(
        vocab_size=size,
        min_frequency=MIN_FREQUENCY,
        special_tokens=list(SPECIAL_TOKENS),
        limit_alphabet=ALPHABET,
        continuing_subword_prefix="##",
        show_progress=progress,
    )
    texts = list(texts)
    fast.train_from_iterator(texts, trainer, length=len(texts))
    tokens = _tokens_by_id(fast)
    if len(tokens) <= floor:
        raise TinylmError("the texts are too few to build a vocabulary from")
    return tokens


def tokenizer_from_json(text: str, max_length: int | None = DEFAULT_MAX_LENGTH) -> Tokenizer:
    """The tokenizer of a `Tokenizer.to_json` text (an ONNX export carries one, so the file
    alone classifies texts), truncating to `max_length`."""
    try:
        fast = _FastTokenizer.from_str(text)
    except Exception as err:  # the library's own message says what is wrong
        raise TinylmError(f"cannot read the stored tokenizer: {err}") from None
    return Tokenizer(fast, max_length)


def _bert_normalizer() -> normalizers.BertNormalizer:
    return normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )


def _bert_uncased_from_vocab(vocab_file: Path) -> _FastTokenizer:
    """The same pipeline as Hugging Face's BertTokenizerFast for bert-base-uncased."""
    vocab = WordPiece.read_file(str(vocab_file))
    missing = [token for token in SPECIAL_TOKENS if token not in vocab]
    if missing:
        raise TinylmError(f"the vocabulary {vocab_file} lacks the special tokens {missing}")
    fast = _FastTokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    fast.normalizer = _bert_normalizer()
    fast.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    fast.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast.decoder = decoders.WordPiece(prefix="##")
    return fast


def load_tokenizer(
    data_dir: str | os.PathLike | None = None,
    *,
    vocab_file: str | os.PathLike | None = None,
    hub_name: str | None = None,
    max_length: int | None = DEFAULT_MAX_LENGTH,
) -> Tokenizer:
    """The tokenizer from a vocab file, the data directory, or (with network) the hub.

    Order: `vocab_file`, else `<data_dir>/tokenizer/bert-base-uncased-vocab.txt`, else the hub
    model `hub_name` (for example "bert-base-uncased"), which needs internet.
    """
    if vocab_file is None and data_dir is not None:
        candidate = Path(data_dir) / layout.VOCAB
        if not candidate.is_file() and hub_name is None:
            lacking = missing_data_message(Path(data_dir), [layout.VOCAB], ["tokenizer"])
            raise TinylmError(f"tokenizer vocabulary not found: {lacking}")
        if candidate.is_file():
            vocab_file = candidate
    if vocab_file is not None:
        vocab_file = Path(vocab_file)
        if not vocab_file.is_file():
            raise TinylmError(f"tokenizer vocabulary not found: {vocab_file}")
        try:
            fast = _bert_uncased_from_vocab(vocab_file)
        except TinylmError:
            raise
        except Exception as err:  # the library's own message says what is wrong with the file
            raise TinylmError(f"cannot read the vocabulary {vocab_file}: {err}") from None
        return Tokenizer(fast, max_length)
    if hub_name is None:
        raise TinylmError("no tokenizer: give a data directory, a vocab file or a hub name")
    try:
        fast = _FastTokenizer.from_pretrained(hub_name)
    except Exception as err:
        raise TinylmError(f"cannot download tokenizer {hub_name!r} from the hub: {err}") from None
    return Tokenizer(fast, max_length)


def tokenizer_for_model(
    model_dir: str | os.PathLike,
    data_dir: str | os.PathLike | None,
    *,
    max_length: int | None = DEFAULT_MAX_LENGTH,
) -> Tokenizer:
    """The tokenizer a saved model was trained with: the vocab.txt in its folder (every model
    saved keeps one), else the data folder's (paths.chosen_data_dir) bert-base-uncased
    vocabulary (models saved before their folders kept one)."""
    shipped = Path(model_dir) / MODEL_VOCAB
    if shipped.is_file():
        return load_tokenizer(vocab_file=shipped, max_length=max_length)
    folder = chosen_data_dir(data_dir)
    if not (folder / layout.VOCAB).is_file():
        raise TinylmError(
            f"the model in {model_dir} has no {MODEL_VOCAB}, and "
            + missing_data_message(folder, [layout.VOCAB], ["tokenizer"])
        )
    return load_tokenizer(vocab_file=folder / layout.VOCAB, max_length=max_length)
