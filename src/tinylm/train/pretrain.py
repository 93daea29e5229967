"""MLM pre-training on a corpus subset.

One step: the global batch of step s (a pure function of seed and s), padded to its longest
sequence; masks from a generator seeded by (seed, s); dropout seeded by (seed, s); the
learning rate a pure function of s. A resumed run therefore repeats nothing and ends with the
same weights as an uninterrupted one. Under torchrun each rank takes every world_size-th
example of the global batch, and the loss is weighted by each rank's share of the masked
tokens, so N processes compute the same update as one process with the same global batch.
"""

from pathlib import Path

import torch
from tqdm import tqdm

from tinylm.config import PretrainConfig
from tinylm.data.corpus import load_subset
from tinylm.errors import ConfigError
from tinylm.model.accounting import training_flops_per_token
from tinylm.model.bert import IGNORE_INDEX, BertForMaskedLM
from tinylm.tokenizer import load_tokenizer
from tinylm.train import batches
from tinylm.train.checkpoint import load_checkpoint, save_checkpoint, stop_if_not_finite
from tinylm.train.masking import mask_tokens
from tinylm.train.run import RunDir
from tinylm.train.runtime import (
    Meter,
    all_reduce_sum,
    apply_gradients,
    build_optimizer,
    matmul_peak_flops,
    setup_runtime,
    start_step,
    step_generator,
    training_forward,
)


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
    special = torch.tensor([tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id])

    torch.manual_seed(train.seed)  # the initial weights
    model = BertForMaskedLM(config.arch).to(runtime.device)
    optimizer = build_optimizer(model, train, runtime.device)
    plan = batches.BatchPlan(tokens.lengths, train.batch_size, train.seed, train.group_by_length)
    per_epoch, total = batches.schedule_length(
        len(tokens), train.batch_size, train.epochs, train.max_steps
    )

    start, loss_value = 0, float("nan")
    if run.latest_checkpoint is not None:
        state = load_checkpoint(run.latest_checkpoint, model, optimizer)
        start, loss_value = state["step"], state.get("loss", float("nan"))
        run.truncate_log(start)
    run.write_config({"job": "pretrain", **config.to_dict(), "ws": subset.ws})

    forward = training_forward(model, runtime, config.impl.compile)
    peak = matmul_peak_flops(runtime.device.type, str(runtime.dtype).removeprefix("torch."))

    bar = tqdm(
        total=total,
        initial=start,
        desc="pretrain",
        unit="step",
        disable=not (progress and runtime.is_main),
    )
    meter = Meter(peak * runtime.world_size)
    model.train()
    for step in range(start, total):
        # The global batch is padded and masked whole, then each rank keeps its rows: padding
        # and masks are then the same under any number of processes.
        indices = plan.indices(step)
        ids, mask = batches.pad([tokens[i] for i in indices], tokenizer.pad_id)
        inputs, labels = mask_tokens(
            ids,
            mask,
            special_ids=special,
            mask_id=tokenizer.mask_id,
            vocab_size=config.arch.vocab_size,
            rate=config.mask_rate,
            generator=step_generator(train.seed, step),
        )
        rows = slice(runtime.rank, None, runtime.world_size)
        ids, mask, inputs, labels = ids[rows], mask[rows], inputs[rows], labels[rows]
        lr = start_step(optimizer, train, step, total, per_epoch, runtime.rank)

        masked = (labels != IGNORE_INDEX).sum().float()
        global_masked = all_reduce_sum(masked.clone(), runtime)
        with runtime.autocast():
            output = forward(
                *(t.to(runtime.device) for t in (inputs, mask)), labels=labels.to(runtime.device)
            )
        # Each rank's mean loss, weighted by its share of the global batch's masked tokens:
        # the gradients DDP averages are then those of the global mean.
        share = (masked * runtime.world_size / global_masked).to(output.loss.device)
        (output.loss * share).backward()
        apply_gradients(model, optimizer, train.grad_clip)

        weighted = output.loss.detach().float().cpu() * masked
        loss_value = float(all_reduce_sum(weighted, runtime) / global_masked)
        stop_if_not_finite(loss_value, step + 1, run.path, "pre-training")
        real = int(mask.sum()) * runtime.world_size
        share_predicted = float(global_masked) / max(1, real)
        flops = real * training_flops_per_token(config.arch, ids.shape[1], share_predicted)
        meter.add(real, flops, loss_value)
        done = step + 1
        if done % train.log_every == 0 or done == total:
            record = {"step": done, "epoch": step // per_epoch, "lr": lr, **meter.report()}
            run.log(record)
            bar.set_postfix(
                loss=f"{record['loss']:.3f}",
                tok_s=f"{record['tokens_per_s']:,.0f}",
                mfu=f"{record['mfu']:.1%}",
            )
        bar.update(1)
        checkpoint_due = (
            done % per_epoch == 0
            or done == total
            or (train.save_every is not None and done % train.save_every == 0)
        )
        if runtime.is_main and checkpoint_due:
            save_checkpoint(
                run.path, done, model, optimizer, {"job": "pretrain", "loss": loss_value}
            )
    bar.close()

    summary = {
        "job": "pretrain",
        "steps": total,
        "final_loss": loss_value,
        "ws": subset.ws,
        "seed": train.seed,
        "arch": config.arch.to_dict(),
        "tokens": tokens.num_tokens,
    }
    if runtime.is_main:
        model.save_pretrained(run.path / "model")
        run.write_summary(summary)
    return summary
