"""The training loop, written once. Pre-training and fine-tuning are objectives plugged in.

`Trainer.step` is the one optimizer step of tinylm: everything that trains calls it, and so do
`tinylm bench` and the study's `--dry-run` timing, so they time the step that trains. Under
torchrun each rank keeps every world_size-th row of the global batch and weights its mean loss
by its share of the batch's loss terms (masked tokens, or examples), so N processes compute
the update of one process on the same global batch. The learning rate and the dropout masks
are functions of (seed, step): a resumed run repeats nothing and ends with the weights of an
uninterrupted one.

`Trainer.fit` runs the steps of a run folder: resume from its latest checkpoint, log
(metrics.jsonl and the progress bar), checkpoint, stop on a non-finite loss. An `Objective`
says what differs between pre-training and fine-tuning: how step s's global batch is made, what
an epoch's end adds (validation), and what a checkpoint keeps besides the weights.
"""

import math
import sys
from dataclasses import dataclass

import torch
from tqdm import tqdm

from tinylm.config import ImplConfig, TrainConfig
from tinylm.errors import ConfigError
from tinylm.model.accounting import training_flops_per_token
from tinylm.model.bert import IGNORE_INDEX, BertForMaskedLM
from tinylm.train.batches import BatchPlan
from tinylm.train.checkpoint import load_checkpoint, save_checkpoint, stop_if_not_finite
from tinylm.train.run import RunDir
from tinylm.train.runtime import (
    Meter,
    Runtime,
    all_reduce_sum,
    apply_gradients,
    build_optimizer,
    matmul_peak_flops,
    setup_runtime,
    start_step,
    training_forward,
)


@dataclass(frozen=True)
class Batch:
    """One step's global batch, before it is split across ranks: the model's inputs (token ids,
    masked for MLM), the attention mask, and the labels (IGNORE_INDEX where nothing is
    predicted)."""

    inputs: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor


@dataclass(frozen=True)
class StepResult:
    loss: float  # the global batch's mean loss
    lr: float
    tokens: int  # real (not padding) tokens of the global batch
    flops: float  # model FLOPs of the step (forward and backward)


class Objective:
    """What a kind of training adds to the loop (pre-training, fine-tuning)."""

    job = "train"  # written in checkpoints and summaries
    activity = "training"  # for messages: "pre-training stopped at step ..."
    description = "train"  # the progress bar's label

    def batch(self, step: int) -> Batch:
        raise NotImplementedError

    def after_step(self, done: int, epoch_end: bool) -> dict:
        """Called after each step (`done` steps are complete): figures to log now (validation,
        say), which also make the trainer log a record at this step."""
        return {}

    def state(self) -> dict:
        """What a checkpoint keeps besides the weights and the optimizer (JSON values)."""
        return {}

    def restore(self, state: dict, run: RunDir) -> None:
        """The inverse of `state`, on resume."""


