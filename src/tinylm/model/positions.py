"""Position schemes that live inside attention (ModelConfig.positions; learned absolute
embeddings, BERT's, are in bert.py's Embeddings).

- rotary (Su et al., RoFormer): each query and key is rotated, pair of dimensions by pair, by
  an angle proportional to its position, so their dot product depends on the offset between
  them. The half-split convention (GPT-NeoX's, Hugging Face Llama's): dimension i pairs with
  i + head_size / 2, frequencies base^(-2i / head_size).
- alibi (Press et al., "Train short, test long"): the score of query i for key j is lowered by
  slope_h x |i - j|, one geometric slope per head; symmetric, as in encoders (MosaicBERT).

Neither has a parameter, so the weights of a model are those of its learned-position twin
without `position_embeddings`.
"""

import math

import torch
from torch import nn

ROTARY_BASE = 10_000.0


class Rotary(nn.Module):
    def __init__(self, head_size: int, max_length: int, base: float = ROTARY_BASE):
        super().__init__()
        if head_size % 2:
            raise ValueError(f"rotary positions need an even head size, got {head_size}")
        frequencies = base ** (-torch.arange(0, head_size, 2, dtype=torch.float64) / head_size)
        angles = torch.outer(torch.arange(max_length, dtype=torch.float64), frequencies)
        angles = torch.cat([angles, angles], dim=-1)  # (positions, head size)
        # buffers, not parameters, and not saved: they are a function of the config
        self.register_buffer("cos", angles.cos().float(), persistent=False)
        self.register_buffer("sin", angles.sin().float(), persistent=False)

    def forward(self, x):
        """`x` (batch, heads, length, head size) rotated by position."""
        length = x.shape[-2]
        cos, sin = self.cos[:length].to(x.dtype), self.sin[:length].to(x.dtype)
        first, second = x.chunk(2, dim=-1)
        return x * cos + torch.cat([-second, first], dim=-1) * sin


def alibi_slopes(heads: int) -> list[float]:
    """The ALiBi paper's slopes: 2^(-8/n), its powers, for n a power of two; otherwise those of
    the power of two below, then every other slope of the one above."""
    if math.log2(heads).is_integer():
        start = 2.0 ** (-8.0 / heads)
        return [start ** (i + 1) for i in range(heads)]
    below = 2 ** math.floor(math.log2(heads))
    return alibi_slopes(below) + alibi_slopes(2 * below)[0::2][: heads - below]


def alibi_bias(heads: int, length: int, device=None) -> torch.Tensor:
    """(1, heads, length, length): -slope_h x |i - j|."""
    slopes = torch.tensor(alibi_slopes(heads), device=device)
    positions = torch.arange(length, device=device)
    distance = (positions[None, :] - positions[:, None]).abs()
    return -(slopes[:, None, None] * distance)[None]
