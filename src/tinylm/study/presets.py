"""Study presets: the sizes and hyper-parameters a study runs with.

- `paper`: the paper's sizes and hyper-parameters (reference-procedure.md). Needs a GPU: BERT-6
  on Ws = 90,000 for 50 epochs is about 15 GPU-hours of pre-training per seed at this size.
- `cpu`: the conv twin of BERT-1 on the recipe of docs/recipe.md (8M pre-training tokens), so a
  study of three seeds takes about two hours on two CPU cores. Where its hyper-parameters differ
  from the paper's, `notes` says why; docs/studies.md repeats it.
- `cpu-short`: the first cpu preset (5 short epochs), whose models stay on the unigram plateau;
  kept so that its committed results reproduce.
- `demo`: `make demo`, about 9 minutes on two cores (fp32 or bf16): the cpu recipe on AG News
  alone, 0.5M tokens.
- `smoke`: a minute or two on two cores, for CI: the whole pipeline at toy sizes.

A preset can also be a YAML file with the same fields (`tinylm study gap --preset my.yaml`).
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from tinylm.config import CORPUS_SEED, Config, TrainConfig, field_default
from tinylm.data.io import read_yaml
from tinylm.errors import ConfigError, TinylmError
from tinylm.model.architectures import causal_form, get_architecture
from tinylm.study.stats import format_tokens
from tinylm.train.config import (
    FINETUNE_FIELDS,
    PRETRAIN_FIELDS,
    RECIPES,
    FinetuneConfig,
    PretrainConfig,
    split_fields,
)


@dataclass
class Preset(Config):
    name: str
    arch: str | dict  # a named architecture, or a mapping of ModelConfig fields
    tasks: tuple[str, ...]
    seeds: int  # seeds 0 .. seeds-1; seed s pre-trains, samples the task and fine-tunes
    gap_ws: int  # the corpus size of the `gap` study
    ws_grid: tuple[int, ...]  # the corpus sizes of the `ws` study (nested subsets)
    pretrain: dict  # TrainConfig fields of pre-training
    finetune: dict  # TrainConfig fields of fine-tuning, and `pooling` (FINETUNE_FIELDS)
    # what the scratch arm's fine-tuning changes (its own learning rate or pooling, say,
    # chosen on validation like the pre-trained arm's)
    finetune_scratch: dict = field(default_factory=dict)
    # per task: [train per label, test per label]; tasks not listed take the task's defaults
    sizes: dict = field(default_factory=dict)
    corpus: str = "wikipedia"
    corpus_seed: int = CORPUS_SEED  # the permutation the nested subsets are read from
    # The `overlap` study's corpora, built at Ws = overlap_ws (None: gap_ws) per task and seed:
    # the custom selection always; missing-token ablations removing each count of task types;
    # reverse-overlap swaps of `reverse_fraction` of the subset, in each direction listed.
    overlap_ws: int | None = None
    # Changes to the pre-training of every overlap-study model, random subsets included so
    # that built and random corpora compare at equal compute: TrainConfig fields (max_tokens,
    # batch_size, schedule...) and the recipe's mask_rate, dropout and pack (empty: the preset's
    # pre-training, which shares the random subsets' models with the ws study).
    overlap_pretrain: dict = field(default_factory=dict)
    # Changes to the pre-trained arm's fine-tuning in the overlap study: a model pre-trained
    # on a smaller budget may want its own rate, chosen on validation (docs/recipe.md)
    overlap_finetune: dict = field(default_factory=dict)
    ablation_removed: tuple[int, ...] = ()
    reverse: tuple[str, ...] = ()  # "more" and/or "fewer" tokens the task never uses
    reverse_fraction: float = 0.3
    # The `committee` study: member architectures, each pre-trained on Ws = committee_ws
    # (None: gap_ws) and fine-tuned, their soft committees, and the reference they face.
    committee_members: tuple[str, ...] = ()
    # Other shapes for the search for cheaper committees: trained like the members and tried
    # in every subset, but not part of the paper's full committee.
    committee_candidates: tuple[str, ...] = ()
    committee_reference: str | None = None
    committee_ws: int | None = None
    committee_pretrain: dict = field(default_factory=dict)  # as overlap_pretrain, every model
    committee_finetune: dict = field(default_factory=dict)  # as overlap_finetune, every model
    # further changes for the reference alone (a larger budget for a model slower to learn)
    committee_reference_pretrain: dict = field(default_factory=dict)
    # The share of each model's train sample carved out for validation (TaskConfig
    # val_fraction): the best committees are chosen on it, then scored on test. 0: none, and
    # the study chooses them on test, as it did before (cpu-short's committed results).
    committee_val_fraction: float = 0.0
    # PretrainConfig fields of every pre-training besides arch, corpus and train: the recipe's
    # mask_rate, dropout (while pre-training), pack (docs/recipe.md); and how much to validate
    # (val_paragraphs, val_every)
    recipe: dict = field(default_factory=dict)
    # The `budget` study: one pre-training per seed on Ws = budget_ws (None: gap_ws), read to
    # the largest of budget_tokens, its model kept at each; every one fine-tuned on each task.
    budget_tokens: tuple[int, ...] = ()
    budget_ws: int | None = None
    # The `source` study: per task and seed, source_tokens read of Wikipedia (Ws = source_ws,
    # None: gap_ws), of the task's own text, and of the two mixed; None: no source study.
    source_tokens: int | None = None
    source_ws: int | None = None
    # The `labels` study (task complexity): per task, the numbers of labels its samples keep
    # (nested subsets drawn by seed, at the preset's examples per label; the whole task is
    # added), each fine-tuned from the gap study's pre-trained model and from scratch, beside
    # TF-IDF + LR.
    labels_grid: dict = field(default_factory=dict)
    # The gap study also fine-tunes and tests on each task's confirmation split (TaskConfig
    # split: test examples no development sample can have read, data/sampling.py), and states
    # each gap claim on both splits.
    confirm: bool = False
    # per task: the confirmation split's test examples per label, where the unread examples
    # cannot give the development test size of `sizes` (a task with a test pool only: with one
    # pool the train sample would change with the test size)
    confirm_test: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # where and why the preset departs from the paper
    # The precision its committed results use (fp32 | bf16): its studies train at it unless
    # --precision names another, so that every machine adds rows of one precision to its
    # tables. None: as --precision says (auto: this machine's choice).
    precision: str | None = None

    def validate(self):
        if self.precision not in (None, "fp32", "bf16"):
            raise ConfigError("precision", f"expected fp32 or bf16, got {self.precision!r}")
        if self.seeds <= 0:
            raise ConfigError("seeds", f"must be positive, got {self.seeds}")
        if not self.tasks:
            raise ConfigError("tasks", "at least one task is needed")
        if self.gap_ws <= 0 or not self.ws_grid or min(self.ws_grid) <= 0:
            raise ConfigError("ws_grid", "corpus sizes must be positive")
        if list(self.ws_grid) != sorted(set(self.ws_grid)):
            raise ConfigError("ws_grid", f"must be increasing, got {list(self.ws_grid)}")
        if self.overlap_ws is not None and self.overlap_ws <= 0:
            raise ConfigError("overlap_ws", f"must be positive, got {self.overlap_ws}")
        if list(self.ablation_removed) != sorted(set(self.ablation_removed)) or (
            self.ablation_removed and min(self.ablation_removed) <= 0
        ):
            raise ConfigError(
                "ablation_removed", f"must be increasing and positive, got {self.ablation_removed}"
            )
        if set(self.reverse) - {"more", "fewer"}:
            raise ConfigError("reverse", f"directions are 'more' and 'fewer', got {self.reverse}")
        if not 0 < self.reverse_fraction <= 1:
            raise ConfigError("reverse_fraction", f"must be in (0, 1], got {self.reverse_fraction}")
        if self.committee_members and self.committee_reference is None:
            raise ConfigError("committee_reference", "a committee needs a reference model")
        shapes = (*self.committee_members, *self.committee_candidates)
        if len(set(shapes)) != len(shapes):
            raise ConfigError("committee_members", "a member or candidate is listed twice")
        if self.committee_candidates and not self.committee_members:
            raise ConfigError("committee_candidates", "candidates need committee_members")
        for task, counts in self.labels_grid.items():
            if list(counts) != sorted(set(counts)) or min(counts, default=2) < 2:
                raise ConfigError(
                    f"labels_grid.{task}", f"must be increasing counts of 2 or more, got {counts}"
                )
        if self.committee_ws is not None and self.committee_ws <= 0:
            raise ConfigError("committee_ws", f"must be positive, got {self.committee_ws}")
        if not 0 <= self.committee_val_fraction < 1:
            raise ConfigError(
                "committee_val_fraction", f"must be in [0, 1), got {self.committee_val_fraction}"
            )
        for name in (*shapes, self.committee_reference):
            if name is not None:
                try:
                    get_architecture(name)
                except TinylmError as err:
                    raise ConfigError("committee_members", str(err)) from None
        try:
            TrainConfig.from_dict(self.pretrain)
        except ConfigError as err:
            raise ConfigError(f"pretrain.{err.field}", str(err)) from None
        for section, changes in (
            ("finetune", {}),
            ("finetune_scratch", {}),
            ("overlap_finetune", self.overlap_finetune),
            ("committee_finetune", self.committee_finetune),
        ):
            try:
                settings = self.finetune_settings(section, 0, changes)
                FinetuneConfig.from_dict({"arch": self.arch, **settings})
            except ConfigError as err:
                raise ConfigError(
                    f"{section}.{err.field.removeprefix('train.')}", str(err)
                ) from None
        known = (*PRETRAIN_FIELDS, *MEASURES)
        unknown = sorted(set(self.recipe) - set(known))
        if unknown:
            raise ConfigError(f"recipe.{unknown[0]}", f"unknown field (known: {', '.join(known)})")
        for section in ("overlap_pretrain", "committee_pretrain", "committee_reference_pretrain"):
            try:
                PretrainConfig.from_dict(self.pretrain_settings(0, getattr(self, section))[1])
            except ConfigError as err:
                raise ConfigError(f"{section}.{err.field}", err.reason) from None
        if list(self.budget_tokens) != sorted(set(self.budget_tokens)) or (
            self.budget_tokens and min(self.budget_tokens) <= 0
        ):
            raise ConfigError(
                "budget_tokens", f"must be increasing and positive, got {self.budget_tokens}"
            )
        for field_name in ("budget_ws", "source_tokens", "source_ws"):
            value = getattr(self, field_name)
            if value is not None and value <= 0:
                raise ConfigError(field_name, f"must be positive, got {value}")
        for task, pair in self.sizes.items():
            if not (isinstance(pair, list | tuple) and len(pair) == 2 and min(pair) > 0):
                raise ConfigError(f"sizes.{task}", f"expected [train, test] per label, got {pair}")
        for task, size in self.confirm_test.items():
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
                raise ConfigError(
                    f"confirm_test.{task}", f"expected test examples per label, got {size}"
                )

    @property
    def corpus_paragraphs(self) -> int:
        """The paragraphs its corpus must hold for every study it defines: the largest subset
        any reads, and the held-out validation paragraphs beyond it (what `tinylm data fetch
        --for-preset` downloads of Wikipedia)."""
        sizes = (self.gap_ws, *self.ws_grid, self.overlap_ws, self.committee_ws, self.budget_ws)
        sizes = (*sizes, self.source_ws)
        validation = self.recipe.get("val_paragraphs", field_default(_VAL_PARAGRAPHS))
        return max(size for size in sizes if size is not None) + validation

    @property
    def fixed_ws(self) -> int:
        """The corpus size of the overlap study's built corpora."""
        return self.overlap_ws or self.gap_ws

    def finetune_settings(self, section: str, seed: int, changes: dict | None = None) -> dict:
        """`finetune`, or `finetune_scratch` (finetune with its changes, as a flag is over a
        recipe), with a study's `changes` (overlap_finetune, committee_finetune) over either,
        for `seed`: FinetuneConfig fields, the TrainConfig's under `train`."""
        values = {
            **self.finetune,
            **(self.finetune_scratch if section == "finetune_scratch" else {}),
            **(changes or {}),
        }
        train, others = split_fields(values, FINETUNE_FIELDS)
        return {"train": TrainConfig.from_dict({**train, "seed": seed}), **others}

    def pretrain_settings(self, seed: int, changes: dict | None = None) -> tuple[TrainConfig, dict]:
        """The pre-training of `seed` with a study's `changes` laid over the preset's: its
        TrainConfig, and the PretrainConfig fields of `recipe`."""
        train, recipe = split_fields(changes or {}, PRETRAIN_FIELDS)
        base = TrainConfig.from_dict({**self.pretrain, "seed": seed})
        return TrainConfig.from_dict(train, base=base), {**self.recipe, **recipe}

    def with_options(
        self, *, seeds: int | None = None, tasks=None, family: str = "masked"
    ) -> "Preset":
        """The preset with a command line's changes; `family="causal"`: every model in its
        causal form (the paper's next check), under the name PRESET-causal so that its
        results have folders of their own."""
        changes = {}
        if seeds is not None:
            changes["seeds"] = seeds
        if tasks:
            changes["tasks"] = tuple(tasks)
        if family == "causal":
            changes |= {
                "name": f"{self.name}-causal",
                "arch": causal_form(self.arch),
                "committee_members": tuple(map(causal_form, self.committee_members)),
                "committee_candidates": tuple(map(causal_form, self.committee_candidates)),
            }
            if self.committee_reference is not None:
                changes["committee_reference"] = causal_form(self.committee_reference)
        return dataclasses.replace(self, **changes) if changes else self


