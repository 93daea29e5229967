"""The validation MLM loss and accuracy of a pre-training, and whether it left the plateau.

Held-out paragraphs: the last N paragraphs of the Wikipedia permutation (the one every subset is
a prefix of) that the training subset does not hold, so the same paragraphs score every run
of a study, at every Ws (a corpus file without Wikipedia beside it: its own permutation's
tail, outside the subset). They are masked once, at the standard 15% and with a fixed seed,
whatever the run's own mask rate, so losses compare across recipes. Scores are fp32.

The unigram plateau: a model that ignores context can do no better than the unigram
distribution of the training tokens. Its cross-entropy on the held-out masked tokens is the
plateau's level; a run whose validation loss is within PLATEAU_MARGIN nats of it has not
learnt to use context (docs/findings.md: such models make fine-tuning worse).
"""

import math

import numpy as np
import torch

from tinylm.config import CORPUS_SEED, MASK_RATE
from tinylm.data.corpus import Corpus, Subset
from tinylm.data.token_cache import TokenizedTexts
from tinylm.model.bert import IGNORE_INDEX
from tinylm.train.batches import pad
from tinylm.train.masking import mask_tokens

PLATEAU_MARGIN = 0.5  # nats below the unigram loss that count as having left the plateau
BATCH = 64
MASK_SEED = 0


def held_out(corpus: Corpus, subset: Subset | None, paragraphs: int) -> TokenizedTexts:
    """The last `paragraphs` paragraphs of `corpus`'s permutation outside `subset` (when the
    subset is of this corpus)."""
    order = np.random.default_rng(CORPUS_SEED).permutation(len(corpus))
    if subset is not None and subset.corpus.source == corpus.source:
        order = order[~np.isin(order, subset.indices)]
    return corpus.tokens.select(order[len(order) - min(paragraphs, len(order)) :])


class MaskedValidation:
    """Held-out paragraphs, masked once; scores a masked LM on them."""

    def __init__(self, tokens: TokenizedTexts, tokenizer, train_tokens: TokenizedTexts):
        special = torch.tensor([tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id])
        generator = torch.Generator().manual_seed(MASK_SEED)
        order = np.argsort(tokens.lengths, kind="stable")  # batches of similar lengths
        self.batches = []
        for start in range(0, len(order), BATCH):
            ids, mask = pad([tokens[i] for i in order[start : start + BATCH]], tokenizer.pad_id)
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
        self.unigram_loss = self._unigram_loss(train_tokens, tokenizer.vocab_size)

    def _unigram_loss(self, train: TokenizedTexts, vocab_size: int) -> float:
        """Cross-entropy of the held-out masked tokens under the training tokens' unigram
        distribution (add-one smoothed)."""
        counts = np.bincount(train.ids, minlength=vocab_size).astype(np.float64) + 1.0
        log_p = np.log(counts / counts.sum())
        targets = torch.cat([labels[labels != IGNORE_INDEX] for _, _, labels in self.batches])
        return float(-log_p[targets.numpy()].mean()) if len(targets) else math.nan

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
            "plateau": bool(val_loss > self.unigram_loss - PLATEAU_MARGIN),
        }
