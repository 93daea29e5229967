"""The pre-training step before issue 43 (the plain MLM loss, NCHW convolutions in the
front-end) against today's, in one process, alternated: 3 warm-up steps each, then 10 rounds
of 5 steps each, on a batch of 16 x 92 random tokens with 30% masked. Prints both rates, their
ratio, and how far the two models' losses drift apart (they start from the same weights).

    python scripts/step_before_after.py THREADS ARCH [fp32|bf16]

docs/benchmarks.md ("Training at the machine's limit") records its figures.
"""

import sys
import time
import types

import torch.nn.functional as F

from tinylm.bench.common import synthetic_training
from tinylm.config import ImplConfig
from tinylm.model.architectures import get_architecture
from tinylm.model.bert import IGNORE_INDEX, ConvLayer, Output
from tinylm.train.runtime import setup_runtime


def plain_conv(self, x):  # before: nn.Conv2d as called, NCHW
    if self.pad is not None:
        x = F.pad(x, self.pad)
    return F.gelu(self.norm(self.conv(x)))


def plain_mlm(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
    """Before: fp32 logits of every masked token, then cross-entropy."""
    hidden = self.bert(input_ids, attention_mask, token_type_ids)
    embeddings = self.bert.embeddings.word_embeddings.weight
    positions = labels != IGNORE_INDEX
    logits = self.cls.predictions(hidden[positions], embeddings)
    return Output(logits, F.cross_entropy(logits.float(), labels[positions]))


def main(threads: int, arch: str, precision: str = "fp32") -> None:
    runtime = setup_runtime(ImplConfig(device="cpu", precision=precision, threads=threads))
    trainers = {}
    for name in ("before", "after"):
        trainer, batch = synthetic_training(get_architecture(arch), "pretrain", runtime, 16, 92)
        if name == "before":
            for module in trainer.model.modules():
                if isinstance(module, ConvLayer):
                    module.forward = types.MethodType(plain_conv, module)
            trainer.model.forward = types.MethodType(plain_mlm, trainer.model)
        trainers[name] = trainer
    for trainer in trainers.values():
        for step in range(3):
            trainer.step(step, batch)
    seconds, losses = dict.fromkeys(trainers, 0.0), {name: [] for name in trainers}
    for round_ in range(10):
        for name, trainer in trainers.items():
            start = time.perf_counter()
            for step in range(3 + 5 * round_, 8 + 5 * round_):
                result = trainer.step(step, batch)
            seconds[name] += time.perf_counter() - start
            losses[name].append(result.loss)
    rate = {name: 16 * 92 * 50 / s for name, s in seconds.items()}
    drift = max(abs(a - b) for a, b in zip(losses["before"], losses["after"], strict=True))
    print(
        f"{arch}, {threads} thread(s), {precision}: before {rate['before']:,.0f}, after "
        f"{rate['after']:,.0f} tokens/s ({seconds['before'] / seconds['after']:.2f}x); "
        f"losses within {drift:.1e} after 53 steps"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], *sys.argv[3:])
