"""Reverse-overlap corpora (the paper's open question 2): at a fixed Ws and a fixed coverage of
the task's tokens, more or less of the corpus made of tokens the task never uses.

A paragraph's foreign share is the share of its tokens (special tokens aside) whose types the
task never uses. From the random subset S, `swap_foreign` replaces `fraction` of S's paragraphs:
- direction "more": the paragraphs of S with the lowest foreign share leave, and pool
  paragraphs with the highest foreign share come in;
- direction "fewer": the other way round.

Coverage is held exactly: a paragraph leaves only while every task type it holds stays in
another paragraph of the corpus, and a newcomer holds only task types that S already shows. So
the set of task types the corpus shows (hence missing_types, missing_tokens and both overlap
scores) is that of S. Each newcomer has the length of the paragraph it replaces, or the nearest
length left, so the corpus keeps Ws paragraphs and its token count within 2% (else refused).
What changes is how the corpus spends its tokens: on the task's types or on others.
"""

import numpy as np

from tinylm.analysis.ablation import TOLERANCE, length_matched
from tinylm.data.token_cache import TokenizedTexts

DIRECTIONS = ("more", "fewer")


def foreign_share(tokens: TokenizedTexts, task_types: np.ndarray, specials=()) -> np.ndarray:
    """Per paragraph: the share of its tokens whose types are not task types (specials aside).
    `task_types` is a boolean mask over the vocabulary."""
    ids = tokens.ids.astype(np.int64)
    counted = np.ones(len(task_types), dtype=bool)
    counted[list(specials)] = False
    para = np.repeat(np.arange(len(tokens)), tokens.lengths)
    weight = counted[ids]
    foreign = np.bincount(para, weights=weight & ~task_types[ids], minlength=len(tokens))
    total = np.bincount(para, weights=weight, minlength=len(tokens))
    return foreign / np.maximum(total, 1)


def swap_foreign(
    tokens: TokenizedTexts,
    subset: np.ndarray,
    order: np.ndarray,
    task_types: np.ndarray,
    fraction: float,
    direction: str,
    specials=(),
    tolerance: float = TOLERANCE,
) -> np.ndarray:
    """Paragraph indices: `subset` with `fraction` of it swapped (see the module doc). `order`
    is the pool's permutation, `subset` its first Ws entries."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    n, vocab = len(tokens), len(task_types)
    share = foreign_share(tokens, task_types, specials)
    pair_para, pair_type, _ = tokens.type_counts(vocab, task_types)  # sorted by paragraph
    starts = np.searchsorted(pair_para, np.arange(n + 1))

    in_subset = np.zeros(n, dtype=bool)
    in_subset[subset] = True
    held_by = np.bincount(pair_type[in_subset[pair_para]], minlength=vocab)  # paragraphs of S
    brings_new = np.zeros(n, dtype=bool)
    brings_new[pair_para[held_by[pair_type] == 0]] = True
    candidates = order[~in_subset[order] & ~brings_new[order]]

    # "more": the least foreign leave first; "fewer": the most foreign.
    key = share if direction == "more" else -share
    wanted = round(fraction * len(subset))
    leaving = []
    for paragraph in subset[np.argsort(key[subset], kind="stable")]:
        if len(leaving) == wanted:
            break
        types = pair_type[starts[paragraph] : starts[paragraph + 1]]
        if (held_by[types] >= 2).all():  # each of its task types stays elsewhere
            held_by[types] -= 1
            leaving.append(int(paragraph))
    if len(leaving) < wanted:
        raise ValueError(
            f"only {len(leaving)} paragraphs of the subset can leave without losing a task "
            f"type; {wanted} are needed"
        )
    if len(candidates) < wanted:
        raise ValueError(f"the pool has {len(candidates)} eligible newcomers; {wanted} needed")

    # "more": the most foreign candidates first; "fewer": the least foreign first
    newcomers = length_matched(
        tokens.lengths, np.asarray(leaving), candidates[np.argsort(-key[candidates], kind="stable")]
    )
    lengths = tokens.lengths
    left = np.zeros(n, dtype=bool)
    left[leaving] = True
    corpus = np.concatenate([subset[~left[subset]], newcomers])
    before, after = int(lengths[subset].sum()), int(lengths[corpus].sum())
    if abs(after - before) > tolerance * before:
        raise ValueError(
            f"the swap leaves {after:,} tokens against {before:,} (beyond {tolerance:.0%}): "
            "too few eligible paragraphs of matching length"
        )
    return corpus
