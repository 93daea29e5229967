"""Typed configuration dataclasses that validate themselves.

Each config checks its fields on construction and raises ConfigError naming the field, so a
bad value is refused before any work starts. `from_dict` builds a config from a mapping (a YAML
file): a field that is itself a Config is built from its own mapping, and an unknown key at any
level is an error naming its path (`train.lr_x`), not a silently ignored field. `to_dict` gives
the resolved values that every run writes next to its outputs.

Sections, as in cramming: architecture (ModelConfig), data (CorpusConfig, TaskConfig),
training (TrainConfig: what is optimised, how long) and implementation (ImplConfig: device,
precision, compilation: how it runs, never what it computes). A run combines them:
PretrainConfig and FinetuneConfig (train/config.py). The command line's flags are generated
from these fields (cli/options.py), so a field's comment is its flag's help.
"""

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Self

from tinylm.errors import ConfigError

# Defaults that more than one place needs, each held here once (the paper's values).
NORMS = ("post", "pre")  # where a transformer layer normalises (ModelConfig.norm)
POSITIONS = ("learned", "rotary", "alibi")  # how a model knows where a token is (ModelConfig)
FEED_FORWARDS = ("gelu", "geglu")  # a layer's feed-forward (ModelConfig.feed_forward)
MASK_RATE = 0.15  # share of tokens the MLM objective masks and predicts (BERT's 15%)
CORPUS_SEED = 42  # the corpus permutation's seed: the paper shuffles Wikipedia with 42
PRETRAIN_WARMUP_EPOCHS = 1.0  # pre-training warms the learning rate up for one epoch
VAL_FRACTION = 0.1  # share of a fine-tuning train sample held out to select the epoch
SELECT = ("val", "last")  # how fine-tuning picks the epoch it reports
# what a classifier's pooler reads: [CLS], the tokens' mean, or the last real token (the one
# position of a causal model that has seen the whole text)
POOLINGS = ("cls", "mean", "last")
WARMUPS = ("warmup_epochs", "warmup_steps", "warmup_fraction")  # TrainConfig: give one
SCHEDULES = ("linear", "cosine", "triangle", "constant", "paper")  # train/schedule.py
SAMPLINGS = ("balanced", "stratified", "all")  # how a task's splits are sampled (TaskConfig)
# which test sample a task config reads (TaskConfig.split): the development one, read while the
# recipe was searched, or the confirmation one, read once (data/sampling.py)
TEST_SPLITS = ("dev", "confirm")
# The metadata of a field added after study jobs were keyed: at its default it computes what
# the code did before the field existed, so there it stays out of a job's key (result_dict)
# and every cached job keeps its key.
KEYED_WHEN_SET = {"keyed_when_set": True}


@dataclasses.dataclass
class Config:
    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _check_type(f.name, value, hints[f.name])
            choices = f.metadata.get("choices")
            if choices is not None and value is not None and value not in choices:
                raise ConfigError(f.name, f"expected {' or '.join(choices)}, got {value!r}")
        self.validate()

    def validate(self) -> None:
        """Checks beyond types; subclasses raise ConfigError(field, why)."""

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], base: Self | None = None) -> Self:
        """A config from a mapping; fields it leaves out keep `base`'s values (None: the
        class's defaults). A Config-typed field takes a mapping, which overlays that field's
        default (pre-training's `train: {epochs: 3}` keeps its one warm-up epoch)."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        check_keys(values, fields)
        hints = typing.get_type_hints(cls)
        built = {} if base is None else {name: getattr(base, name) for name in fields}
        for name, value in values.items():
            section = config_class(hints[name])
            # a field may name its value (`arch: bert1-a3`): its metadata says how to resolve it
            resolve = fields[name].metadata.get("resolve")
            if section is not None:
                default = built[name] if name in built else field_default(fields[name])
                try:
                    if resolve is not None and isinstance(value, str | Mapping):
                        value = resolve(value)
                    else:
                        value = section.coerce(value, default)
                except ConfigError as err:
                    raise ConfigError(f"{name}.{err.field}", err.reason) from None
            built[name] = value
        return cls(**built)

    @classmethod
    def coerce(cls, value: Any, default: Any) -> Any:
        """A field of this type from a file's value: a mapping overlays the default; None (an
        empty YAML section) is the default; anything else is left to the type check."""
        if value is None:
            return default
        if isinstance(value, Mapping):
            return cls.from_dict(value, base=default if isinstance(default, cls) else None)
        return value

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def result_dict(self) -> dict[str, Any]:
        """to_dict without the fields that only measure a run (metadata `measures`: validation,
        snapshots) and those added later still at their default (KEYED_WHEN_SET), at any
        depth: what determines its result, for a study job's key."""
        plain = self.to_dict()
        values = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("measures") or (
                f.metadata.get("keyed_when_set") and value == field_default(f)
            ):
                continue
            values[f.name] = value.result_dict() if isinstance(value, Config) else plain[f.name]
        return values