MEASURES = ("val_paragraphs", "val_every")  # recipe fields that measure, never train

_VAL_PARAGRAPHS = next(f for f in dataclasses.fields(PretrainConfig) if f.name == "val_paragraphs")
PAPER, TINYLM = RECIPES["paper"], RECIPES["tinylm"]
# the tinylm recipe's pre-training: its TrainConfig part (a preset's `pretrain`) and its
# mask rate (a preset's `recipe`)
TINYLM_PRETRAIN, TINYLM_RECIPE = split_fields(TINYLM["pretrain"], PRETRAIN_FIELDS)
# how a short pre-training (1M-2M tokens) fine-tunes: at 1e-3, the rate chosen on validation
# for the 2M-token models (docs/recipe.md, stage 8); the recipe's 3e-3 is the 8M-token models'
SHORT_PRETRAINING_FINETUNE = {"lr": 1e-3}
# the demo's half-million-token pre-training: more, smaller steps and a longer warm-up, chosen
# on the validation MLM loss at that budget (docs/recipe.md, stage 9; the lr stays 1e-3: 2e-3
# tied with it)
DEMO_PRETRAIN = {"max_tokens": 500_000, "batch_size": 8, "warmup_fraction": 0.3}
# the CPU twins of the paper's five BERT-1 variants (tinylm arch list)
CPU_COMMITTEE = (
    "bert1-c0-a6",
    "bert1-c2-k3-d16-a3",
    "bert1-c2-k3-d16-a2",
    "bert1-c3-k3-d8-a3",
    "bert1-c2-k16x3-d16-a3",
)

