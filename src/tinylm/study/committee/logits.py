"""The logits cache: a fine-tuned model's test logits, and its validation logits where its
sample has a validation split, kept in its job folder, so every committee of its members is
scored (and chosen, on validation) without running a model again."""

import numpy as np
import torch

from tinylm.config import TaskConfig
from tinylm.files import atomic_open
from tinylm.study.engine import Job, Store

LOGITS_FILE = "test_logits.npy"
VAL_LOGITS_FILE = "val_logits.npy"
FILES = {"test": LOGITS_FILE, "val": VAL_LOGITS_FILE}


def task_sample(store: Store, task: TaskConfig):
    """The tokenizer, the task sample and its tokenized splits (train, val, test)."""
    from tinylm.data.sampling import sample_task, tokenize_sample
    from tinylm.data.tasks import load_task
    from tinylm.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(store.data_dir)
    sample = sample_task(load_task(task, store.data_dir), task)
    return tokenizer, sample, tokenize_sample(sample, tokenizer, store.cache_dir, progress=False)


def test_sample(store: Store, task: TaskConfig):
    """The tokenizer, the task sample and its tokenized test split."""
    tokenizer, sample, tokens = task_sample(store, task)
    return tokenizer, sample, tokens["test"]


def kept_logits(store: Store, job: Job, tokens, pad_id: int, split: str = "test") -> np.ndarray:
    """A fine-tuned model's logits on its `split` sample (`tokens`: test or val), computed once
    and kept in its folder."""
    path = store.path(job) / FILES[split]
    if path.is_file():
        return np.load(path, allow_pickle=False)
    from tinylm.model.bert import BertForSequenceClassification
    from tinylm.train.evaluation import predict_logits

    model = BertForSequenceClassification.from_pretrained(store.path(job) / "model")
    logits = predict_logits(model, tokens, pad_id=pad_id, device=torch.device("cpu"))
    with atomic_open(path, text=False) as f:
        np.save(f, logits.numpy())
    return logits.numpy()
