"""Epoch orders, batches padded to their longest sequence, and packing.

The batches of epoch e are drawn from (seed, e) alone, so a resumed run knows where it is from
the step number: no sampler state, and no data replayed. Batches are padded to the longest
sequence they hold, not to the maximum length. The last partial batch of an epoch is dropped
(every step then sees a full batch, and distributed ranks stay in step).

Grouping by length (the default): a third of Wikipedia paragraphs reach 128 tokens, so nearly
every random batch of 32 holds one and pads to 128, and 27% of the computed positions are
padding. With grouping, the epoch's permutation is cut into chunks of GROUP_BATCHES batches,
each chunk is sorted by length and cut into batches, and the batches' order is shuffled: every
example is still seen once per epoch, in batches of similar lengths.

The batch-size ramp (TrainConfig.batch_ramp_steps): step s takes the first size(s) examples of
its batch, size(s) growing linearly from batch_ramp_start to batch_size over the ramp; the rest
of such a batch (its longest, under length grouping) is not read in that epoch. Every step is
still a pure function of (seed, s).
"""

import numpy as np
import torch

from tinylm.data.token_cache import TokenizedTexts

GROUP_BATCHES = 50  # batches per length-sorted chunk


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, n // batch_size)


def schedule_length(n: int, batch_size: int, epochs: int, max_steps: int | None) -> tuple[int, int]:
    """(steps per epoch, total steps) of a run over `n` examples."""
    per_epoch = steps_per_epoch(n, batch_size)
    total = per_epoch * epochs
    return per_epoch, total if max_steps is None else min(total, max_steps)


class BatchPlan:
    """The examples of every step: a pure function of (lengths, batch size, seed, step)."""

    def __init__(
        self,
        lengths: np.ndarray,
        batch_size: int,
        seed: int,
        group_by_length: bool,
        ramp: tuple[int, int] = (0, 0),  # (steps, start size): the batch-size ramp
    ):
        self.lengths = np.asarray(lengths)
        self.batch_size, self.seed, self.group = batch_size, seed, group_by_length
        self.ramp_steps, self.ramp_start = ramp
        self.per_epoch = steps_per_epoch(len(self.lengths), batch_size)
        self._epoch, self._batches = None, None

    @classmethod
    def of(cls, lengths: np.ndarray, train) -> "BatchPlan":
        """The plan of a TrainConfig."""
        ramp = (train.batch_ramp_steps, train.batch_ramp_start)
        return cls(lengths, train.batch_size, train.seed, train.group_by_length, ramp)

    def size(self, step: int) -> int:
        """The examples of step `step`: batch_size, or less on the ramp."""
        if step >= self.ramp_steps:
            return self.batch_size
        return self.ramp_start + (self.batch_size - self.ramp_start) * step // self.ramp_steps

    def indices(self, step: int) -> np.ndarray:
        epoch, position = divmod(step, self.per_epoch)
        if epoch != self._epoch:  # computed once per epoch
            self._epoch, self._batches = epoch, self._epoch_batches(epoch)
        return self._batches[position][: self.size(step)]

    def tokens_read(self, steps: int) -> np.ndarray:
        """Cumulative real tokens after each of the first `steps` steps (a pure function of the
        plan, so a resumed run recomputes it)."""
        per_step = [int(self.lengths[self.indices(step)].sum()) for step in range(steps)]
        return np.cumsum(np.asarray(per_step, dtype=np.int64))

    def steps_to_read(self, tokens: int) -> int:
        """The number of steps after which `tokens` real tokens have been read."""
        read, step = 0, 0
        while read < tokens:
            read += int(self.lengths[self.indices(step)].sum())
            step += 1
        return step

    def _epoch_batches(self, epoch: int) -> list[np.ndarray]:
        order = epoch_order(len(self.lengths), self.seed, epoch)
        size = self.batch_size
        if not self.group:
            return [order[i * size : (i + 1) * size] for i in range(self.per_epoch)]
        chunk = size * GROUP_BATCHES
        grouped = np.concatenate(
            [
                part[np.argsort(self.lengths[part], kind="stable")]
                for part in (order[i : i + chunk] for i in range(0, len(order), chunk))
            ]
        )
        batches = [grouped[i * size : (i + 1) * size] for i in range(self.per_epoch)]
        shuffle = np.random.default_rng([self.seed, epoch, 1]).permutation(len(batches))
        return [batches[i] for i in shuffle]


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
