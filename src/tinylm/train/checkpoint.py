"""Training checkpoints: everything a resume needs, written atomically, never pickled.

A checkpoint is a folder `checkpoints/step-NNNNNNNN/` holding the model (save_pretrained
format), `optimizer.safetensors` (AdamW's moments and step counts) and `state.json` (the step,
the optimizer's hyper-parameters, and what the job adds, such as fine-tuning's validation
history). The folder is written under a temporary name and renamed when complete, so a kill at
any moment leaves either the whole checkpoint or none; only complete ones are ever listed. The
data order, the masks and dropout are functions of (seed, step), so no RNG state is needed.
"""

import json
import math
import shutil
import tempfile
from pathlib import Path

from safetensors.torch import load_file, save_file

from tinylm.errors import TinylmError
from tinylm.model.bert import load_pretrained

KEEP = 2  # checkpoints kept; older ones are removed once a newer one is complete


def save_checkpoint(run_dir: Path, step: int, model, optimizer, extra: dict) -> Path:
    folder = run_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{step:08d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=folder))
    try:
        model.save_pretrained(tmp / "model")
        opt = optimizer.state_dict()
        tensors = {
            f"{index}.{name}": value.detach().cpu().contiguous()
            for index, state in opt["state"].items()
            for name, value in state.items()
        }
        save_file(tensors, tmp / "optimizer.safetensors")
        groups = [{k: v for k, v in g.items()} for g in opt["param_groups"]]
        state = {"step": step, "param_groups": groups, **extra}
        (tmp / "state.json").write_text(json.dumps(state, indent=2))
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in list_checkpoints(run_dir)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


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
        model.load_state_dict(saved.state_dict())
        tensors = load_file(path / "optimizer.safetensors")
    except (OSError, ValueError) as err:
        raise TinylmError(f"checkpoint {path} cannot be read: {err}") from None
    opt_state: dict = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        opt_state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
    return state
