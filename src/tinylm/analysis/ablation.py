"""Missing-token ablation corpora (the paper's Table 4): a corpus of the same size as a random
subset, in which chosen task token types are absent.

From the random subset S (Ws paragraphs) and a set of target types: every paragraph of S that
holds a target type is removed, and each is replaced by a pool paragraph outside S that holds
none, of the closest length (the first such in the pool's seeded order), so the corpus keeps
Ws paragraphs and its token count within 2% (else it is refused). Targets are task types
present in S that at most `max_share` of S's paragraphs hold (removing a type found everywhere
would rebuild the whole corpus), taken in a seeded order, so target sets of growing size are
nested.
"""

import numpy as np

from tinylm.data.token_cache import TokenizedTexts

MAX_SHARE = 0.01  # a target type appears in at most 1% of the subset's paragraphs
TOLERANCE = 0.02  # the ablation corpus's token count stays within 2% of the subset's


def paragraph_frequency(tokens: TokenizedTexts, indices: np.ndarray, vocab: int) -> np.ndarray:
    """In how many of the given paragraphs each token type occurs."""
    _, types, _ = tokens.select(indices).type_counts(vocab)
    return np.bincount(types, minlength=vocab)


def ablation_targets(
    tokens: TokenizedTexts,
    subset: np.ndarray,
    task_counts: np.ndarray,
    count: int,
    seed: int,
    max_share: float = MAX_SHARE,
) -> np.ndarray:
    """`count` task types to remove from the subset (the first `count` of one seeded order)."""
    vocab = len(task_counts)
    frequency = paragraph_frequency(tokens, subset, vocab)
    eligible = np.flatnonzero((task_counts > 0) & (frequency > 0))
    eligible = eligible[frequency[eligible] <= max_share * len(subset)]
    if count > len(eligible):
        raise ValueError(
            f"only {len(eligible)} task types occur in at most {max_share:.0%} of the subset's "
            f"paragraphs; {count} cannot be removed"
        )
    return np.random.default_rng(seed).permutation(eligible)[:count]


def without_types(
    tokens: TokenizedTexts,
    subset: np.ndarray,
    order: np.ndarray,
    targets: np.ndarray,
    tolerance: float = TOLERANCE,
) -> np.ndarray:
    """Paragraph indices: `subset` with every paragraph holding a target replaced (see the
    module doc). `order` is the pool's permutation, `subset` its first Ws entries."""
    banned = np.zeros(int(max(tokens.ids.max(), targets.max(initial=0))) + 1, dtype=bool)
    banned[targets] = True
    para_of = np.repeat(np.arange(len(tokens)), tokens.lengths)
    holds = np.zeros(len(tokens), dtype=bool)
    holds[para_of[banned[tokens.ids]]] = True

    keep = subset[~holds[subset]]
    removed = subset[holds[subset]]
    in_subset = np.zeros(len(tokens), dtype=bool)
    in_subset[subset] = True
    candidates = order[~in_subset[order] & ~holds[order]]
    if len(candidates) < len(removed):
        raise ValueError(
            f"the pool has {len(candidates)} paragraphs free of the targets; "
            f"{len(removed)} are needed"
        )
    # every removed paragraph takes the first unused candidate in pool order
    replacements = length_matched(tokens.lengths, removed, candidates)
    lengths = tokens.lengths
    corpus = np.concatenate([keep, replacements])
    before, after = int(lengths[subset].sum()), int(lengths[corpus].sum())
    if abs(after - before) > tolerance * before:
        raise ValueError(
            f"removing {len(targets)} types leaves {after:,} tokens against {before:,} "
            f"(beyond {tolerance:.0%}): too few target-free paragraphs of matching length"
        )
    return corpus


def length_matched(lengths: np.ndarray, leaving: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """One replacement per leaving paragraph: the first unused candidate (in the order given)
    of its length, else of the nearest length that has one left."""
    buckets: dict[int, list[int]] = {}
    for paragraph in candidates[::-1]:  # reversed, so pop() yields the given order
        buckets.setdefault(int(lengths[paragraph]), []).append(int(paragraph))
    chosen = []
    longest = int(lengths.max())
    for paragraph in leaving:
        length = int(lengths[paragraph])
        for distance in range(longest + 1):
            bucket = buckets.get(length - distance) or buckets.get(length + distance)
            if bucket:
                chosen.append(bucket.pop())
                break
    return np.asarray(chosen, dtype=np.int64)
