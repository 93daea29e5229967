"""Training checkpoints: everything a resume needs, written atomically, never pickled.

A checkpoint is a folder `checkpoints/step-NNNNNNNN/` holding the model (save_pretrained
format), `optimizer.safetensors` (AdamW's moments and step counts) and `state.json` (the step,
the optimizer's hyper-parameters, and what the job adds, such as fine-tuning's validation
history). The folder is written under a temporary name and renamed when complete, so a kill at
any moment leaves either the whole checkpoint or none; only complete ones are ever listed. The
data order, the masks and dropout are functions of (seed, step), so no RNG state is needed.
"""

import dataclasses
import json
import math
import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from tinylm.errors import TinylmError
from tinylm.files import atomic_folder, atomic_path, is_temporary, remove_folder
from tinylm.model.bert import load_pretrained

KEEP = 2  # checkpoints kept; older ones are removed once a newer one is complete


def save_checkpoint(run_dir: Path, step: int, model, optimizer, extra: dict) -> Path:
    """Writes checkpoint `step`; a failed write (a full disk, a read-only folder) stops the run
    with a message, leaving the checkpoints already written as they were."""
    folder = run_dir / "checkpoints"
    final = folder / f"step-{step:08d}"
    try:
        return _save(folder, final, step, model, optimizer, extra)
    except OSError as err:
        checkpoints = list_checkpoints(run_dir)
        kept = (
            f"{checkpoints[-1].name} is intact and --resume goes on from it"
            if checkpoints
            else "no earlier checkpoint exists"
        )
        raise TinylmError(
            f"cannot write checkpoint {final}: {err.strerror or err}"
            f"{f' ({err.filename})' if err.filename else ''}; {kept}"
        ) from None


def _save(folder: Path, final: Path, step: int, model, optimizer, extra: dict) -> Path:
    with atomic_folder(final, replace=True) as tmp:
        model.save_pretrained(tmp / "model")
        opt = optimizer.state_dict()
        tensors = {
            f"{index}.{name}": value.detach().cpu().contiguous()
            for index, state in opt["state"].items()
            for name, value in state.items()
        }
        with atomic_path(tmp / "optimizer.safetensors") as temporary:
            save_file(tensors, temporary)
        groups = [{k: v for k, v in g.items()} for g in opt["param_groups"]]
        state = {"step": step, "param_groups": groups, **extra}
        (tmp / "state.json").write_text(json.dumps(state, indent=2))
    for old in list_checkpoints(folder.parent)[:-KEEP]:
        remove_folder(old)
    return final


def remove_checkpoints(run_dir: Path) -> None:
    """Removes a finished run's checkpoints: they only serve a resume, and hold the model three
    times over (weights and AdamW's two moments), twice."""
    for checkpoint in list_checkpoints(run_dir):
        remove_folder(checkpoint)
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)


def remove_temporaries(run_dir: Path) -> None:
    """Removes what writes killed midway left behind in the run folder and its sub-folders:
    only names of tinylm's atomic writes (files.is_temporary), never a user's own dotfiles
    (a --out may hold a .git). Only the process holding the run's lock may call it: another
    writer's files are then never removed."""
    folders = [run_dir, *(p for p in run_dir.iterdir() if p.is_dir())] if run_dir.is_dir() else []
    for folder in folders:
        for path in folder.iterdir():
            if not is_temporary(path.name):
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def stop_if_not_finite(loss: float, step: int, run_dir: Path, job: str) -> None:
    """A NaN or infinite loss stops the run before anything is saved after it: the last
    checkpoint stays the last good one, and no final model is written."""
    if math.isfinite(loss):
        return
    checkpoints = list_checkpoints(run_dir)
    kept = (
        f"the last good checkpoint, {checkpoints[-1].name}, is kept"
        if checkpoints
        else "no checkpoint had been written"
    )
    raise TinylmError(
        f"{job} stopped at step {step}: the loss is {loss}; {kept} and no final model is "
        "written (a lower learning rate or --grad-clip may help; --resume goes on from it)"
    )


def list_checkpoints(run_dir: Path) -> list[Path]:
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("step-*") if (p / "state.json").is_file())


def load_checkpoint(path: Path, model, optimizer) -> dict:
    """Restores model and optimizer in place; returns state.json's contents."""
    try:
        state = json.loads((path / "state.json").read_text())
        saved = load_pretrained(path / "model")
        tensors = load_file(path / "optimizer.safetensors")
    except (OSError, ValueError) as err:
        raise TinylmError(f"checkpoint {path} cannot be read: {err}") from None
    difference = _difference(saved, model)
    if difference:
        raise TinylmError(
            f"checkpoint {path} holds another model than this run builds "
            f"({difference}); resume with the run's own config.yaml, or "
            "choose another --out"
        )
    model.load_state_dict(saved.state_dict())
    opt_state: dict = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        opt_state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
    return state


def _difference(saved, model) -> str:
    if type(saved) is not type(model):
        return f"a {saved.kind}, not a {model.kind}"
    old, new = dataclasses.asdict(saved.config), dataclasses.asdict(model.config)
    old["labels"], new["labels"] = (getattr(m, "num_labels", None) for m in (saved, model))
    changed = [k for k in old if old[k] != new[k]]
    return ", ".join(f"{k}: {old[k]} in the checkpoint, {new[k]} in this run" for k in changed)
