"""Fine-tuning a classifier on a task sample, from a pre-trained model or from scratch.

The classifier's encoder starts from the pre-trained masked LM (`init`), or at random with the
same architecture (`init=None`, the "scratch" arm of the pre-training gap); the pooler and the
head always start at random, as in the paper. After each epoch the validation split (carved
from the train sample) is scored; the reported test accuracy is that of the epoch chosen on
validation (`select="val"`, the default) or of the last epoch (`select="last"`, the paper's
way). The test split is read once, at the end, unless `test_every_epoch` asks for the curve,
or never (`score_test=False`: a run that selects settings reads validation only); each read is
a line of the store's test ledger (tinylm/ledger.py).
The training loop is the trainer's (train/trainer.py); this module supplies the batches and
the epoch's end (validation, the best epoch's weights). Scores are computed in fp32 whatever
the training precision (train/evaluation.py).
"""

import copy
from pathlib import Path

import torch

from tinylm.data.corpus import TASK_PREFIX, task_texts
from tinylm.data.io import read_yaml
from tinylm.data.sampling import TaskSample, sample_task, tokenize_sample
from tinylm.data.tasks import TaskData, load_task
from tinylm.errors import ConfigError, TinylmError
from tinylm.ledger import record_read
from tinylm.model.bert import (
    BertForMaskedLM,
    BertForSequenceClassification,
    load_pretrained,
    model_folder,
)
from tinylm.tokenizer import Tokenizer, load_tokenizer, save_vocabulary, tokenizer_for_model
from tinylm.train import batches
from tinylm.train.config import FinetuneConfig, with_vocabulary
from tinylm.train.evaluation import evaluate
from tinylm.train.run import RunDir
from tinylm.train.runtime import Runtime
from tinylm.train.trainer import Batch, Objective, Trainer, open_run


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
    model = BertForSequenceClassification(arch, num_labels, label_names, config.pooling)
    if pretrained is not None:
        model.load_encoder(pretrained, config.reinit_layers)
    return model


def _init_tokenizer(init: str, arch, data_dir) -> Tokenizer:
    """The pre-trained model's own tokenizer: the vocab.txt beside its weights (else the data
    directory's bert-base-uncased one), which must fit the model's vocabulary size."""
    folder = model_folder(init)
    tokenizer = tokenizer_for_model(folder, data_dir, max_length=arch.max_length)
    if tokenizer.vocab_size != arch.vocab_size:
        raise TinylmError(
            f"the model in {folder} expects {arch.vocab_size:,} tokens but its vocabulary has "
            f"{tokenizer.vocab_size:,}"
        )
    return tokenizer


def _pretraining_corpora(init: str) -> list[str]:
    """The corpora the model in `init` was pre-trained on (its corpus and a mixed-in one),
    from its run's config.yaml (a run folder, its model/, or a snapshot inside it); none when
    no pre-training record is found."""
    folder = Path(init).resolve()
    for run in (folder, *folder.parents[:3]):
        config = run / "config.yaml"
        if (run / "summary.json").is_file() and config.is_file():
            values = read_yaml(config) or {}
            corpus = (values.get("corpus") or {}) if values.get("job") == "pretrain" else {}
            return [name for name in (corpus.get("name"), corpus.get("mix")) if name]
    return []


def _refuse_test_text_in_pretraining(config: FinetuneConfig, sample: TaskSample, data_dir) -> None:
    """A model pre-trained on this task's own texts (`task:NAME`, alone or mixed in) must not
    have read a text of this test sample: a later seed or a larger sample of a one-pool task
    can draw one."""
    own = TASK_PREFIX + config.task.name
    if config.init is None or own not in _pretraining_corpora(config.init):
        return
    read = set(task_texts(own, data_dir))
    shared = sum(text in read for text in sample.test.texts)
    if shared:
        raise TinylmError(
            f"{config.init} was pre-trained on {own}, which holds {shared} text(s) of this "
            f"test sample (seed {sample.config.seed}): its score would not be a test; use a "
            "sample seed below 5 at the presets' sizes, or pre-train on another corpus"
        )


