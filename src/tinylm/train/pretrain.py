"""MLM pre-training on a corpus subset: the objective the trainer (train/trainer.py) runs.

Step s's global batch is a pure function of (seed, s): the examples of the batch plan, padded
to the longest, masked by a generator seeded by (seed, s). The whole global batch is padded
and masked before the trainer splits it across ranks, so padding and masks are the same under
any number of processes.
"""

from pathlib import Path

import torch

from tinylm.config import PretrainConfig
from tinylm.data.corpus import load_subset
from tinylm.data.token_cache import TokenizedTexts
from tinylm.errors import ConfigError
from tinylm.model.bert import BertForMaskedLM
from tinylm.tokenizer import Tokenizer, load_tokenizer
from tinylm.train import batches
from tinylm.train.masking import mask_tokens
from tinylm.train.run import RunDir
from tinylm.train.runtime import setup_runtime, step_generator
from tinylm.train.trainer import Batch, Objective, Trainer


class MaskedLanguageModelling(Objective):
    job, activity, description = "pretrain", "pre-training", "pretrain"

    def __init__(self, tokens: TokenizedTexts, tokenizer: Tokenizer, config: PretrainConfig):
        self.tokens, self.tokenizer, self.config = tokens, tokenizer, config
        train = config.train
        self.plan = batches.BatchPlan(
            tokens.lengths, train.batch_size, train.seed, train.group_by_length
        )
        self.special = torch.tensor([tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id])

    def batch(self, step: int) -> Batch:
        ids, mask = batches.pad(
            [self.tokens[i] for i in self.plan.indices(step)], self.tokenizer.pad_id
        )
        inputs, labels = mask_tokens(
            ids,
            mask,
            special_ids=self.special,
            mask_id=self.tokenizer.mask_id,
            vocab_size=self.config.arch.vocab_size,
            rate=self.config.mask_rate,
            generator=step_generator(self.config.train.seed, step),
        )
        return Batch(inputs, mask, labels)


def pretrain(
    config: PretrainConfig,
    *,
    out: str | Path,
    data_dir,
    cache_dir: Path,
    resume: bool = False,
    progress: bool = True,
) -> dict:
    runtime = setup_runtime(config.impl)
    run = RunDir(out, resume=resume, writer=runtime.is_main)
    train = config.train
    tokenizer = load_tokenizer(data_dir, max_length=config.arch.max_length)
    if tokenizer.vocab_size != config.arch.vocab_size:
        raise ConfigError(
            "arch.vocab_size",
            f"{config.arch.vocab_size} differs from the tokenizer's {tokenizer.vocab_size}",
        )
    subset = load_subset(
        config.corpus,
        data_dir=data_dir,
        tokenizer=tokenizer,
        cache_dir=cache_dir,
        progress=progress and runtime.is_main,
    )
    tokens = subset.tokens
    if config.pack:
        tokens = batches.pack(tokens, config.arch.max_length, tokenizer.cls_id, tokenizer.sep_id)

    torch.manual_seed(train.seed)  # the initial weights
    model = BertForMaskedLM(config.arch).to(runtime.device)
    trainer = Trainer.over(len(tokens), model, train, runtime, compile_model=config.impl.compile)
    total = trainer.total_steps
    resolved = {"job": "pretrain", **config.to_dict(), "ws": subset.ws}
    resolved["impl"]["precision"] = runtime.precision
    objective = MaskedLanguageModelling(tokens, tokenizer, config)
    final_loss = trainer.fit(objective, run, resolved, progress=progress)

    summary = {
        "job": "pretrain",
        "steps": total,
        "final_loss": final_loss,
        "ws": subset.ws,
        "seed": train.seed,
        "arch": config.arch.to_dict(),
        "tokens": tokens.num_tokens,
    }
    if runtime.is_main:
        model.save_pretrained(run.path / "model")
        run.write_summary(summary)
    return summary
