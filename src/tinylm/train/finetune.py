"""Fine-tuning a classifier on a task sample, from a pre-trained model or from scratch.

The classifier's encoder starts from the pre-trained masked LM (`init`), or at random with the
same architecture (`init=None`, the "scratch" arm of the pre-training gap); the pooler and the
head always start at random, as in the paper. After each epoch the validation split (carved
from the train sample) is scored; the reported test accuracy is that of the epoch chosen on
validation (`select="val"`, the default) or of the last epoch (`select="last"`, the paper's
way). The test split is read once, at the end, unless `test_every_epoch` asks for the curve.
Batches, dropout and the learning rate are functions of (seed, step), as in pre-training, so a
resumed run ends where an uninterrupted one does.
"""

import copy
import shutil
from pathlib import Path

import torch
from tqdm import tqdm

from tinylm.config import FinetuneConfig
from tinylm.data import layout
from tinylm.data.sampling import sample_task, tokenize_sample
from tinylm.data.tasks import load_task
from tinylm.errors import ConfigError, TinylmError
from tinylm.model.accounting import training_flops_per_token
from tinylm.model.bert import BertForMaskedLM, BertForSequenceClassification, load_pretrained
from tinylm.tokenizer import load_tokenizer
from tinylm.train import batches
from tinylm.train.checkpoint import load_checkpoint, save_checkpoint, stop_if_not_finite
from tinylm.train.evaluation import evaluate
from tinylm.train.run import RunDir
from tinylm.train.runtime import (
    Meter,
    all_reduce_sum,
    apply_gradients,
    build_optimizer,
    matmul_peak_flops,
    setup_runtime,
    start_step,
    training_forward,
)


def _initial_model(config: FinetuneConfig, num_labels: int, label_names: list[str]):
    pretrained = None
    arch = config.arch
    if config.init is not None:
        pretrained = load_pretrained(config.init)
        if not isinstance(pretrained, BertForMaskedLM):
            raise TinylmError(f"{config.init} is not a pre-trained masked LM")
        if arch is not None and arch.to_dict() != pretrained.config.to_dict():
            raise ConfigError("arch", f"differs from the architecture of {config.init}")
        arch = pretrained.config
    torch.manual_seed(config.train.seed)  # the initial weights of the encoder, pooler and head
    model = BertForSequenceClassification(arch, num_labels, label_names)
    if pretrained is not None:
        model.load_encoder(pretrained)
    return model


