"""A task-aware pre-training corpus: Ws paragraphs of a pool chosen to cover the task's tokens.

Objective. With w_t the frequency of token t in the task's train texts (summing to 1), c_S(t)
its count in the selection S, and K the saturation count:

    F(S) = sum_t w_t * min(c_S(t), K) / K

A task token is fully covered once the selection shows it K times (K contexts to learn it
from); frequent task tokens weigh more. F is monotone and submodular (a sum of concave
functions of counts), so the greedy choice, the paragraph of largest marginal gain at each
step, is within (1 - 1/e) of the best selection of the same size. The greedy is "lazy": gains
only shrink as S grows, so a stale gain is an upper bound and a paragraph whose recomputed gain
still tops the heap is taken without recomputing the others (when most bounds have gone stale,
all gains are recomputed at once, vectorised). Equal bounds pop in the order of the pool's
seeded permutation; a recomputed gain equal to the best remaining bound is taken at once, so
such a tie may go to the later paragraph (kept so that the corpora built so far stay those this
code builds). Once no paragraph adds anything (every task token saturated), the rest are taken
in that permutation's order.

Only the train texts steer the selection: test texts must not shape pre-training.
"""

import heapq

import numpy as np
from tqdm import tqdm

from tinylm.data.token_cache import TokenizedTexts

SATURATION = 5


def coverage(counts: np.ndarray, weights: np.ndarray, saturation: int = SATURATION) -> float:
    """F of a selection with token counts `counts`."""
    return float((weights * np.minimum(counts, saturation)).sum() / saturation)


def greedy_select(
    tokens: TokenizedTexts,
    order: np.ndarray,
    weights: np.ndarray,
    size: int,
    *,
    saturation: int = SATURATION,
    progress: bool = False,
) -> np.ndarray:
    """Indices (into `tokens`) of `size` paragraphs from `order` (the pool, permuted), in the
    order chosen."""
    if size > len(order):
        raise ValueError(f"size {size} exceeds the pool of {len(order)} paragraphs")
    # Occurrences each task type still needs before it is saturated: a paragraph adds
    # min(n, room) of a type it holds n times.
    room = np.full(len(weights), saturation, dtype=np.int64)

    # Each paragraph's distinct task types and their counts, grouped by rank in `order`.
    pair_rank, pair_type, pair_n = tokens.select(order).type_counts(len(weights), weights > 0)
    pair_weight = weights[pair_type]
    starts = np.searchsorted(pair_rank, np.arange(len(order) + 1)).tolist()

    def gain(r: int) -> float:
        s, e = starts[r], starts[r + 1]
        added = np.minimum(pair_n[s:e], room[pair_type[s:e]])
        return float((pair_weight[s:e] * added).sum() / saturation)

    def fresh_heap() -> list:
        """Every paragraph's exact gain, at once: cheaper than many single recomputations."""
        added = np.minimum(pair_n, room[pair_type])
        gains = np.bincount(pair_rank, weights=pair_weight * added, minlength=len(order))
        gains /= saturation
        live = np.flatnonzero(gains > 0)
        heap = list(zip((-gains[live]).tolist(), live.tolist(), strict=True))
        heapq.heapify(heap)
        return heap

    heap = fresh_heap()
    taken = np.zeros(len(order), dtype=bool)
    chosen: list[int] = []
    recomputed = 0
    bar = tqdm(total=size, desc="select", unit="para", disable=not progress)
    while heap and len(chosen) < size:
        _, r = heapq.heappop(heap)
        if taken[r]:
            continue
        fresh = gain(r)
        recomputed += 1
        if fresh <= 0:
            continue
        if heap and fresh < -heap[0][0]:
            heapq.heappush(heap, (-fresh, r))  # no longer the best: put back with its new gain
            if recomputed > len(order) // 4:  # most bounds are stale: refresh them all
                heap = [(g, q) for g, q in fresh_heap() if not taken[q]]
                heapq.heapify(heap)
                recomputed = 0
            continue
        chosen.append(r)
        taken[r] = True
        s, e = starts[r], starts[r + 1]
        types = pair_type[s:e]
        room[types] = np.maximum(room[types] - pair_n[s:e], 0)
        bar.update(1)
    rest = np.flatnonzero(~taken)[: size - len(chosen)]  # every task token saturated: fill
    bar.update(len(rest))
    bar.close()
    return np.asarray(order)[np.concatenate([np.asarray(chosen, dtype=np.int64), rest])]
