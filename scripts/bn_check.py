"""Does BatchNorm explain the scratch arm's poor seeds? (docs/findings.md)

For each fine-tuned run given, its test accuracy as saved (BatchNorm in eval mode, with the
running statistics of training) and after recomputing the conv front-end's BatchNorm statistics
as plain averages over its train sample (batches of 16, no weight changes). If the running
statistics were stale, the second figure would differ.

    python scripts/bn_check.py runs/finetune-agnews-...-scratch-s1-... [RUN ...]
"""

import sys
from pathlib import Path

import numpy as np
import torch
import yaml

from tinylm.config import TaskConfig
from tinylm.data.sampling import sample_task, tokenize_sample
from tinylm.data.tasks import load_task
from tinylm.ledger import record_read
from tinylm.model.bert import BertForSequenceClassification
from tinylm.paths import chosen_data_dir, resolve_cache_dir
from tinylm.tokenizer import load_tokenizer
from tinylm.train.batches import pad
from tinylm.train.evaluation import predict_logits


def accuracy(model, tokens, truth, pad_id) -> float:
    logits = predict_logits(model, tokens, pad_id=pad_id, device=torch.device("cpu"))
    return float((logits.argmax(-1).numpy() == truth).mean())


def recalibrate(model, tokens, pad_id, batch=16) -> None:
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    model.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches below
        norm.train()
    with torch.no_grad():
        for start in range(0, len(tokens), batch):
            ids, mask = pad(
                [tokens[i] for i in range(start, min(len(tokens), start + batch))], pad_id
            )
            model(ids, mask)
    model.eval()


def main(runs: list[str]) -> None:
    torch.set_num_threads(1)
    data = chosen_data_dir()
    tokenizer = load_tokenizer(data)
    for run in map(Path, runs):
        config = yaml.safe_load((run / "config.yaml").read_text())
        task = TaskConfig.from_dict(config["task"])
        sample = sample_task(load_task(task, data), task)
        tokens = tokenize_sample(sample, tokenizer, resolve_cache_dir(), progress=False)
        truth = np.asarray(sample.split("test").labels)
        model = BertForSequenceClassification.from_pretrained(run / "model")
        saved = accuracy(model, tokens["test"], truth, tokenizer.pad_id)
        record_read(run, sample, "scripts/bn_check.py", model="as saved")
        recalibrate(model, tokens["train"], tokenizer.pad_id)
        fresh = accuracy(model, tokens["test"], truth, tokenizer.pad_id)
        record_read(run, sample, "scripts/bn_check.py", model="recalibrated")
        print(f"{run.name}: test accuracy {saved:.3f} as saved, {fresh:.3f} recalibrated")


if __name__ == "__main__":
    main(sys.argv[1:])