def check_keys(values: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuses a key that names no field: a typo in a file is an error, never a default."""
    known = sorted(known)
    unknown = sorted(str(key) for key in set(values) - set(known))
    if unknown:
        raise ConfigError(unknown[0], f"unknown field (known: {', '.join(known)})")


def config_class(hint: Any) -> type[Config] | None:
    """The Config subclass a field holds (`TrainConfig`, `ModelConfig | None`), else None."""
    kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    found = [k for k in kinds if isinstance(k, type) and issubclass(k, Config)]
    return found[0] if found else None


def field_default(field: dataclasses.Field) -> Any:
    """A field's default value (a fresh one from its factory); None for a required field."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _check_type(name: str, value: Any, hint: Any) -> None:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for kind in allowed:
        if kind is type(None) and value is None:
            return
        if typing.get_origin(kind) is tuple:  # tuple[int, ...] / tuple[int, int]; YAML gives lists
            items = typing.get_args(kind)
            if (
                isinstance(value, list | tuple)
                and all(isinstance(v, items[0]) and not isinstance(v, bool) for v in value)
                and (Ellipsis in items or len(value) == len(items))
            ):
                return
            continue
        if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            return
        if kind is int and isinstance(value, bool):
            continue  # True is an int to Python, never a size
        if isinstance(kind, type) and isinstance(value, kind):
            return
    names = " or ".join(
        "None" if k is type(None) else (k.__name__ if isinstance(k, type) else str(k))
        for k in allowed
    )
    raise ConfigError(name, f"expected {names}, got {value!r}")


@dataclasses.dataclass
class CorpusConfig(Config):
    """A pre-training corpus subset: the first `ws` paragraphs of a seeded permutation."""

    name: str = "wikipedia"  # "wikipedia", or a path to .txt / .jsonl / .jsonl.gz
    ws: int | None = None  # paragraphs in the subset; None takes the whole pool
    seed: int = CORPUS_SEED  # the permutation's seed
    lead_only: bool = False  # pool = the first paragraph of each article only
    # a second corpus mixed in after the subset ('wikipedia', task:NAME or a file); the
    # validation loss stays the first corpus's
    mix: str | None = dataclasses.field(default=None, metadata=KEYED_WHEN_SET)
    # paragraphs of the mixed-in corpus: the first of its permutation by `seed` (None: all)
    mix_ws: int | None = dataclasses.field(default=None, metadata=KEYED_WHEN_SET)
    # read the subset this many times per epoch: its weight beside a mixed-in corpus
    repeat: int = dataclasses.field(default=1, metadata=KEYED_WHEN_SET)

    def validate(self):
        if self.ws is not None and self.ws <= 0:
            raise ConfigError("ws", f"must be a positive number of paragraphs, got {self.ws}")
        if self.mix_ws is not None and self.mix_ws <= 0:
            raise ConfigError(
                "mix_ws", f"must be a positive number of paragraphs, got {self.mix_ws}"
            )
        if self.mix_ws is not None and self.mix is None:
            raise ConfigError("mix_ws", "sizes a mixture: name its corpus with `mix`")
        if self.repeat <= 0:
            raise ConfigError("repeat", f"must be a positive count, got {self.repeat}")
        if self.mix == self.name:
            raise ConfigError("mix", "a corpus is not mixed with itself (use ws)")
        if self.seed < 0:
            raise ConfigError("seed", f"must be non-negative, got {self.seed}")
        if not self.name:
            raise ConfigError("name", "must name a corpus ('wikipedia' or a file path)")


@dataclasses.dataclass
class TaskConfig(Config):
    """A seeded sample of a classification task: its train, validation and test splits."""

    # a registered task (data/tasks.py TASKS), a .csv/.jsonl/.parquet file, a
    # folder of train/test(/validation) files, or hf:NAME[:CONFIG] (a Hugging Face dataset)
    name: str = "agnews"
    # balanced: n per label (the paper's; the default for its tasks); stratified: a total
    # size in the labels' proportions; all: the whole split (the default for your own data)
    sampling: str | None = dataclasses.field(
        default=None, metadata={"choices": SAMPLINGS, **KEYED_WHEN_SET}
    )
    # balanced: train examples per label; None: the task's default (the paper's sizes; for
    # your data, the smallest label's count)
    train_per_label: int | None = None
    test_per_label: int | None = None  # balanced: test examples per label
    # stratified: train examples in all (giving it alone chooses stratified)
    train_size: int | None = dataclasses.field(default=None, metadata=KEYED_WHEN_SET)
    # stratified: test examples in all; with one file (stratified or all), the examples held
    # out of it for testing (default: a fifth)
    test_size: int | None = dataclasses.field(default=None, metadata=KEYED_WHEN_SET)
    val_fraction: float = 0.0  # share of the train sample held out for validation
    seed: int = 0  # the sample's seed
    entity_markers: bool = False  # FewRel: wrap head in "@ ... @" and tail in "# ... #"
    text_column: str = "text"  # your own data only
    label_column: str = "label"  # your own data only
    # a file of test examples for a task file (the task file is then the train split)
    test_file: str | None = dataclasses.field(default=None, metadata=KEYED_WHEN_SET)
    # folders and hub datasets: the train split's name (a folder's file <name>.csv, .jsonl
    # or .parquet)
    train_split: str = dataclasses.field(default="train", metadata=KEYED_WHEN_SET)
    test_split: str = dataclasses.field(default="test", metadata=KEYED_WHEN_SET)  # as train_split
    # as train_split; when it exists, it is the validation split (val_fraction carves none)
    val_split: str = dataclasses.field(default="validation", metadata=KEYED_WHEN_SET)
    # dev: the development test sample; confirm: the same train sample, tested on examples that
    # no development sample can have read (balanced sampling only; data/sampling.py)
    split: str = dataclasses.field(
        default="dev", metadata={"choices": TEST_SPLITS, **KEYED_WHEN_SET}
    )

    # keep this many of the task's labels, drawn by the sample's seed; a seed's subsets are
    # nested (its 2 labels are among its 4); None: every label (the `labels` study)
    labels: int | None = dataclasses.field(default=None, metadata=KEYED_WHEN_SET)

    def validate(self):
        if self.labels is not None and self.labels < 2:
            raise ConfigError("labels", f"a classifier needs at least 2 labels, got {self.labels}")
        for field in ("train_per_label", "test_per_label", "train_size", "test_size"):
            value = getattr(self, field)
            if value is not None and value <= 0:
                raise ConfigError(field, f"must be a positive number of examples, got {value}")
        sized = {
            "balanced": ("train_per_label", "test_per_label"),
            "stratified": ("train_size", "test_size"),
            "all": ("test_size",),  # one file: how much of it is held out for testing
        }
        if self.sampling is not None:
            for field in ("train_per_label", "test_per_label", "train_size", "test_size"):
                if getattr(self, field) is not None and field not in sized[self.sampling]:
                    raise ConfigError(field, f"does not apply to sampling {self.sampling!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError("val_fraction", f"must be in [0, 1), got {self.val_fraction}")
        if self.seed < 0:
            raise ConfigError("seed", f"must be non-negative, got {self.seed}")
        if not self.name:
            raise ConfigError("name", "must name a task")
        if self.split == "confirm" and self.sampling not in (None, "balanced"):
            raise ConfigError("split", "the confirmation split needs balanced sampling")


@dataclasses.dataclass
class ModelConfig(Config):
    """A BERT encoder, optionally behind a convolutional front-end (see model/bert.py)."""

    layers: int = 6
    heads: int = 12
    hidden: int = 768
    intermediate: int | None = None  # feed-forward width; None means 4 x hidden
    vocab_size: int = 30522
    max_length: int = 128  # learned positions
    type_vocab_size: int = 2
    dropout: float = 0.1
    attention_dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    pad_id: int = 0
    conv_layers: int = 0  # front-end: conv_layers x [Conv2d -> BatchNorm2d -> GELU], then 1x1
    conv_channels: int = 64
    conv_kernel: tuple[int, int] = (3, 3)  # (along the sequence, along the hidden size)
    conv_mask_padding: bool = False  # zero padded positions around the front-end
    # post: LayerNorm after each residual add (the paper's and Hugging Face's BERT); pre: before
    # each sub-layer, with a final LayerNorm (trains stably at higher learning rates)
    norm: str = dataclasses.field(default="post", metadata={"choices": NORMS})
    # learned: absolute position embeddings added to the tokens (BERT's); rotary: queries and
    # keys rotated by position (RoFormer); alibi: a per-head penalty on the distance between
    # query and key (Press et al.; symmetric, as MosaicBERT). The last two learn nothing about
    # positions, so a shallow model need not spend its first steps on them.
    positions: str = dataclasses.field(
        default="learned", metadata={"choices": POSITIONS, **KEYED_WHEN_SET}
    )
    # gelu: dense -> GELU -> dense (BERT's); geglu: the first dense twice as wide, one half
    # through GELU gating the other (Shazeer's GLU variants; LTG-BERT, MosaicBERT)
    feed_forward: str = dataclasses.field(
        default="gelu", metadata={"choices": FEED_FORWARDS, **KEYED_WHEN_SET}
    )
    # True: the MLM output layer is the word embeddings (BERT's); False: a matrix of its own, so
    # the pieces a step does not predict keep their input embeddings (recipe.md, stage 14)
    tie_word_embeddings: bool = dataclasses.field(default=True, metadata=KEYED_WHEN_SET)
    # True: a decoder (GPT's way): each position attends to itself and earlier ones only, the
    # conv front-end pads the sequence on the left only, and pre-training predicts the next
    # token instead of masked ones (the `gpt...` architectures)
    causal: bool = dataclasses.field(default=False, metadata=KEYED_WHEN_SET)

    def validate(self):
        for field in ("layers", "heads", "hidden", "vocab_size", "max_length", "type_vocab_size"):
            if getattr(self, field) <= 0:
                raise ConfigError(field, f"must be positive, got {getattr(self, field)}")
        if self.hidden % self.heads:
            raise ConfigError(
                "heads", f"{self.heads} heads do not divide hidden size {self.hidden}"
            )
        if self.intermediate is None:
            self.intermediate = 4 * self.hidden
        if self.intermediate <= 0:
            raise ConfigError("intermediate", f"must be positive, got {self.intermediate}")
        for field in ("dropout", "attention_dropout"):
            if not 0.0 <= getattr(self, field) < 1.0:
                raise ConfigError(field, f"must be in [0, 1), got {getattr(self, field)}")
        if self.conv_layers < 0:
            raise ConfigError("conv_layers", f"must be 0 or more, got {self.conv_layers}")
        if self.conv_layers and self.conv_channels <= 0:
            raise ConfigError("conv_channels", f"must be positive, got {self.conv_channels}")
        self.conv_kernel = tuple(self.conv_kernel)
        if len(self.conv_kernel) != 2 or min(self.conv_kernel) <= 0:
            raise ConfigError("conv_kernel", f"must be two positive sizes, got {self.conv_kernel}")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ConfigError("pad_id", f"must be a token id below {self.vocab_size}")

    @property
    def head_size(self) -> int:
        return self.hidden // self.heads


@dataclasses.dataclass
class TrainConfig(Config):
    """Optimisation. Defaults are the paper's: AdamW lr 5e-5, weight decay 0.01, batch 32."""

    epochs: int = 50  # passes over the training data
    max_steps: int | None = None  # stop after this many optimizer steps (the schedule spans them)
    batch_size: int = 32  # global: split across distributed ranks
    group_by_length: bool = True  # batches of similar lengths (train/batches.py): less padding
    # cramming's batch-size ramp: over the first batch_ramp_steps steps the batch grows linearly
    # from batch_ramp_start to batch_size (more updates per token early); 0: no ramp
    batch_ramp_steps: int = dataclasses.field(default=0, metadata=KEYED_WHEN_SET)
    batch_ramp_start: int = dataclasses.field(
        default=8, metadata={**KEYED_WHEN_SET, "help": "the batch size of the ramp's first step"}
    )
    lr: float = 5e-5  # the peak learning rate (AdamW)
    weight_decay: float = 0.01  # not applied to biases and norms
    # layer-wise rates: each layer trains at this factor of the rate of the layer above it
    # (the heads at `lr`, the embeddings at lr x decay^(layers + 1)); 1: one rate for all
    layer_lr_decay: float = dataclasses.field(default=1.0, metadata=KEYED_WHEN_SET)
    schedule: str = "linear"  # linear | cosine | triangle | constant | paper (train/schedule.py)
    warmup_epochs: float = 0.0  # epochs of learning-rate warm-up
    warmup_steps: int = 0  # or: optimizer steps of warm-up
    warmup_fraction: float = 0.0  # or: the share of all steps spent warming up
    # a budget: train until this many real (not padding) tokens are read, whatever `epochs`
    max_tokens: int | None = None
    grad_clip: float | None = None  # max global gradient norm; None: no clipping
    seed: int = 0  # the training seed: initial weights, batch order, masks, dropout
    save_every: int | None = None  # steps between checkpoints (one is also written per epoch)
    log_every: int = 10  # steps between metrics lines

    def validate(self):
        for field in ("epochs", "batch_size", "log_every"):
            if getattr(self, field) <= 0:
                raise ConfigError(field, f"must be positive, got {getattr(self, field)}")
        for field in ("max_steps", "save_every"):
            if getattr(self, field) is not None and getattr(self, field) <= 0:
                raise ConfigError(field, f"must be positive, got {getattr(self, field)}")
        if self.lr <= 0:
            raise ConfigError("lr", f"must be positive, got {self.lr}")
        if not 0 < self.layer_lr_decay <= 1:
            raise ConfigError("layer_lr_decay", f"must be in (0, 1], got {self.layer_lr_decay}")
        for field in ("weight_decay", *WARMUPS, "seed"):
            if getattr(self, field) < 0:
                raise ConfigError(field, f"must be non-negative, got {getattr(self, field)}")
        warmups = [f for f in WARMUPS if getattr(self, f)]
        if len(warmups) > 1:
            raise ConfigError(warmups[1], f"give one warm-up length, not {' and '.join(warmups)}")
        if self.warmup_fraction >= 1:
            raise ConfigError("warmup_fraction", f"must be below 1, got {self.warmup_fraction}")
        if self.max_tokens is not None and self.max_tokens <= 0:
            raise ConfigError("max_tokens", f"must be positive, got {self.max_tokens}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                "schedule", f"unknown {self.schedule!r}; known: {', '.join(SCHEDULES)}"
            )
        if self.batch_ramp_steps < 0:
            raise ConfigError(
                "batch_ramp_steps", f"must be non-negative, got {self.batch_ramp_steps}"
            )
        if self.batch_ramp_steps and not 0 < self.batch_ramp_start <= self.batch_size:
            raise ConfigError(
                "batch_ramp_start",
                f"must be in [1, batch_size {self.batch_size}], got {self.batch_ramp_start}",
            )
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError("grad_clip", f"must be positive, got {self.grad_clip}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], base: Self | None = None) -> Self:
        """As Config.from_dict; a warm-up that `values` give replaces `base`'s (one length is
        allowed, and the one given is the one meant: `--warmup-epochs 1` over a recipe's
        warm-up fraction)."""
        if base is not None and any(key in values for key in WARMUPS):
            base = dataclasses.replace(base, **{k: type(getattr(base, k))() for k in WARMUPS})
        return super().from_dict(values, base)


@dataclasses.dataclass
class ImplConfig(Config):
    """How a run executes; none of it changes what is computed beyond float rounding."""

    device: str = "auto"  # auto (cuda when present) | cpu | cuda
    precision: str = "auto"  # auto | fp32 | bf16 (autocast; weights stay fp32)
    compile: bool = False  # torch.compile the model
    threads: int | None = None  # CPU threads; None: PyTorch's default
    # a checkpoint at each epoch's end (and every save_every steps), so that a killed run
    # resumes where it stopped; off: none (a short run that would rather restart, or the
    # Python API's fits, for which writing the weights and optimizer each epoch is most of
    # the time)
    checkpoints: bool = True
    # Where a run also writes its metrics (train/tensorboard.py); where it writes never
    # changes what it computes.
    tensorboard: str | None = dataclasses.field(
        default=None,
        metadata={
            "metavar": "DIR",
            "help": "also write the scalars of metrics.jsonl to TensorBoard, in DIR/<run "
            "folder's name>/ (needs pip install 'tinylm[tensorboard]')",
        },
    )

    def validate(self):
        if self.tensorboard is not None and not self.tensorboard.strip():
            raise ConfigError("tensorboard", "must name a folder")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError("device", f"expected auto, cpu or cuda, got {self.device!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError("precision", f"expected auto, fp32 or bf16, got {self.precision!r}")
        if self.threads is not None and self.threads <= 0:
            raise ConfigError("threads", f"must be positive, got {self.threads}")
