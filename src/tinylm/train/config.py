"""The run configs: everything that determines a pre-trained model (PretrainConfig) or a
fine-tuned classifier (FinetuneConfig), built from the sections of tinylm/config.py. Each is
written to its run's config.yaml; its fields are the flags of `tinylm pretrain` and
`tinylm finetune` (cli/options.py). `arch` takes a named architecture or a mapping of fields
(model/architectures.py).
"""

import dataclasses
from collections.abc import Mapping
from typing import Any, Self

from tinylm.config import (
    KEYED_WHEN_SET,
    MASK_RATE,
    POOLINGS,
    PRETRAIN_WARMUP_EPOCHS,
    SELECT,
    VAL_FRACTION,
    Config,
    CorpusConfig,
    ImplConfig,
    ModelConfig,
    TaskConfig,
    TrainConfig,
)
from tinylm.errors import ConfigError
from tinylm.model.architectures import resolve_architecture

PAPER_TRAIN = {
    "lr": 5e-5,
    "weight_decay": 0.01,
    "batch_size": 32,
    "schedule": "paper",
    "epochs": 50,
}
# Named recipes: the training defaults of `tinylm pretrain` and `finetune` (`--recipe NAME`).
# - tinylm: what leaves the unigram plateau and fine-tunes well in the few thousand steps a
#   CPU affords; each value chosen on validation (docs/recipe.md).
# - paper: the paper's GPU settings (reference-procedure.md); on a CPU's budget of steps a
#   model pre-trained at lr 5e-5 learns nothing.
RECIPES = {
    "tinylm": {
        # the CPU twin of the paper's BERT-1 with its conv front-end: the one that leaves the
        # plateau at CPU budgets (docs/recipe.md, stage 3)
        "arch": "bert1-c2-k3-d16-a3",
        # batch 16 with 30% of the tokens masked: 0.36 nats below batch 32 with 15% at 8M
        # tokens, and the first positive validation gaps (docs/recipe.md, stage 7)
        "pretrain": {
            "lr": 1e-3,
            "warmup_fraction": 0.05,
            "schedule": "linear",
            "batch_size": 16,
            "mask_rate": 0.3,
        },
        # the classifier pools the tokens' mean: with [CLS] some scratch seeds never generalise
        # (docs/recipe.md, stage 6); `--pooling cls` is BERT's head, the one `--hf` exports.
        # Each arm at the rate it scores best at on validation (stage 7): a pre-trained model
        # at 3e-3, a model from scratch (`finetune_scratch` laid over `finetune`) at 1e-3.
        "finetune": {"lr": 3e-3, "batch_size": 16, "epochs": 20, "pooling": "mean"},
        "finetune_scratch": {"lr": 1e-3},
    },
    "paper": {
        "arch": "bert6",
        "pretrain": {**PAPER_TRAIN, "warmup_epochs": PRETRAIN_WARMUP_EPOCHS},
        "finetune": PAPER_TRAIN,
    },
}
DEFAULT_RECIPE = "tinylm"
# The run-config fields besides `train` that a recipe's (or a preset's) section may set
PRETRAIN_FIELDS = ("mask_rate", "mask_span", "dropout", "pack")
FINETUNE_FIELDS = ("pooling",)
RECIPE_FIELDS = {"pretrain": PRETRAIN_FIELDS, "finetune": FINETUNE_FIELDS}


