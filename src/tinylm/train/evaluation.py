"""Classifier evaluation and prediction: accuracy, macro-F1, the confusion matrix, and
probabilities for new texts. Batches are sorted by length, so little time goes to padding.

One path scores every model (training-time validation, `tinylm evaluate`, `predict`,
`committee` and the studies), always in fp32: a model has one accuracy, whatever precision
trained it (bf16 autocast moved an AG News accuracy from 0.519 to 0.516)."""

import numpy as np
import torch

from tinylm.data.token_cache import TokenizedTexts
from tinylm.train.batches import pad


@torch.no_grad()
def predict_logits(
    model,
    tokens: TokenizedTexts,
    *,
    pad_id: int,
    device,
    batch_size: int = 64,
) -> torch.Tensor:
    """Logits (n, labels) in the order of `tokens`."""
    model.eval()
    return in_length_order(
        lambda ids, mask: model(ids.to(device), mask.to(device)).logits.float().cpu(),
        tokens,
        pad_id=pad_id,
        width=model.num_labels,
        batch_size=batch_size,
    )


def in_length_order(
    score, tokens: TokenizedTexts, *, pad_id: int, width: int, batch_size: int = 64
) -> torch.Tensor:
    """`score(ids, mask)` -> (batch, width) on batches of texts sorted by length (little
    padding), put back in the order of `tokens`: (n, width). Every engine scores this way
    (PyTorch here, ONNX Runtime in export/onnx.py), so they see the same batches."""
    order = np.argsort(tokens.lengths, kind="stable")
    out = torch.empty(len(tokens), width)
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        ids, mask = pad([tokens[i] for i in chosen], pad_id)
        out[torch.from_numpy(chosen)] = torch.as_tensor(score(ids, mask)).float()
    return out


def classification_report(predicted: np.ndarray, truth: np.ndarray, num_labels: int) -> dict:
    confusion = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    true_positive = np.diag(confusion).astype(float)
    precision = np.divide(
        true_positive, confusion.sum(0), out=np.zeros(num_labels), where=confusion.sum(0) > 0
    )
    recall = np.divide(
        true_positive, confusion.sum(1), out=np.zeros(num_labels), where=confusion.sum(1) > 0
    )
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros(num_labels),
        where=precision + recall > 0,
    )
    present = confusion.sum(1) > 0  # macro-F1 over the labels the sample holds
    return {
        "accuracy": float(true_positive.sum() / max(1, len(truth))),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "n": len(truth),
        "confusion": confusion.tolist(),
    }


def evaluate(
    model,
    tokens: TokenizedTexts,
    labels: np.ndarray,
    *,
    pad_id: int,
    device,
    batch_size: int = 64,
) -> dict:
    logits = predict_logits(model, tokens, pad_id=pad_id, device=device, batch_size=batch_size)
    return classification_report(logits.argmax(-1).numpy(), np.asarray(labels), model.num_labels)


def load_classifier(path, data_dir=None):
    """(model, tokenizer) of a classifier's folder (a fine-tuning run or its model/), the
    tokenizer its own vocab.txt (else the data directory's bert-base-uncased one)."""
    from tinylm.errors import TinylmError
    from tinylm.model.bert import BertForSequenceClassification, load_pretrained, model_folder
    from tinylm.tokenizer import tokenizer_for_model

    model = load_pretrained(path)
    if not isinstance(model, BertForSequenceClassification):
        raise TinylmError(f"{path} holds a {model.kind} model, not a classifier")
    tokenizer = tokenizer_for_model(
        model_folder(path), data_dir, max_length=model.config.max_length
    )
    return model.eval(), tokenizer


def sample_for(config, label_names: list[str], tokenizer, *, data_dir, cache_dir, progress=True):
    """(task, sample, tokens) of the task sample `config` for a model that predicts
    `label_names`; refuses a task whose labels differ. `data_dir` may be None for a user's
    own task files."""
    from tinylm.data.needs import require_data
    from tinylm.data.sampling import sample_task, tokenize_sample
    from tinylm.data.tasks import is_user_task, load_task
    from tinylm.errors import TinylmError
    from tinylm.paths import resolve_cache_dir

    if not (is_user_task(config.name) and not data_dir):
        data_dir = require_data(data_dir, tasks=[config.name])
    task = load_task(config, data_dir)
    sample = sample_task(task, config)
    if sample.label_names != label_names:
        raise TinylmError(
            f"the model's labels {label_names[:4]}... are not those of task {task.name} "
            f"{sample.label_names[:4]}..."
        )
    tokens = tokenize_sample(sample, tokenizer, resolve_cache_dir(cache_dir), progress=progress)
    return task, sample, tokens
