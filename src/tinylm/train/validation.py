"""The validation loss and accuracy of a pre-training, and whether it left the plateau.

Held-out paragraphs: the last N paragraphs of the Wikipedia permutation (the one every subset is
a prefix of) that the training subset does not hold, so the same paragraphs score every run
of a study, at every Ws (a corpus file without Wikipedia beside it: its own permutation's
tail, outside the subset). They are masked once, at the standard 15% and with a fixed seed,
whatever the run's own mask rate, so losses compare across recipes. Scores are fp32.

The unigram plateau: a model that ignores context can do no better than the best context-free
predictor of a masked token. Where the input shows [MASK] (80% of the masked positions) that is
the unigram distribution of the training tokens; where it shows a token v (the 10% left as
they were and the 10% replaced by a uniformly random token), it is the posterior mix of "the
token is v" and the unigram. Its cross-entropy on the held-out masked tokens is the plateau's
level (`plateau_loss`; about 6.7 nats on Wikipedia, below the plain unigram's 7.3 because of
the visible tokens). A run whose validation loss is within PLATEAU_MARGIN nats of it has not
learnt to use context (docs/findings.md: such models make fine-tuning worse).

A causal model (ModelConfig.causal) is scored on every next token of the same paragraphs; its
context-free predictor is the training tokens' unigram, whose cross-entropy is then the
plateau's level.
"""

import math

import numpy as np
import torch

from tinylm.config import CORPUS_SEED, MASK_RATE, ModelConfig
from tinylm.data.corpus import Corpus, Subset
from tinylm.data.token_cache import TokenizedTexts
from tinylm.model.bert import IGNORE_INDEX
from tinylm.train.batches import pad
from tinylm.train.masking import mask_tokens, next_token_labels

PLATEAU_MARGIN = 0.5  # nats below the plateau's level that count as having left it
BATCH = 64
MASK_SEED = 0


def held_out(corpus: Corpus, subset: Subset | None, paragraphs: int) -> TokenizedTexts:
    """The last `paragraphs` paragraphs of `corpus`'s permutation outside `subset` (when the
    subset is of this corpus)."""
    order = np.random.default_rng(CORPUS_SEED).permutation(len(corpus))
    if subset is not None and subset.corpus.source == corpus.source:
        order = order[~np.isin(order, subset.indices)]
    return corpus.tokens.select(order[len(order) - min(paragraphs, len(order)) :])


class Validation:
    """Held-out paragraphs, masked once (or, for a causal model, with next-token labels);
    scores a pre-training's model on them."""

    def __init__(
        self, tokens: TokenizedTexts, tokenizer, train_tokens: TokenizedTexts, arch: ModelConfig
    ):
        special = torch.tensor([tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id])
        generator = torch.Generator().manual_seed(MASK_SEED)
        order = np.argsort(tokens.lengths, kind="stable")  # batches of similar lengths
        self.batches = []
        for start in range(0, len(order), BATCH):
            ids, mask = pad([tokens[i] for i in order[start : start + BATCH]], tokenizer.pad_id)
            if arch.causal:
                self.batches.append((ids, mask, next_token_labels(ids, mask)))
                continue
            inputs, labels = mask_tokens(
                ids,
                mask,
                special_ids=special,
                mask_id=tokenizer.mask_id,
                vocab_size=tokenizer.vocab_size,
                rate=MASK_RATE,
                generator=generator,
            )
            self.batches.append((inputs, mask, labels))
        self.plateau_loss = self._context_free_loss(train_tokens, tokenizer, arch.causal)

    def _context_free_loss(self, train: TokenizedTexts, tokenizer, causal: bool) -> float:
        """Cross-entropy of the held-out masked tokens under the best predictor that sees only
        the token at the position: the training tokens' unigram p (add-one smoothed) at
        [MASK]; at a visible token v, P(kept | v) [target = v] + P(random | v) p(target),
        where kept and random are equally likely a priori and a random token is uniform."""
        vocab = tokenizer.vocab_size
        counts = np.bincount(train.ids, minlength=vocab).astype(np.float64) + 1.0
        p = counts / counts.sum()
        inputs = torch.cat([i[labels != IGNORE_INDEX] for i, _, labels in self.batches]).numpy()
        targets = torch.cat([t[t != IGNORE_INDEX] for _, _, t in self.batches]).numpy()
        if not len(targets):
            return math.nan
        if causal:  # the next token is never visible: the unigram alone
            return float(-np.log(p[targets]).mean())
        kept = p[inputs] / (p[inputs] + 1.0 / vocab)  # P(kept | v), v visible
        visible = np.where(inputs == tokenizer.mask_id, 0.0, kept)
        q = visible * (targets == inputs) + (1 - visible) * p[targets]
        return float(-np.log(q).mean())

    @torch.no_grad()
    def score(self, model, device) -> dict:
        """{"val_loss", "val_accuracy", "plateau"}: mean cross-entropy and accuracy over the
        masked tokens, and whether the loss is still on the plateau."""
        was_training = model.training
        model.eval()
        loss, correct, count = 0.0, 0, 0
        for inputs, mask, labels in self.batches:
            output = model(inputs.to(device), mask.to(device), labels=labels.to(device))
            targets = labels[labels != IGNORE_INDEX].to(device)
            loss += float(output.loss) * len(targets)
            correct += int((output.logits.argmax(-1) == targets).sum())
            count += len(targets)
        model.train(was_training)
        val_loss = loss / max(1, count)
        return {
            "val_loss": val_loss,
            "val_accuracy": correct / max(1, count),
            "plateau": bool(val_loss > self.plateau_loss - PLATEAU_MARGIN),
        }
