"""Missing-token ablation corpora: same paragraph count, token count within 2%, the chosen task
types truly absent; on the tiny data and (realdata) on Wikipedia against a real task."""

import numpy as np
import pytest

from tinylm.analysis.ablation import ablation_targets, paragraph_frequency, without_types
from tinylm.analysis.overlap import token_counts
from tinylm.data.token_cache import TokenizedTexts


def test_without_types_replaces_exactly_the_paragraphs_that_hold_a_target():
    tokens = TokenizedTexts.from_lists([[5, 6], [7], [5, 8, 8], [9, 9], [6, 6], [9, 7, 7]])
    order = np.array([0, 1, 2, 3, 4, 5])
    subset = order[:3]  # paragraphs 0, 1, 2
    corpus = without_types(tokens, subset, order, targets=np.array([5]))
    # 0 and 2 hold token 5; replaced by the closest lengths among 3, 4, 5 (free of 5):
    # 0 (length 2) -> 3 (length 2, first), 2 (length 3) -> 5 (length 3)
    assert sorted(corpus.tolist()) == [1, 3, 5]
    assert paragraph_frequency(tokens, corpus, 10)[5] == 0
    with pytest.raises(ValueError, match="free of the targets"):
        without_types(tokens, subset, order, targets=np.array([6, 7, 9]))
    # the only target-free replacement is too long: the token count would not be kept
    short = TokenizedTexts.from_lists([[5, 6], [7], [8, 8, 8, 8, 8]])
    with pytest.raises(ValueError, match="beyond 2%"):
        without_types(short, np.array([0, 1]), np.array([0, 1, 2]), targets=np.array([5]))


def check_ablation(tokens, order, ws, task_counts, counts, max_share=0.01):
    subset = order[:ws]
    base_tokens = int(tokens.lengths[subset].sum())
    previous = set()
    for count in counts:
        targets = ablation_targets(tokens, subset, task_counts, count, 0, max_share)
        assert previous <= set(targets.tolist())  # nested target sets
        previous = set(targets.tolist())
        corpus = without_types(tokens, subset, order, targets)
        assert len(corpus) == ws and len(np.unique(corpus)) == ws
        assert abs(int(tokens.lengths[corpus].sum()) - base_tokens) <= 0.02 * base_tokens
        present = token_counts(tokens.select(corpus), len(task_counts))
        assert (present[targets] == 0).all()
        assert (task_counts[targets] > 0).all()


def test_ablation_corpora_on_the_tiny_wikipedia(data_dir, cache_dir):
    from tinylm.data.corpus import load_corpus
    from tinylm.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(data_dir)
    corpus = load_corpus(
        data_dir=data_dir, tokenizer=tokenizer, cache_dir=cache_dir, progress=False
    )
    order = np.random.default_rng(42).permutation(len(corpus))
    # a "task" that uses every token type of the corpus once
    task_counts = (token_counts(corpus.tokens, tokenizer.vocab_size, (101, 102)) > 0).astype(int)
    check_ablation(corpus.tokens, order, 40, task_counts, counts=(1, 2), max_share=0.1)


@pytest.mark.realdata
def test_ablation_corpora_on_wikipedia_against_fewrel(real_data_dir, real_cache_dir):
    from tinylm.config import TaskConfig
    from tinylm.data.corpus import load_corpus
    from tinylm.data.sampling import sample_task, tokenize_sample
    from tinylm.data.tasks import load_task
    from tinylm.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(real_data_dir)
    corpus = load_corpus(
        data_dir=real_data_dir, tokenizer=tokenizer, cache_dir=real_cache_dir, progress=False
    )
    config = TaskConfig(name="fewrel-val", train_per_label=40, test_per_label=60)
    sample = sample_task(load_task(config, real_data_dir), config)
    tokens = tokenize_sample(sample, tokenizer, real_cache_dir, progress=False)
    specials = (tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id)
    task_counts = token_counts(tokens["train"], tokenizer.vocab_size, specials)
    order = np.random.default_rng(42).permutation(len(corpus))
    check_ablation(corpus.tokens, order, 2_000, task_counts, counts=(10, 100, 400))
