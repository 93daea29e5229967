"""Epoch orders, batches padded to their longest sequence, and packing.

The order of epoch e is a permutation drawn from (seed, e) alone, so a resumed run knows where
it is from the step number: no sampler state, and no data replayed. Batches are padded to the
longest sequence they hold, not to the maximum length. The last partial batch of an epoch is
dropped (every step then sees a full batch, and distributed ranks stay in step).
"""

import numpy as np
import torch

from tinylm.data.token_cache import TokenizedTexts


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, n // batch_size)


def schedule_length(n: int, batch_size: int, epochs: int, max_steps: int | None) -> tuple[int, int]:
    """(steps per epoch, total steps) of a run over `n` examples."""
    per_epoch = steps_per_epoch(n, batch_size)
    total = per_epoch * epochs
    return per_epoch, total if max_steps is None else min(total, max_steps)


def batch_indices(n: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """The examples of global step `step` (counting from the first epoch)."""
    per_epoch = steps_per_epoch(n, batch_size)
    epoch, position = divmod(step, per_epoch)
    return epoch_order(n, seed, epoch)[position * batch_size : (position + 1) * batch_size]


def pad(sequences: list[np.ndarray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention mask), both (batch, longest length)."""
    longest = max(len(s) for s in sequences)
    ids = np.full((len(sequences), longest), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def pack(tokens: TokenizedTexts, length: int, cls_id: int, sep_id: int) -> TokenizedTexts:
    """Paragraphs joined into full sequences of `length` tokens: [CLS] a [SEP] b [SEP] ...

    Each paragraph's content (its ids without [CLS] and [SEP]) follows the previous one after
    a [SEP]; the stream is cut every `length - 2` tokens and framed with [CLS] ... [SEP]. A
    paragraph may run across two sequences. The final, shorter sequence is kept.
    """
    pieces = []
    for i in range(len(tokens)):
        pieces.append(tokens[i][1:-1])
        pieces.append(np.array([sep_id], dtype=tokens.ids.dtype))
    stream = np.concatenate(pieces[:-1]) if pieces else np.zeros(0, tokens.ids.dtype)
    body = length - 2
    chunks = [stream[start : start + body] for start in range(0, len(stream), body)]
    framed = [
        np.concatenate([[cls_id], chunk, [sep_id]]).astype(tokens.ids.dtype) for chunk in chunks
    ]
    return TokenizedTexts.from_lists([c.tolist() for c in framed], dtype=tokens.ids.dtype)