def split_fields(values: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[dict, dict]:
    """`values` without `keys` (a section's TrainConfig part), and with only them."""
    return (
        {k: v for k, v in values.items() if k not in keys},
        {k: v for k, v in values.items() if k in keys},
    )


def recipe_section(recipe: str, part: str, scratch: bool = False) -> tuple[dict, dict]:
    """A recipe's `part` (pretrain or finetune; `scratch`: with its finetune_scratch changes)
    split into its TrainConfig fields and its run-config fields (RECIPE_FIELDS)."""
    values = RECIPES[recipe][part]
    if scratch:
        values = {**values, **RECIPES[recipe].get("finetune_scratch", {})}
    return split_fields(values, RECIPE_FIELDS[part])


def recipe_train(recipe: str, part: str) -> TrainConfig:
    """A recipe's TrainConfig for `part` (pretrain or finetune), without its other fields."""
    return TrainConfig.from_dict(recipe_section(recipe, part)[0])


def with_recipe(values: Mapping[str, Any], recipe: str, part: str) -> dict[str, Any]:
    """A run config's mapping laid over a recipe's `train` section (`part`: pretrain or
    finetune) and, for pre-training, its architecture."""
    if recipe not in RECIPES:
        raise ConfigError("recipe", f"unknown {recipe!r}; known: {', '.join(RECIPES)}")
    if part == "pretrain" and values.get("arch") is None:
        values = {**values, "arch": RECIPES[recipe]["arch"]}
    scratch = part == "finetune" and values.get("init") is None
    recipe_train_part, recipe_others = recipe_section(recipe, part, scratch)
    values = {**recipe_others, **values}  # the recipe's mask rate or pooling, unless the run's
    train = values.get("train") or {}
    if not isinstance(train, Mapping):  # a TrainConfig already, or a value from_dict refuses
        return dict(values)
    defaults = TrainConfig.from_dict(recipe_train_part)
    try:
        train = TrainConfig.from_dict(train, base=defaults)
    except ConfigError as err:
        raise ConfigError(f"train.{err.field}", err.reason) from None
    return {**values, "train": train}


@dataclasses.dataclass
class PretrainConfig(Config):
    """Everything that determines a pre-trained model (written to config.yaml)."""

    arch: ModelConfig = dataclasses.field(  # the tinylm recipe's (RECIPES)
        default_factory=lambda: resolve_architecture(RECIPES[DEFAULT_RECIPE]["arch"]),
        metadata={"resolve": resolve_architecture},
    )
    corpus: CorpusConfig = dataclasses.field(default_factory=CorpusConfig)
    train: TrainConfig = dataclasses.field(  # the tinylm recipe's (RECIPES)
        default_factory=lambda: recipe_train(DEFAULT_RECIPE, "pretrain")
    )
    impl: ImplConfig = dataclasses.field(default_factory=ImplConfig)
    # share of the non-special tokens masked and predicted: BERT's 15% as the field's default
    # (a job key holds it either way); the tinylm recipe, and so `tinylm pretrain`, masks 30%
    mask_rate: float = MASK_RATE
    pack: bool = False  # join paragraphs into full sequences of arch.max_length tokens
    # mean length of the masked spans (train/masking.py): 1 masks single tokens (BERT's); 3
    # masks runs of tokens, as SpanBERT and LTG-BERT do
    mask_span: float = dataclasses.field(default=1.0, metadata=KEYED_WHEN_SET)
    # dropout while pre-training (hidden and attention); None: the architecture's. The saved
    # model keeps the architecture's dropout, which fine-tuning then uses.
    dropout: float | None = None
    # a vocab.txt (`tinylm vocab build`); None: bert-base-uncased's, from the data directory.
    # The architecture's vocab_size follows the vocabulary, which the model keeps beside it.
    vocab: str | None = dataclasses.field(
        default=None, metadata={**KEYED_WHEN_SET, "metavar": "FILE"}
    )
    # Measurement only (never changes the weights, so never part of a study job's key):
    val_paragraphs: int = dataclasses.field(
        default=1000,
        metadata={
            "measures": True,
            "help": "held-out paragraphs scored for the validation MLM loss and accuracy "
            "(0: none; train/validation.py)",
        },
    )
    val_every: int | None = dataclasses.field(
        default=None,
        metadata={
            "measures": True,
            "help": "steps between validations (default: at each epoch's end and the end)",
        },
    )
    snapshots: tuple[int, ...] = dataclasses.field(
        default=(),
        metadata={
            "measures": True,
            "help": "tokens read at which to keep a copy of the model (snapshots/tokens-N/; "
            "the budget study)",
        },
    )

    def validate(self):
        if not 0 < self.mask_rate < 1:
            raise ConfigError("mask_rate", f"must be in (0, 1), got {self.mask_rate}")
        if not 1 <= self.mask_span <= 10:
            raise ConfigError("mask_span", f"must be in [1, 10], got {self.mask_span}")
        if self.arch.causal and self.mask_span != 1:
            raise ConfigError(
                "mask_span", "a causal model predicts every next token: nothing is masked"
            )
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ConfigError("dropout", f"must be in [0, 1), got {self.dropout}")
        if self.val_paragraphs < 0:
            raise ConfigError("val_paragraphs", f"must be 0 or more, got {self.val_paragraphs}")
        if self.val_every is not None and self.val_every <= 0:
            raise ConfigError("val_every", f"must be positive, got {self.val_every}")
        self.snapshots = tuple(sorted(set(self.snapshots)))
        if self.snapshots and self.snapshots[0] <= 0:
            raise ConfigError("snapshots", f"token counts must be positive, got {self.snapshots}")


@dataclasses.dataclass
class FinetuneConfig(Config):
    """Everything that determines a fine-tuned classifier (written to config.yaml)."""

    task: TaskConfig = dataclasses.field(
        default_factory=lambda: TaskConfig(val_fraction=VAL_FRACTION)
    )
    # None with `init`: the pre-trained model's architecture
    arch: ModelConfig | None = dataclasses.field(
        default=None, metadata={"resolve": resolve_architecture}
    )
    train: TrainConfig = dataclasses.field(  # the tinylm recipe's (RECIPES)
        default_factory=lambda: recipe_train(DEFAULT_RECIPE, "finetune")
    )
    impl: ImplConfig = dataclasses.field(default_factory=ImplConfig)
    init: str | None = None  # a pre-training run (or its model/ folder); None: from scratch
    # with `init`: the top N transformer layers start at random, not from the pre-training
    reinit_layers: int = dataclasses.field(default=0, metadata={**KEYED_WHEN_SET, "metavar": "N"})
    # from scratch: a vocab.txt (`tinylm vocab build`; None: bert-base-uncased's); with `init`,
    # the pre-trained model's own vocabulary is used and this must be None
    vocab: str | None = dataclasses.field(
        default=None, metadata={**KEYED_WHEN_SET, "metavar": "FILE"}
    )
    # the reported test accuracy: the best validation epoch's (val) or the last epoch's
    select: str = dataclasses.field(default="val", metadata={"choices": SELECT})
    # also score the test split after every epoch (a curve; never for selection)
    test_every_epoch: bool = False
    # score the test split at the end; a run that selects settings turns it off and reads
    # validation only (its summary then holds no test figure)
    score_test: bool = dataclasses.field(default=True, metadata=KEYED_WHEN_SET)
    # cls, BERT's head, is the field's default (a job key omits it); the tinylm recipe, and so
    # `tinylm finetune` without flags, pools by the mean
    pooling: str = dataclasses.field(
        default="cls",
        metadata={
            **KEYED_WHEN_SET,
            "choices": POOLINGS,
            "help": "what the classifier reads: the [CLS] position (BERT's) or the mean of the "
            "tokens (model/bert.py, Pooler)",
        },
    )

    def validate(self):
        if self.select not in SELECT:
            raise ConfigError("select", f"expected val or last, got {self.select!r}")
        if self.init is None and self.arch is None:
            raise ConfigError("arch", "a model from scratch needs an architecture")
        if self.reinit_layers < 0:
            raise ConfigError("reinit_layers", f"must be non-negative, got {self.reinit_layers}")
        if self.reinit_layers and self.init is None:
            raise ConfigError("reinit_layers", "re-draws pre-trained layers: needs --init")
        if self.init is not None and self.vocab is not None:
            raise ConfigError("vocab", "a pre-trained model brings its own vocabulary (--init)")
        if self.test_every_epoch and not self.score_test:
            raise ConfigError("test_every_epoch", "reads the test split: needs score_test")
        if self.select == "val" and self.task.val_fraction == 0:
            raise ConfigError(
                "task.val_fraction", "selecting on validation needs a validation split"
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], base: Self | None = None) -> Self:
        """As Config.from_dict; a task sample given without its own seed is drawn with the
        training seed (seed s samples, initialises and trains: one seed per repetition)."""
        config = super().from_dict(values, base)
        task = values.get("task")
        if not isinstance(task, TaskConfig) and "seed" not in (task or {}):
            task = dataclasses.replace(config.task, seed=config.train.seed)
            config = dataclasses.replace(config, task=task)
        return config


def with_vocabulary(config, tokenizer):
    """`config` (a run config with `arch` and `vocab`) with its architecture's vocabulary size
    that of `tokenizer` when the run names its vocabulary; a mismatch with bert-base's, or a
    vocabulary whose [PAD] is not the model's pad id, is refused."""
    arch = config.arch
    if config.vocab is not None and tokenizer.vocab_size != arch.vocab_size:
        arch = dataclasses.replace(arch, vocab_size=tokenizer.vocab_size)
        config = dataclasses.replace(config, arch=arch)
    if tokenizer.vocab_size != arch.vocab_size:
        raise ConfigError(
            "arch.vocab_size",
            f"{arch.vocab_size} differs from the tokenizer's {tokenizer.vocab_size}",
        )
    if tokenizer.pad_id != arch.pad_id:
        raise ConfigError(
            "vocab", f"its [PAD] is token {tokenizer.pad_id}, the model pads with {arch.pad_id}"
        )
    return config
