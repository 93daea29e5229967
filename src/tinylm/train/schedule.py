"""The learning rate as a pure function of the optimizer step (no scheduler state to save).

Warm-up is linear over W steps (from lr / W, never 0), given in epochs, steps or a share of all
steps (TrainConfig's warmup_epochs, warmup_steps, warmup_fraction; one of them). After it:
- `linear`: linear decay to zero at the last step.
- `cosine`: half a cosine from lr down to zero at the last step.
- `triangle`: cramming's one-cycle: up to lr and straight back down to zero, the peak at the
  end of the warm-up, or half-way when no warm-up is given.
- `constant`: lr (after any warm-up).
- `paper`: the reference code's schedule, stepped per epoch (the rate is constant within an
  epoch), without its defect: with one warm-up epoch stepped per epoch, its first epoch ran
  at lr 0. Here epoch e runs at lr x min((e + 1) / W, (E - e) / (E - W)) for W warm-up
  epochs out of E, and at lr x (E - e) / E without warm-up.
"""

import math

from tinylm.config import SCHEDULES


def warmup_steps(train, steps_per_epoch: int, total_steps: int) -> int:
    """The warm-up length in steps of a TrainConfig."""
    if train.warmup_steps:
        return train.warmup_steps
    if train.warmup_fraction:
        return round(train.warmup_fraction * total_steps)
    return round(train.warmup_epochs * steps_per_epoch)


def learning_rate(
    step: int,
    *,
    lr: float,
    schedule: str,
    total_steps: int,
    steps_per_epoch: int,
    warmup: int = 0,
    warmup_epochs: float = 0.0,
) -> float:
    """The rate of optimizer step `step` (0-based) of `total_steps`; `warmup` in steps (the
    `paper` schedule takes `warmup_epochs` instead)."""
    if schedule == "paper":
        epochs = -(-total_steps // steps_per_epoch)  # ceil
        epoch = step // steps_per_epoch
        decay = (epochs - epoch) / max(1e-9, epochs - warmup_epochs)
        return lr * (min((epoch + 1) / warmup_epochs, decay) if warmup_epochs > 0 else decay)
    if schedule == "triangle" and not warmup:
        warmup = total_steps // 2
    if step < warmup:
        return lr * (step + 1) / warmup
    left = max(0.0, (total_steps - step) / max(1, total_steps - warmup))  # 1 -> 0 after warm-up
    if schedule in ("linear", "triangle"):
        return lr * left
    if schedule == "cosine":
        return lr * 0.5 * (1 - math.cos(math.pi * left))
    if schedule == "constant":
        return lr
    raise ValueError(f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
