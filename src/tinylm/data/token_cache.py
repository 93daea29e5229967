"""Token ids of many texts, kept as one flat array plus offsets, and cached on disk.

A cache entry is a folder `<cache_dir>/tokens/<key>/` holding `ids.npy`, `offsets.npy`, any
extra per-text arrays (`extra_<name>.npy`) and `meta.json`. The key is a hash of everything that
determines the ids: the source files' SHA-256, how texts are built from them, the tokenizer's
fingerprint and the maximum length. Entries are written to a temporary folder and renamed into
place, so a killed process never leaves a half-written entry behind.
"""

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tinylm.files import atomic_folder
from tinylm.tokenizer import Tokenizer

CACHE_FORMAT = 1
CHUNK = 10_000  # texts per tokenizer call; sets the progress bar's granularity


@dataclass(frozen=True)
class TokenizedTexts:
    """Variable-length id sequences: sequence i is ids[offsets[i]:offsets[i + 1]]."""

    ids: np.ndarray
    offsets: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def num_tokens(self) -> int:
        return int(self.offsets[-1])

    def select(self, indices) -> "TokenizedTexts":
        """A new TokenizedTexts holding the given sequences, in the given order."""
        indices = np.asarray(indices, dtype=np.int64)
        starts, ends = self.offsets[indices], self.offsets[indices + 1]
        lengths = ends - starts
        offsets = np.zeros(len(indices) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # Position of every selected token in the flat array, without a Python loop.
        positions = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        extras = {name: values[indices] for name, values in self.extras.items()}
        return TokenizedTexts(self.ids[positions], offsets, extras)

    def type_counts(self, vocab: int, keep: np.ndarray | None = None):
        """Each sequence's distinct ids and how often it holds each: three aligned arrays
        (sequence, id, count), sorted by sequence then id. `keep`, a boolean mask over the
        vocabulary, drops the other ids first."""
        ids = self.ids.astype(np.int64)
        sequence = np.repeat(np.arange(len(self)), self.lengths)
        if keep is not None:
            kept = keep[ids]
            ids, sequence = ids[kept], sequence[kept]
        # A sort, not np.unique: numpy 2.4's hash-based unique is ten times slower on these
        # tens of millions of keys.
        keys = np.sort(sequence * vocab + ids)
        first = np.flatnonzero(np.diff(keys, prepend=-1))
        counts = np.diff(first, append=len(keys))
        pairs = keys[first]
        return pairs // vocab, pairs % vocab, counts

    @classmethod
    def concat(cls, parts: list["TokenizedTexts"]) -> "TokenizedTexts":
        """The sequences of `parts`, one after another (extras dropped: they describe one
        source's texts)."""
        dtype = np.result_type(*(part.ids.dtype for part in parts))
        return _concat(list(parts), dtype, {})

    @classmethod
    def from_lists(cls, sequences: list[list[int]], dtype=np.int32) -> "TokenizedTexts":
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in sequences], out=offsets[1:])
        flat = np.fromiter((i for s in sequences for i in s), dtype=dtype, count=offsets[-1])
        return cls(flat, offsets)


@dataclass(frozen=True)
class CacheInfo:
    """How a tokenized source was obtained: from the cache or by tokenizing now."""

    key: str
    path: Path
    hit: bool
    seconds: float


def cache_key(parts: dict) -> str:
    blob = json.dumps({"format": CACHE_FORMAT, **parts}, sort_keys=True, default=str)
    return sha256(blob.encode()).hexdigest()[:24]


def tokenize_cached(
    build: Callable[[], tuple[list[str], dict[str, np.ndarray]]],
    *,
    key_parts: dict,
    tokenizer: Tokenizer,
    cache_dir: Path,
    desc: str = "tokenizing",
    progress: bool = True,
) -> tuple[TokenizedTexts, CacheInfo]:
    """Token ids of the texts that `build()` returns, from the cache when present.

    `build` returns (texts, extras): extras are per-text arrays stored alongside (for example
    which paragraphs open an article), so a cached load needs no pass over the source file.
    `key_parts` must name everything the texts depend on; the tokenizer's fingerprint and
    max length are added here.
    """
    start = time.perf_counter()
    key = cache_key(
        {**key_parts, "tokenizer": tokenizer.fingerprint, "max_length": tokenizer.max_length}
    )
    entry = Path(cache_dir) / "tokens" / key
    if (entry / "meta.json").is_file():
        tokens = _load(entry)
        if tokens is not None:
            return tokens, CacheInfo(key, entry, True, time.perf_counter() - start)
    shutil.rmtree(entry, ignore_errors=True)  # an unreadable entry is rebuilt, not trusted

    texts, extras = build()
    dtype = np.uint16 if tokenizer.vocab_size <= np.iinfo(np.uint16).max + 1 else np.int32
    chunks = []
    bar = tqdm(total=len(texts), desc=desc, unit="text", disable=not progress, leave=False)
    for begin in range(0, len(texts), CHUNK):
        batch = tokenizer.encode_batch(texts[begin : begin + CHUNK])
        chunks.append(TokenizedTexts.from_lists(batch, dtype=dtype))
        bar.update(len(batch))
    bar.close()
    tokens = _concat(chunks, dtype, extras)
    seconds = time.perf_counter() - start
    _store(entry, tokens, {"key_parts": key_parts, "texts": len(tokens), "seconds": seconds})
    return tokens, CacheInfo(key, entry, False, seconds)


def _concat(chunks: list[TokenizedTexts], dtype, extras) -> TokenizedTexts:
    if not chunks:
        return TokenizedTexts(np.zeros(0, dtype), np.zeros(1, np.int64), extras)
    ids = np.concatenate([c.ids for c in chunks])
    lengths = np.concatenate([c.lengths for c in chunks])
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return TokenizedTexts(ids, offsets, {k: np.asarray(v) for k, v in extras.items()})


def _store(entry: Path, tokens: TokenizedTexts, meta: dict) -> None:
    # Another process may store the same entry first; theirs is as good, and is kept.
    with atomic_folder(entry) as tmp:
        np.save(tmp / "ids.npy", tokens.ids)
        np.save(tmp / "offsets.npy", tokens.offsets)
        for name, values in tokens.extras.items():
            np.save(tmp / f"extra_{name}.npy", values)
        # meta.json last: its presence marks a complete entry.
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))


def _load(entry: Path) -> TokenizedTexts | None:
    """The entry's arrays, or None when it is unreadable (it is then rebuilt)."""
    try:
        ids = np.load(entry / "ids.npy", mmap_mode="r", allow_pickle=False)
        offsets = np.load(entry / "offsets.npy", allow_pickle=False)
        extras = {
            path.stem.removeprefix("extra_"): np.load(path, allow_pickle=False)
            for path in sorted(entry.glob("extra_*.npy"))
        }
    except (OSError, ValueError):
        return None
    if len(offsets) == 0 or offsets[-1] != len(ids):
        return None
    return TokenizedTexts(ids, offsets, extras)