PRESETS = {
    "paper": Preset(
        name="paper",
        arch="bert6",
        tasks=("agnews", "dbpedia", "fewrel"),
        seeds=3,
        gap_ws=90_000,
        ws_grid=(2_000, 5_000, 10_000, 20_000, 40_000, 90_000),
        pretrain=PAPER["pretrain"],
        finetune=PAPER["finetune"],
        sizes={"agnews": [1000, 1000], "dbpedia": [100, 100], "fewrel": [630, 70]},
        committee_members=(
            "bert1-c0-a24",
            "bert1-c2-k3-d64-a12",
            "bert1-c2-k3-d64-a8",
            "bert1-c3-k3-d32-a12",
            "bert1-c2-k16x3-d64-a12",
        ),
        committee_reference="bert6",
        committee_ws=40_000,
        committee_val_fraction=0.2,
        notes=(
            "Subsets are drawn from all paragraphs, not only article leads: the data's "
            "27,644 leads cannot make Ws = 90,000.",
            "The reported accuracy is the last epoch's; the test split is read once.",
        ),
    ),
    "cpu": Preset(
        name="cpu",
        precision="fp32",  # every CPU has it; bf16 is slower than fp32 on some (precision.py)
        arch=TINYLM["arch"],
        tasks=("agnews", "dbpedia", "fewrel-val"),
        seeds=3,
        gap_ws=20_000,
        ws_grid=(2_000, 5_000, 20_000),
        pretrain={**TINYLM_PRETRAIN, "max_tokens": 8_000_000},
        recipe=TINYLM_RECIPE,
        finetune=TINYLM["finetune"],
        finetune_scratch=TINYLM["finetune_scratch"],
        sizes={
            "agnews": [100, 250],
            "dbpedia": [30, 100],
            "fewrel-val": [40, 60],
            "medical": [40, 40],
        },
        ablation_removed=(1_000,),
        reverse=("more",),
        committee_members=CPU_COMMITTEE,
        committee_candidates=("bert1-a3",),
        committee_reference="bert6-a3",
        overlap_pretrain={"max_tokens": 2_000_000},
        committee_pretrain={"max_tokens": 2_000_000},
        overlap_finetune=SHORT_PRETRAINING_FINETUNE,
        committee_finetune=SHORT_PRETRAINING_FINETUNE,
        # the best committees chosen on validation: 20, 6 and 8 examples per label
        committee_val_fraction=0.2,
        budget_tokens=(250_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000),
        # the source study at the overlap and committee studies' budget: 3.7 epochs of AG
        # News's train texts, 17 of FewRel-val's unread ones (docs/recipe.md, stage 11)
        source_tokens=2_000_000,
        # the labels study on the tasks with many labels (each adds the whole task: 14, 16)
        labels_grid={"dbpedia": [2, 4, 8], "fewrel-val": [2, 4, 8]},
        confirm=True,
        # DBpedia's 5,000-row test subset leaves 50 to 83 unread examples per label (seeds 0..4
        # read 100 each); AG News and FewRel keep their development test sizes
        confirm_test={"dbpedia": 50},
        notes=(
            "Architecture: the CPU twin of the paper's BERT-1 with its convolutional front-end "
            "(2 conv layers of 3x3, 16 channels, then one transformer layer of hidden 192). "
            "The front-end mixes neighbouring tokens from the first step; without it the one "
            "attention layer must first learn positions, and at CPU budgets stays on the "
            "unigram plateau (docs/recipe.md, stage 3).",
            "Pre-training by a budget of 8M tokens (about 4.3 epochs of Ws = 20,000; per run, "
            "two at once on 2 cores, about 31 minutes on a CPU with bf16 matrix instructions "
            "and 72 in fp32 on one without), the recipe found in docs/recipe.md: post-LN as "
            "the paper's, AdamW lr 1e-3, 5% warm-up, linear decay, batch 16, 30% of the tokens "
            "masked (stage 7: 0.36 nats below batch 32 with 15%, at 48% more FLOPs per token). "
            "The paper's lr 5e-5 learns nothing in this many steps; the plateau models of the "
            "`cpu-short` preset show what an under-trained pre-training gives.",
            "Ws = 20,000 for the gap and budget studies, which share their pre-trainings; "
            "the ws study compares Ws 2,000, 5,000 and 20,000 at the same token budget (so "
            "the smaller subsets are read more times), not the paper's 50 epochs each.",
            "Fine-tuning: 20 epochs (the paper: 50; the cpu-short preset's choice, read off a "
            "test curve), batch 16, each arm at the rate it scores best at on validation "
            "splits, from the grid 1e-4, 3e-4, 1e-3, 3e-3 (docs/recipe.md, stage 7): 3e-3 "
            "pre-trained, 1e-3 from scratch. The classifier pools the mean of the token "
            "vectors, not [CLS] (the paper's): with [CLS] two of five scratch runs generalised "
            "poorly on every task, which mean pooling cures (docs/recipe.md, stage 6).",
            "Samples of 100 (AG News), 30 (DBpedia) and 40 (FewRel) train examples per label, "
            "with larger test samples (250, 100, 60 per label) to narrow the intervals.",
            "FewRel is its 16 public validation relations (fewrel-val); the paper's 64 "
            "training relations are not in the data.",
            "The overlap and committee studies pre-train 2M tokens per model: at 8M their 36 "
            "and 21 pre-trainings would take 7 and 6 hours. With batch 16 and 30% masking the "
            "conv twin ends near 5.98 nats at 2M tokens, past the plateau (6.69); BERT-6's twin "
            "stays on it (6.84; docs/recipe.md, stage 5), the conv-free BERT-1 twins were not "
            "measured at this setting. "
            "Every model of one study has the same budget, so built corpora face random "
            "subsets, and members their reference, at equal compute. These 2M-token models "
            "fine-tune at 1e-3, the best of the same grid on validation for them by the mean "
            "over tasks (docs/recipe.md, stage 8: 0.633 against 0.629 at 3e-3 over five seeds; "
            "3e-3 suits the 8M-token models).",
        ),
    ),
    "cpu-short": Preset(
        name="cpu-short",
        precision="fp32",  # every CPU has it; bf16 is slower than fp32 on some (precision.py)
        arch="bert1-a3",
        tasks=("agnews", "dbpedia", "fewrel-val"),
        seeds=3,
        gap_ws=5_000,
        ws_grid=(500, 2_000, 5_000),
        pretrain={"epochs": 5, "lr": 1e-3, "warmup_epochs": 0.5, "batch_size": 32},
        finetune={"epochs": 20, "lr": 3e-4, "batch_size": 16},
        sizes={"agnews": [100, 250], "dbpedia": [30, 100], "fewrel-val": [40, 60]},
        overlap_ws=2_000,
        ablation_removed=(400, 1_000),
        reverse=("more",),
        committee_members=CPU_COMMITTEE,
        committee_candidates=("bert1-a3",),  # the cheapest BERT-1 twin: no conv, hidden 192
        committee_reference="bert6-a3",
        committee_ws=2_000,
        notes=(
            "The first cpu preset (5 pre-training epochs on Ws up to 5,000), kept so that its "
            "committed results reproduce: its models never leave the unigram plateau (MLM loss "
            "about 6.8), so its gaps measure under-trained pre-training (docs/findings.md). "
            "The `cpu` preset replaced it (docs/recipe.md).",
            "Architecture: the CPU twin of BERT-1 (one layer, hidden 192), about 8,000 "
            "training tokens/s on 2 cores; BERT-6's twin is 2.3x slower and would not fit "
            "three seeds of the grid in an hour.",
            "Ws grid 500, 2,000, 5,000 (the paper: 2,000 to 90,000) and 5 pre-training epochs "
            "(the paper: 50), for the same reason: the grid's 7,500 paragraphs x 5 epochs x 3 "
            "seeds are about 26 minutes of pre-training; `--dry-run` puts the ws study at 38 "
            "minutes and the gap study at 24 on 2 cores.",
            "Learning rates 1e-3 (pre-training, half an epoch of warm-up) and 3e-4 "
            "(fine-tuning, batch 16) instead of 5e-5: at 5e-5 neither arm learns anything in "
            "a few hundred steps. Both arms fine-tune with the same rate.",
            "20 fine-tuning epochs (the paper: 50), read off a per-epoch curve of the test "
            "accuracy (flat from about epoch 13; 8 epochs left the pre-trained arm "
            "under-trained): a choice made on test, to be made again on validation "
            "(docs/findings.md).",
            "Samples of 100 (AG News), 30 (DBpedia) and 40 (FewRel) train examples per label, "
            "with larger test samples (250, 100, 60 per label) to narrow the intervals.",
            "FewRel is its 16 public validation relations (fewrel-val); the paper's 64 "
            "training relations are not in the data.",
            "Overlap study: its built corpora at Ws = 2,000 (a grid point, so the random "
            "subset of that size is the reference), two ablation levels (400 and 1,000 task "
            "types removed) and one reverse direction (more foreign tokens): each built corpus "
            "costs about 26 minutes over three tasks and three seeds.",
        ),
    ),
    "demo": Preset(
        name="demo",
        arch=TINYLM["arch"],
        tasks=("agnews",),
        seeds=3,
        gap_ws=5_000,
        ws_grid=(2_000, 5_000),
        pretrain={**TINYLM_PRETRAIN, **DEMO_PRETRAIN},
        recipe=TINYLM_RECIPE,
        finetune={**TINYLM["finetune"], **SHORT_PRETRAINING_FINETUNE, "epochs": 10},
        finetune_scratch=TINYLM["finetune_scratch"],
        sizes={"agnews": [100, 250]},
        notes=(
            "`make demo`: the cpu preset's recipe on one task with a sixteenth of its "
            "pre-training (0.5M tokens), so that three seeds fit in about 9 minutes on 2 "
            "cores, fp32 or bf16 (15 at most). At so short a budget batch 8 and a 30% "
            "warm-up bring the validation MLM loss down to the unigram plateau's level (6.77 "
            "against the recipe's 7.25 with batch 16 and 5%, docs/recipe.md, stage 9); it "
            "does not leave the plateau. Fine-tuning at 1e-3, as the cpu preset's short "
            "pre-trainings, for 10 epochs (both arms' validation accuracy levels off by "
            "epoch 10 of 20). "
            "The gap study of the cpu preset shows what 8M tokens buy.",
        ),
    ),
    "smoke": Preset(
        name="smoke",
        arch="bert1-a3",
        tasks=("agnews",),
        seeds=2,
        gap_ws=500,
        ws_grid=(250, 500),
        pretrain={"epochs": 1, "lr": 1e-3, "batch_size": 32},
        finetune={"epochs": 2, "lr": 3e-4, "batch_size": 32},
        sizes={"agnews": [16, 16], "dbpedia": [8, 8], "fewrel-val": [8, 8], "medical": [8, 8]},
        ablation_removed=(5,),
        reverse=("more",),
        committee_members=("bert1-c2-k3-d16-a2", "bert1-c3-k3-d8-a3"),
        committee_reference="bert6-a3",
        committee_val_fraction=0.2,
        budget_tokens=(20_000, 60_000),
        source_tokens=20_000,
        labels_grid={"agnews": [2]},
        recipe={"val_paragraphs": 200},  # scoring 1,000 would cost more than its training
        confirm=True,
        notes=("Sizes for a pipeline check only: its figures are noise.",),
    ),
}


def describe_changes(changes: dict) -> str:
    """A study's pre-training changes in words: {"max_tokens": 2e6, "batch_size": 16} -> "2M
    tokens, batch_size 16"."""

    def words(key, value) -> str:
        if key == "max_tokens":
            return f"{format_tokens(value)} tokens"
        return f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"

    return ", ".join(words(key, value) for key, value in changes.items())


def get_preset(spec: str) -> Preset:
    """A named preset, or a YAML file of Preset fields."""
    if spec in PRESETS:
        return PRESETS[spec]
    path = Path(spec)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise TinylmError(f"preset file {path} does not exist")
        values = read_yaml(path)
        if not isinstance(values, dict):
            raise TinylmError(f"{path} must hold a YAML mapping of preset fields")
        return Preset.from_dict({"name": path.stem, **values})
    raise TinylmError(f"unknown preset {spec!r}; known: {', '.join(PRESETS)}, or a .yaml file")
