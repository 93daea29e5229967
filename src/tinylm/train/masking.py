"""Masked-language-model inputs: BERT's masking, drawn from a seeded generator.

Of the non-special tokens (not padding, [CLS] or [SEP]), each is chosen with probability
`rate` (15%); a chosen token becomes [MASK] with probability 0.8, a random token with 0.1, and
stays itself with 0.1. Labels hold the original id at chosen positions and IGNORE_INDEX
elsewhere. Every draw comes from the generator passed in, never from the global RNG.
"""

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
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels) for a batch of token ids (batch, length)."""
    candidates = attention_mask.bool() & ~torch.isin(ids, special_ids)
    chosen = (torch.rand(ids.shape, generator=generator) < rate) & candidates
    if not chosen.any() and candidates.any():  # a loss needs one prediction at least
        chosen.view(-1)[candidates.view(-1).nonzero()[0]] = True
    action = torch.rand(ids.shape, generator=generator)
    random_ids = torch.randint(vocab_size, ids.shape, generator=generator)
    inputs = torch.where(chosen & (action < 0.8), mask_id, ids)
    inputs = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, inputs)
    return inputs, torch.where(chosen, ids, IGNORE_INDEX)