class Trainer:
    def __init__(
        self,
        model: torch.nn.Module,
        train: TrainConfig,
        runtime: Runtime,
        *,
        steps_per_epoch: int,
        total_steps: int,
        compile_model: bool = False,
    ):
        self.model, self.train, self.runtime = model, train, runtime
        self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
        self.optimizer = build_optimizer(model, train, runtime.device)
        self.forward = training_forward(model, runtime, compile_model)
        # the FLOPs of a masked LM include its vocabulary projection at the predicted tokens
        self.predicts_vocabulary = isinstance(model, BertForMaskedLM)
        self.loss = math.nan  # the last step's

    @classmethod
    def over(cls, plan: BatchPlan, model, train: TrainConfig, runtime: Runtime, **options):
        """A trainer for the batches of `plan`: `train.epochs` epochs, or as many steps as
        read `train.max_tokens` tokens (a budget), at most `train.max_steps`."""
        if plan.ramp_steps and plan.ramp_start < runtime.world_size:
            raise ConfigError(
                "batch_ramp_start",
                f"{plan.ramp_start} leaves a rank without examples at world size "
                f"{runtime.world_size}",
            )
        total = plan.per_epoch * train.epochs
        if train.max_tokens is not None:
            total = plan.steps_to_read(train.max_tokens)
        if train.max_steps is not None:
            total = min(total, train.max_steps)
        return cls(
            model, train, runtime, steps_per_epoch=plan.per_epoch, total_steps=total, **options
        )

    def step(self, step: int, batch: Batch) -> StepResult:
        """One optimizer step on the global batch of step `step`."""
        runtime, device = self.runtime, self.runtime.device
        rows = slice(runtime.rank, None, runtime.world_size)
        inputs, mask, labels = batch.inputs[rows], batch.mask[rows], batch.labels[rows]
        lr = start_step(
            self.optimizer, self.train, step, self.total_steps, self.steps_per_epoch, runtime.rank
        )
        self.model.train()
        terms = (labels != IGNORE_INDEX).sum().float()  # masked tokens, or examples
        global_terms = all_reduce_sum(terms.clone(), runtime)
        with runtime.autocast():
            output = self.forward(inputs.to(device), mask.to(device), labels=labels.to(device))
        # Each rank's mean loss, weighted by its share of the global batch's loss terms: the
        # gradients DDP averages are then those of the global mean.
        share = (terms * runtime.world_size / global_terms).to(output.loss.device)
        (output.loss * share).backward()
        apply_gradients(self.model, self.optimizer, self.train.grad_clip)

        weighted = output.loss.detach().float().cpu() * terms
        self.loss = float(all_reduce_sum(weighted, runtime) / global_terms)
        tokens = int(mask.sum()) * runtime.world_size
        predicted = float(global_terms) / max(1, tokens) if self.predicts_vocabulary else 0.0
        flops = tokens * training_flops_per_token(self.model.config, inputs.shape[1], predicted)
        return StepResult(self.loss, lr, tokens, flops)

    def fit(self, objective: Objective, run: RunDir, config: dict, *, progress: bool) -> float:
        """Runs the remaining steps in `run` (resuming from its latest checkpoint) and writes
        `config` (the resolved run config) as config.yaml once the resume is accepted. Returns
        the last step's loss. A record is logged every `log_every` steps, at each epoch's end,
        and whenever the objective has figures to add."""
        start = 0
        if run.latest_checkpoint is not None:
            state = load_checkpoint(run.latest_checkpoint, self.model, self.optimizer)
            start, self.loss = state["step"], state.get("loss", math.nan)
            objective.restore(state, run)
        run.write_config(config)
        run.open_log(start)
        try:
            self._steps(objective, run, start, progress)
        finally:
            run.close_log()  # what was logged reaches TensorBoard, also when a step fails
        return self.loss

    def _steps(self, objective: Objective, run: RunDir, start: int, progress: bool) -> None:
        runtime, train = self.runtime, self.train
        peak = matmul_peak_flops(str(runtime.device), runtime.precision)
        meter = Meter(peak * runtime.world_size)
        show = progress and runtime.is_main
        bar = tqdm(
            total=self.total_steps,
            initial=start,
            desc=objective.description,
            unit="step",
            disable=not show,
        )
        if show and runtime.precision_note:
            bar.write(runtime.precision_note, file=sys.stderr)  # stdout: the command's output
        for step in range(start, self.total_steps):
            result = self.step(step, objective.batch(step))
            done = step + 1
            stop_if_not_finite(result.loss, done, run.path, objective.activity)
            meter.add(result.tokens, result.flops, result.loss)
            bar.update(1)
            epoch_end = done % self.steps_per_epoch == 0 or done == self.total_steps
            figures = objective.after_step(done, epoch_end)
            if epoch_end or figures or done % train.log_every == 0:
                record = {"step": done, "epoch": step // self.steps_per_epoch, "lr": result.lr}
                record |= meter.report() | figures
                run.log(record)
                bar.set_postfix(_postfix(record))
            saving = epoch_end or (train.save_every is not None and done % train.save_every == 0)
            if runtime.is_main and saving and runtime.checkpoints:
                extra = {"job": objective.job, "loss": self.loss, **objective.state()}
                save_checkpoint(run.path, done, self.model, self.optimizer, extra)
        bar.close()


def open_run(impl: ImplConfig, out, resume: bool) -> tuple[Runtime, RunDir]:
    """The runtime, and the run folder (locked; only the main process writes)."""
    runtime = setup_runtime(impl)
    run = RunDir(out, resume=resume, writer=runtime.is_main, tensorboard=impl.tensorboard)
    return runtime, run


def _postfix(record: dict) -> dict:
    shown = {"loss": f"{record['loss']:.3f}"}
    if "val_loss" in record:
        shown["val_loss"] = f"{record['val_loss']:.3f}"
    if "val_accuracy" in record:
        shown["val"] = f"{record['val_accuracy']:.3f}"
    if record.get("plateau"):
        shown["note"] = "on the unigram plateau"
    return shown | {"tok_s": f"{record['tokens_per_s']:,.0f}", "mfu": f"{record['mfu']:.1%}"}
