"""MLM pre-training on a corpus subset: the objective the trainer (train/trainer.py) runs; a
causal model (ModelConfig.causal) predicts every next token instead, on the same batches.

Step s's global batch is a pure function of (seed, s): the examples of the batch plan, padded
to the longest, masked by a generator seeded by (seed, s). The whole global batch is padded
and masked before the trainer splits it across ranks, so padding and masks are the same under
any number of processes.

The objective also scores the held-out validation paragraphs (train/validation.py) at each
epoch's end, every `val_every` steps and at each snapshot, and keeps a copy of the model at
each snapshot's token count (`snapshots/tokens-N/`, for the budget study).
"""

from pathlib import Path

import numpy as np
import torch

from tinylm import layout
from tinylm.data.corpus import Subset, load_corpus, load_subset
from tinylm.data.token_cache import TokenizedTexts
from tinylm.files import atomic_folder
from tinylm.model.bert import BertForMaskedLM, set_dropout
from tinylm.tokenizer import Tokenizer, load_tokenizer, save_vocabulary
from tinylm.train import batches
from tinylm.train.config import PretrainConfig, with_vocabulary
from tinylm.train.masking import mask_tokens, next_token_labels
from tinylm.train.run import RunDir
from tinylm.train.runtime import step_generator
from tinylm.train.trainer import Batch, Objective, Trainer, open_run
from tinylm.train.validation import Validation, held_out


class MaskedLanguageModelling(Objective):
    job, activity, description = "pretrain", "pre-training", "pretrain"

    def __init__(
        self,
        model: BertForMaskedLM,
        tokens: TokenizedTexts,
        tokenizer: Tokenizer,
        config: PretrainConfig,
        *,
        validation: Validation | None,
        run: RunDir,
        runtime,
    ):
        self.model, self.tokens, self.tokenizer, self.config = model, tokens, tokenizer, config
        self.validation, self.run, self.runtime = validation, run, runtime
        self.plan = batches.BatchPlan.of(tokens.lengths, config.train)
        self.special = torch.tensor([tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id])
        self.scores: list[dict] = []  # every validation: step, tokens read, loss, accuracy
        self.snapshot_steps: dict[int, int] = {}  # step -> the snapshot's token count

    def prepare(self, total_steps: int) -> None:
        """Before the run: the tokens read after each step (a pure function of the plan), and
        the step at which each snapshot's token count is reached (those within the run)."""
        self.tokens_read = self.plan.tokens_read(total_steps)
        for tokens in self.config.snapshots:
            step = int(np.searchsorted(self.tokens_read, tokens)) + 1  # the first step reaching it
            if step <= total_steps:
                self.snapshot_steps[step] = tokens

    def batch(self, step: int) -> Batch:
        ids, mask = batches.pad(
            [self.tokens[i] for i in self.plan.indices(step)], self.tokenizer.pad_id
        )
        if self.config.arch.causal:
            return Batch(ids, mask, next_token_labels(ids, mask))
        inputs, labels = mask_tokens(
            ids,
            mask,
            special_ids=self.special,
            mask_id=self.tokenizer.mask_id,
            vocab_size=self.config.arch.vocab_size,
            rate=self.config.mask_rate,
            span=self.config.mask_span,
            generator=step_generator(self.config.train.seed, step),
        )
        return Batch(inputs, mask, labels)

    def after_step(self, done: int, epoch_end: bool) -> dict:
        snapshot = self.snapshot_steps.get(done)
        if snapshot is not None and self.runtime.is_main:
            with atomic_folder(snapshot_path(self.run.path, snapshot), replace=True) as folder:
                self.model.save_pretrained(folder)
                save_vocabulary(self.tokenizer, folder)
        every = self.config.val_every
        due = epoch_end or snapshot is not None or (every is not None and done % every == 0)
        if self.validation is None or not due:
            return {}
        figures = self.validation.score(self.model, self.runtime.device)
        read = int(self.tokens_read[done - 1])
        self.scores.append({"step": done, "tokens_read": read, **figures})
        return figures

    def state(self) -> dict:
        return {"scores": self.scores}

    def restore(self, state: dict, run: RunDir) -> None:
        self.scores = state.get("scores", [])


