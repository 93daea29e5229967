"""Study presets: the sizes and hyper-parameters a study runs with.

- `paper`: the paper's sizes and hyper-parameters (reference-procedure.md). Needs a GPU: BERT-6
  on Ws = 90,000 for 50 epochs is about 15 GPU-hours of pre-training per seed at this size.
- `cpu`: the CPU twins and a smaller grid, sized so each study finishes within an hour on two
  CPU cores with three seeds. Where its hyper-parameters differ from the paper's, `notes` says
  why; docs/studies.md repeats it.
- `smoke`: minutes on two cores, for CI and `make demo`: the whole pipeline, tiny sizes.

A preset can also be a YAML file with the same fields (`tinylm study gap --preset my.yaml`).
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tinylm.config import Config, TrainConfig
from tinylm.data.io import read_text
from tinylm.errors import ConfigError, TinylmError


@dataclass
class Preset(Config):
    name: str
    arch: str | dict  # a named architecture, or a mapping of ModelConfig fields
    tasks: tuple[str, ...]
    seeds: int  # seeds 0 .. seeds-1; seed s pre-trains, samples the task and fine-tunes
    gap_ws: int  # the corpus size of the `gap` study
    ws_grid: tuple[int, ...]  # the corpus sizes of the `ws` study (nested subsets)
    pretrain: dict  # TrainConfig fields of pre-training
    finetune: dict  # TrainConfig fields of fine-tuning
    # per task: [train per label, test per label]; tasks not listed take the task's defaults
    sizes: dict = field(default_factory=dict)
    corpus: str = "wikipedia"
    corpus_seed: int = 42  # the permutation the nested subsets are read from
    notes: tuple[str, ...] = ()  # where and why the preset departs from the paper

    def validate(self):
        if self.seeds <= 0:
            raise ConfigError("seeds", f"must be positive, got {self.seeds}")
        if not self.tasks:
            raise ConfigError("tasks", "at least one task is needed")
        if self.gap_ws <= 0 or not self.ws_grid or min(self.ws_grid) <= 0:
            raise ConfigError("ws_grid", "corpus sizes must be positive")
        if list(self.ws_grid) != sorted(set(self.ws_grid)):
            raise ConfigError("ws_grid", f"must be increasing, got {list(self.ws_grid)}")
        for section in ("pretrain", "finetune"):
            try:
                TrainConfig.from_dict(getattr(self, section))
            except ConfigError as err:
                raise ConfigError(f"{section}.{err.field}", str(err)) from None
        for task, pair in self.sizes.items():
            if not (isinstance(pair, list | tuple) and len(pair) == 2 and min(pair) > 0):
                raise ConfigError(f"sizes.{task}", f"expected [train, test] per label, got {pair}")

    def train_config(self, section: str, seed: int) -> TrainConfig:
        return TrainConfig.from_dict({**getattr(self, section), "seed": seed})

    def with_options(self, *, seeds: int | None = None, tasks=None) -> "Preset":
        changes = {}
        if seeds is not None:
            changes["seeds"] = seeds
        if tasks:
            changes["tasks"] = tuple(tasks)
        return dataclasses.replace(self, **changes) if changes else self


PAPER_TRAIN = {"lr": 5e-5, "weight_decay": 0.01, "batch_size": 32, "schedule": "paper"}

PRESETS = {
    "paper": Preset(
        name="paper",
        arch="bert6",
        tasks=("agnews", "dbpedia", "fewrel"),
        seeds=3,
        gap_ws=90_000,
        ws_grid=(2_000, 5_000, 10_000, 20_000, 40_000, 90_000),
        pretrain={**PAPER_TRAIN, "epochs": 50, "warmup_epochs": 1.0},
        finetune={**PAPER_TRAIN, "epochs": 50},
        sizes={"agnews": [1000, 1000], "dbpedia": [100, 100], "fewrel": [630, 70]},
        notes=(
            "Subsets are drawn from all paragraphs, not only article leads: the data's "
            "27,644 leads cannot make Ws = 90,000.",
            "The reported accuracy is the last epoch's; the test split is read once.",
        ),
    ),
    "cpu": Preset(
        name="cpu",
        arch="bert1-cpu",
        tasks=("agnews", "dbpedia", "fewrel-val"),
        seeds=3,
        gap_ws=5_000,
        ws_grid=(500, 1_000, 2_000, 5_000),
        pretrain={"epochs": 4, "lr": 1e-3, "warmup_epochs": 0.5, "batch_size": 32},
        finetune={"epochs": 8, "lr": 3e-4, "batch_size": 32},
        sizes={"agnews": [100, 100], "dbpedia": [30, 50], "fewrel-val": [40, 30]},
        notes=(),
    ),
    "smoke": Preset(
        name="smoke",
        arch="bert1-cpu",
        tasks=("agnews",),
        seeds=2,
        gap_ws=500,
        ws_grid=(250, 500),
        pretrain={"epochs": 1, "lr": 1e-3, "batch_size": 32},
        finetune={"epochs": 2, "lr": 3e-4, "batch_size": 32},
        sizes={"agnews": [16, 16], "dbpedia": [8, 8], "fewrel-val": [8, 8]},
        notes=("Sizes for a pipeline check only: its figures are noise.",),
    ),
}


def get_preset(spec: str) -> Preset:
    """A named preset, or a YAML file of Preset fields."""
    if spec in PRESETS:
        return PRESETS[spec]
    path = Path(spec)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise TinylmError(f"preset file {path} does not exist")
        values = yaml.safe_load(read_text(path))
        if not isinstance(values, dict):
            raise TinylmError(f"{path} must hold a YAML mapping of preset fields")
        return Preset.from_dict({"name": path.stem, **values})
    raise TinylmError(f"unknown preset {spec!r}; known: {', '.join(PRESETS)}, or a .yaml file")
