"""What a pre-training step predicts: BERT's masking, drawn from a seeded generator, or, for a
causal model, every next token (`next_token_labels`).

Of the non-special tokens (not padding, [CLS] or [SEP]), each is chosen with probability
`rate` (15%); a chosen token becomes [MASK] with probability 0.8, a random token with 0.1, and
stays itself with 0.1. Labels hold the original id at chosen positions and IGNORE_INDEX
elsewhere. Every draw comes from the generator passed in, never from the global RNG.
"""

import math

import torch

from tinylm.config import MASK_RATE
from tinylm.model.bert import IGNORE_INDEX


def mask_tokens(
    ids: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    special_ids: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator,
    rate: float = MASK_RATE,
    span: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels) for a batch of token ids (batch, length)."""
    candidates = attention_mask.bool() & ~torch.isin(ids, special_ids)
    if span > 1:
        chosen = _spans(ids.shape, rate, span, generator) & candidates
    else:
        chosen = (torch.rand(ids.shape, generator=generator) < rate) & candidates
    if not chosen.any() and candidates.any():  # a loss needs one prediction at least
        chosen.view(-1)[candidates.view(-1).nonzero()[0]] = True
    action = torch.rand(ids.shape, generator=generator)
    random_ids = torch.randint(vocab_size, ids.shape, generator=generator)
    inputs = torch.where(chosen & (action < 0.8), mask_id, ids)
    inputs = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, inputs)
    return inputs, torch.where(chosen, ids, IGNORE_INDEX)


def _spans(shape, rate: float, span: float, generator: torch.Generator) -> torch.Tensor:
    """Positions covered by spans: geometric lengths of mean `span` (before the cut at 2 x
    span), and starts drawn so that a position is covered with probability `rate`: with E the
    cut lengths' mean, P(covered) = 1 - (1 - p)^E for starts at rate p, hence p below."""
    longest = int(2 * span)
    keep = 1.0 - 1.0 / span  # geometric on 1, 2, ...: P(length > k) = keep^k
    mean = sum(keep**k for k in range(longest))
    starts = torch.rand(shape, generator=generator) < -math.log1p(-rate) / mean
    uniform = torch.rand(shape, generator=generator).clamp_min(1e-12)
    lengths = (torch.log(uniform) / torch.log1p(torch.tensor(-1.0 / span))).floor() + 1
    lengths = lengths.clamp(max=longest) * starts
    chosen = torch.zeros(shape, dtype=torch.bool)
    for offset in range(longest):  # position start + offset is in the span when length > offset
        reach = lengths > offset
        chosen[:, offset:] |= reach[:, : shape[1] - offset]
    return chosen


def next_token_labels(ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """A causal model's labels: at each position the token after it, IGNORE_INDEX where there
    is none (the last real token, padding). Inputs stay as they are: nothing is masked."""
    labels = torch.full_like(ids, IGNORE_INDEX)
    follows = attention_mask[:, 1:].bool()
    labels[:, :-1] = torch.where(follows, ids[:, 1:], IGNORE_INDEX)
    return labels