def finetune(
    config: FinetuneConfig,
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
    task = load_task(config.task, data_dir)
    sample = sample_task(task, config.task)
    model = _initial_model(config, task.num_labels, task.label_names).to(runtime.device)
    arch = model.config
    tokenizer = load_tokenizer(data_dir, max_length=arch.max_length)
    tokens = tokenize_sample(sample, tokenizer, cache_dir, progress=progress and runtime.is_main)
    train_labels = torch.from_numpy(sample.train.labels)

    optimizer = build_optimizer(model, train, runtime.device)
    plan = batches.BatchPlan(
        tokens["train"].lengths, train.batch_size, train.seed, train.group_by_length
    )
    per_epoch, total = batches.schedule_length(
        len(sample.train), train.batch_size, train.epochs, train.max_steps
    )

    start, history, best = 0, [], {"epoch": None, "val_accuracy": -1.0}
    best_state = None
    if run.latest_checkpoint is not None:
        state = load_checkpoint(run.latest_checkpoint, model, optimizer)
        start, history, best = state["step"], state["history"], state["best"]
        if best["epoch"] is not None:
            best_state = load_pretrained(run.path / "best").state_dict()
        run.truncate_log(start)
    resolved = {**config.to_dict(), "arch": arch.to_dict(), "task": sample.config.to_dict()}
    run.write_config({"job": "finetune", **resolved})

    forward = training_forward(model, runtime, config.impl.compile)
    meter = Meter(matmul_peak_flops(runtime.device.type, str(runtime.dtype).removeprefix("torch.")))

    def score(split: str) -> dict:
        return evaluate(
            model,
            tokens[split],
            sample.split(split).labels,
            pad_id=tokenizer.pad_id,
            device=runtime.device,
            autocast=runtime.autocast,
        )

    bar = tqdm(
        total=total,
        initial=start,
        desc=f"finetune {task.name}",
        unit="step",
        disable=not (progress and runtime.is_main),
    )
    for step in range(start, total):
        model.train()
        indices = plan.indices(step)
        ids, mask = batches.pad([tokens["train"][i] for i in indices], tokenizer.pad_id)
        labels = train_labels[indices]
        rows = slice(runtime.rank, None, runtime.world_size)
        ids, mask, labels = ids[rows], mask[rows], labels[rows]
        lr = start_step(optimizer, train, step, total, per_epoch, runtime.rank)
        with runtime.autocast():
            output = forward(
                ids.to(runtime.device), mask.to(runtime.device), labels=labels.to(runtime.device)
            )
        # weight each rank's mean loss by its share of the global batch (as in pre-training)
        (output.loss * len(labels) * runtime.world_size / len(indices)).backward()
        apply_gradients(model, optimizer, train.grad_clip)
        loss = float(
            all_reduce_sum(output.loss.detach().float().cpu() * len(labels), runtime)
        ) / len(indices)
        stop_if_not_finite(loss, step + 1, run.path, "fine-tuning")
        real = int(mask.sum()) * runtime.world_size
        # the encoder's FLOPs (the classification head is negligible; no vocabulary projection)
        meter.add(real, real * training_flops_per_token(arch, ids.shape[1], 0.0), loss)
        bar.update(1)

        done = step + 1
        if done % per_epoch and done != total:
            continue
        epoch = step // per_epoch
        record = {"step": done, "epoch": epoch, "lr": lr, **meter.report()}
        if len(sample.val):
            record["val_accuracy"] = score("val")["accuracy"]
            if record["val_accuracy"] > best["val_accuracy"]:  # ties keep the earlier epoch
                best = {"epoch": epoch, "val_accuracy": record["val_accuracy"]}
                best_state = copy.deepcopy(model.state_dict())
                if runtime.is_main:
                    model.save_pretrained(run.path / "best")
        if config.test_every_epoch:
            record["test_accuracy"] = score("test")["accuracy"]
        history.append(record)
        run.log(record)
        shown = {"loss": f"{record['loss']:.3f}"}
        if "val_accuracy" in record:  # no validation split: nothing to show
            shown["val"] = f"{record['val_accuracy']:.3f}"
        shown |= {"tok_s": f"{record['tokens_per_s']:,.0f}", "mfu": f"{record['mfu']:.1%}"}
        bar.set_postfix(shown)
        if runtime.is_main:
            save_checkpoint(
                run.path,
                done,
                model,
                optimizer,
                {"job": "finetune", "history": history, "best": best},
            )
    bar.close()

    if config.select == "val" and best_state is not None:
        model.load_state_dict(best_state)
        selected, val_accuracy = best["epoch"], best["val_accuracy"]
    else:
        selected = history[-1]["epoch"] if history else None
        val_accuracy = history[-1].get("val_accuracy") if history else None
    test = score("test")
    summary = {
        "job": "finetune",
        "task": task.name,
        "num_labels": task.num_labels,
        "label_names": task.label_names,
        "test_accuracy": test["accuracy"],
        "test_macro_f1": test["macro_f1"],
        "val_accuracy": val_accuracy,
        "selected_epoch": selected,
        "select": config.select,
        "seed": train.seed,
        "init": config.init or "scratch",
        "steps": total,
        "epochs": train.epochs,
        "sizes": {name: len(sample.split(name)) for name in ("train", "val", "test")},
        "notices": task.notices,
    }
    if runtime.is_main:
        model.save_pretrained(run.path / "model")
        vocab = Path(data_dir) / layout.VOCAB if data_dir is not None else None
        if vocab is not None and vocab.is_file():  # the model ships with its tokenizer
            shutil.copyfile(vocab, run.path / "model" / "vocab.txt")
        run.write_summary(summary)
    return summary