def snapshot_path(run: Path, tokens: int) -> Path:
    return run / "snapshots" / f"tokens-{tokens:012d}"


def validation_set(
    config: PretrainConfig, subset: Subset, data_dir, tokenizer, cache_dir, progress: bool
) -> tuple[TokenizedTexts, str] | None:
    """(the held-out paragraphs, their corpus's name) (train/validation.py): a task corpus's
    own (Corpus.held_out), else Wikipedia's when the data directory has it (one yardstick for
    the corpora of a study), else the training corpus's own."""
    if config.val_paragraphs == 0:
        return None
    has_wikipedia = data_dir is not None and (Path(data_dir) / layout.WIKIPEDIA).is_file()
    corpus = subset.corpus
    if has_wikipedia and not corpus.is_task and corpus.name != "wikipedia":
        corpus = load_corpus(
            "wikipedia",
            data_dir=data_dir,
            tokenizer=tokenizer,
            cache_dir=cache_dir,
            progress=progress,
        )
    tokens = held_out(corpus, subset, config.val_paragraphs)
    return (tokens, corpus.name) if len(tokens) else None


def pretrain(
    config: PretrainConfig,
    *,
    out: str | Path,
    data_dir,
    cache_dir: Path,
    resume: bool = False,
    progress: bool = True,
) -> dict:
    runtime, run = open_run(config.impl, out, resume)
    train = config.train
    tokenizer = load_tokenizer(data_dir, vocab_file=config.vocab, max_length=config.arch.max_length)
    config = with_vocabulary(config, tokenizer)
    show = progress and runtime.is_main
    subset = load_subset(
        config.corpus, data_dir=data_dir, tokenizer=tokenizer, cache_dir=cache_dir, progress=show
    )
    tokens = subset.tokens
    if config.pack:
        tokens = batches.pack(tokens, config.arch.max_length, tokenizer.cls_id, tokenizer.sep_id)
    held = validation_set(config, subset, data_dir, tokenizer, cache_dir, show)
    validation = None if held is None else Validation(held[0], tokenizer, tokens, config.arch)

    torch.manual_seed(train.seed)  # the initial weights
    model = BertForMaskedLM(config.arch).to(runtime.device)
    if config.dropout is not None:
        set_dropout(model, config.dropout)  # the saved config keeps the architecture's
    objective = MaskedLanguageModelling(
        model, tokens, tokenizer, config, validation=validation, run=run, runtime=runtime
    )
    trainer = Trainer.over(objective.plan, model, train, runtime, compile_model=config.impl.compile)
    total = trainer.total_steps
    objective.prepare(total)
    resolved = {"job": "pretrain", **config.to_dict(), "ws": subset.ws}
    resolved["impl"]["precision"] = runtime.precision
    final_loss = trainer.fit(objective, run, resolved, progress=progress)

    summary = {
        "job": "pretrain",
        "steps": total,
        "final_loss": final_loss,
        "ws": subset.ws,
        "seed": train.seed,
        "arch": config.arch.to_dict(),
        "tokens": tokens.num_tokens,  # of the corpus subset (one epoch)
        "tokens_read": int(objective.tokens_read[-1]) if total else 0,
        "val_corpus": None if held is None else held[1],  # what the validation loss scores
        **_validation_summary(objective, validation),
    }
    if runtime.is_main:
        model.save_pretrained(run.path / "model")
        save_vocabulary(tokenizer, run.path / "model")
        run.write_summary(summary)
    return summary


def _validation_summary(objective: MaskedLanguageModelling, validation) -> dict:
    """The last validation's figures, the unigram plateau's level, every validation, and the
    snapshots kept (with their validation figures)."""
    if validation is None or not objective.scores:
        return {"val_loss": None, "val_accuracy": None, "plateau": None}
    last = objective.scores[-1]
    snapshots = {score["step"]: score for score in objective.scores}
    return {
        "val_loss": last["val_loss"],
        "val_accuracy": last["val_accuracy"],
        "plateau_loss": validation.plateau_loss,
        "plateau": last["plateau"],
        "validation": objective.scores,
        "snapshots": [
            {"tokens": tokens, **snapshots[step]}
            for step, tokens in sorted(objective.snapshot_steps.items())
        ],
    }
