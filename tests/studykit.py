"""Helpers of the study tests: a tiny preset and running a study quietly into tmp_path."""

from tinylm.study import engine
from tinylm.study.presets import Preset
from tinylm.study.results import Provenance
from tinylm.study.runner import run_study

TINY_ARCH = {"layers": 1, "heads": 2, "hidden": 32, "intermediate": 64, "max_length": 64}


def tiny_preset(**changes) -> Preset:
    fields = {
        "name": "tiny",
        "arch": TINY_ARCH,
        "tasks": ("agnews", "fewrel-val"),
        "seeds": 2,
        "gap_ws": 40,
        "ws_grid": (20, 40),
        "pretrain": {"epochs": 1, "lr": 1e-3, "batch_size": 8},
        "finetune": {"epochs": 2, "lr": 1e-3, "batch_size": 8},
        "sizes": {"agnews": [6, 5], "fewrel-val": [5, 4]},
        # one precision on every machine (auto would take bf16 on some): equal keys everywhere
        "precision": "fp32",
    }
    return Preset.from_dict({**fields, **changes})


PROVENANCE = Provenance("tinylm study (test)", "abc123", "2026-11-21")


def run(name, preset, tmp_path, store, **kw):
    return run_study(
        name,
        preset,
        out=tmp_path / "results",
        store=store,
        provenance=PROVENANCE,
        **{"echo": lambda *_: None, **kw},
    )


def count_executions(monkeypatch, fail_at: int | None = None) -> list:
    """Records every job the store executes; raises KeyboardInterrupt at call `fail_at`."""
    calls = []
    execute = engine.Store._execute

    def recording(self, job, path):
        calls.append(job)
        if fail_at is not None and len(calls) == fail_at:
            raise KeyboardInterrupt
        return execute(self, job, path)

    monkeypatch.setattr(engine.Store, "_execute", recording)
    return calls