class Classification(Objective):
    """Batches of the train sample; at each epoch's end the validation score, and the weights
    of the best epoch so far (kept in memory and in `best/` with its vocabulary, for a resume)."""

    job, activity = "finetune", "fine-tuning"

    def __init__(
        self,
        model,
        sample: TaskSample,
        tokens: dict,
        *,
        tokenizer: Tokenizer,
        config: FinetuneConfig,
        runtime: Runtime,
        run: RunDir,
    ):
        self.model, self.sample, self.tokens, self.config = model, sample, tokens, config
        self.tokenizer, self.pad_id = tokenizer, tokenizer.pad_id
        self.runtime, self.run_path = runtime, run.path
        self.description = f"finetune {sample.task.name}"
        self.plan = batches.BatchPlan.of(tokens["train"].lengths, config.train)
        self.labels = torch.from_numpy(sample.train.labels)
        self.history: list[dict] = []
        self.best = {"epoch": None, "val_accuracy": -1.0}
        self.best_state = None

    def batch(self, step: int) -> Batch:
        indices = self.plan.indices(step)
        ids, mask = batches.pad([self.tokens["train"][i] for i in indices], self.pad_id)
        return Batch(ids, mask, self.labels[indices])

    def score(self, split: str, **details) -> dict:
        """The model's figures on a split; a test read goes in the ledger (`details`: the
        epoch of a per-epoch read)."""
        figures = evaluate(
            self.model,
            self.tokens[split],
            self.sample.split(split).labels,
            pad_id=self.pad_id,
            device=self.runtime.device,
        )
        if split == "test" and self.runtime.is_main:
            record_read(self.run_path, self.sample, "finetune", **details)
        return figures

    def after_step(self, done: int, epoch_end: bool) -> dict:
        if not epoch_end:
            return {}
        epoch = (done - 1) // self.plan.per_epoch
        figures = {}
        if len(self.sample.val):
            figures["val_accuracy"] = self.score("val")["accuracy"]
            if figures["val_accuracy"] > self.best["val_accuracy"]:  # ties keep the earlier epoch
                self.best = {"epoch": epoch, "val_accuracy": figures["val_accuracy"]}
                self.best_state = copy.deepcopy(self.model.state_dict())
                if self.runtime.is_main:
                    self.model.save_pretrained(self.run_path / "best")
                    save_vocabulary(self.tokenizer, self.run_path / "best")
        if self.config.test_every_epoch:
            figures["test_accuracy"] = self.score("test", epoch=epoch)["accuracy"]
        self.history.append({"step": done, "epoch": epoch, **figures})
        return figures

    def state(self) -> dict:
        return {"history": self.history, "best": self.best}

    def restore(self, state: dict, run: RunDir) -> None:
        self.history, self.best = state["history"], state["best"]
        if self.best["epoch"] is not None:
            self.best_state = load_pretrained(run.path / "best").state_dict()

    def selected(self) -> tuple[int | None, float | None]:
        """(the reported epoch, its validation accuracy); loads the best epoch's weights when
        selecting on validation."""
        if self.config.select == "val" and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
            return self.best["epoch"], self.best["val_accuracy"]
        if not self.history:
            return None, None
        return self.history[-1]["epoch"], self.history[-1].get("val_accuracy")


def finetune(
    config: FinetuneConfig,
    *,
    out: str | Path,
    data_dir,
    cache_dir: Path,
    resume: bool = False,
    progress: bool = True,
    task: TaskData | None = None,
) -> dict:
    """Fine-tunes into the run folder `out` and returns its summary. `task`: labelled pools
    already in memory (the Python API's texts and labels), sampled by `config.task` in place
    of the task it names."""
    runtime, run = open_run(config.impl, out, resume)
    if task is None:
        task = load_task(config.task, data_dir)
    sample = sample_task(task, config.task)
    _refuse_test_text_in_pretraining(config, sample, data_dir)
    if config.init is None:  # the run's vocabulary (bert-base's when None) sizes the model
        max_length = config.arch.max_length
        tokenizer = load_tokenizer(data_dir, vocab_file=config.vocab, max_length=max_length)
        config = with_vocabulary(config, tokenizer)
    model = _initial_model(config, sample.num_labels, sample.label_names).to(runtime.device)
    arch = model.config
    if config.init is not None:
        tokenizer = _init_tokenizer(config.init, arch, data_dir)
    tokens = tokenize_sample(sample, tokenizer, cache_dir, progress=progress and runtime.is_main)
    objective = Classification(
        model, sample, tokens, tokenizer=tokenizer, config=config, runtime=runtime, run=run
    )
    trainer = Trainer.over(
        objective.plan, model, config.train, runtime, compile_model=config.impl.compile
    )
    total = trainer.total_steps
    resolved = {**config.to_dict(), "arch": arch.to_dict(), "task": sample.config.to_dict()}
    resolved["impl"]["precision"] = runtime.precision
    trainer.fit(objective, run, {"job": "finetune", **resolved}, progress=progress)

    selected, val_accuracy = objective.selected()
    test = {"accuracy": None, "macro_f1": None}  # score_test=False: no test figure
    if config.score_test:
        test = objective.score("test")
    summary = {
        "job": "finetune",
        "task": task.name,
        "num_labels": sample.num_labels,
        "label_names": sample.label_names,
        "test_accuracy": test["accuracy"],
        "test_macro_f1": test["macro_f1"],
        "val_accuracy": val_accuracy,
        "selected_epoch": selected,
        "select": config.select,
        "seed": config.train.seed,
        "init": config.init or "scratch",
        "steps": total,
        "epochs": config.train.epochs,
        "sizes": {name: len(sample.split(name)) for name in ("train", "val", "test")},
        "notices": task.notices,
    }
    if runtime.is_main:
        model.save_pretrained(run.path / "model")
        save_vocabulary(tokenizer, run.path / "model")  # the model ships with its tokenizer
        run.write_summary(summary)
    return summary
